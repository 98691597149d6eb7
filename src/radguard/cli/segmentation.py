"""``radguard segmentation show|check|export``: the zone policy, observed flows judged against it, and
the allow-list proposed from the legitimate ones."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from radguard.cli.common import console, db, print_json

segmentation_app = typer.Typer(help="Segmentation policy: zones as address ranges, allowed flows, checked against "
                               "observed flows.", no_args_is_help=True)
POLICY_HELP = "A segmentation policy YAML file (default: radguard's default imaging policy, zones from the inventory)."


@segmentation_app.command("show")
def show_cmd(
    policy: Path | None = typer.Option(None, "--policy", help=POLICY_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the policy as JSON."),
) -> None:
    """Validate a policy and print its zones and allowed flows (errors name the file and field)."""
    from radguard.checks.segmentation import load_policy

    pol = load_policy(policy)
    if json_out:
        print_json({"source": pol.source, "zones": [z.model_dump(mode="json") for z in pol.zones],
                    "rules": [r.model_dump(mode="json", by_alias=True) for r in pol.rules]})
        return
    console.print(f"policy {pol.source}: {len(pol.zones)} zones, {len(pol.rules)} allowed flows", highlight=False)
    for zone in pol.zones:
        console.print(f"zone {zone.name} ({zone.role}): {', '.join(map(str, zone.ranges)) or 'no ranges'}",
                      highlight=False)
    for rule in pol.rules:
        console.print(f"allow {rule.from_} → {rule.to} {rule.proto}/{','.join(map(str, rule.ports))}: {rule.why}",
                      highlight=False)


@segmentation_app.command("check")
def check_cmd(
    ctx: typer.Context,
    policy: Path | None = typer.Option(None, "--policy", help=POLICY_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print every judged flow as JSON."),
) -> None:
    """Judge every observed flow (captures, NetFlow/IPFIX, firewall logs) against the policy.

    Flows between two different zones that no rule allows are violations; flows inside one zone
    are listed as internal. Exit status 1 when there is a violation.
    """
    from radguard.checks.segmentation import judge, load_policy

    pol = load_policy(policy)
    with db(ctx).read() as session:
        verdicts = judge(session, pol)
    violations = [v for v in verdicts if v.violation]
    if json_out:
        print_json({"policy": pol.source, "flows": [v.document() for v in verdicts],
                    "violations": len(violations)})
    else:
        allowed = sum(1 for v in verdicts if v.crosses and not v.violation)
        console.print(f"{len(verdicts)} observed flows: {len(violations)} violate policy {pol.source}, {allowed} "
                      f"allowed across zones, {len(verdicts) - allowed - len(violations)} inside one zone",
                      highlight=False)
        for v in violations:
            console.print(f"violation: {v.flow.where}, zone/role {v.source.name}/{v.source.role} → "
                          f"{v.target.name}/{v.target.role}, {v.flow.connections} connections, last seen "
                          f"{v.flow.last_seen.isoformat()}", highlight=False)
    if violations:
        raise typer.Exit(1)


@segmentation_app.command("export")
def export_cmd(
    ctx: typer.Context,
    policy: Path | None = typer.Option(None, "--policy", help=POLICY_HELP),
    fmt: str = typer.Option("csv", "--format", help="csv (columns in docs/passive.md), nftables (a ruleset to "
                            "review) or json."),
    output: Path | None = typer.Option(None, "-o", "--output", help="File to write (default: standard output)."),
) -> None:
    """Propose the allow-list a network team can apply, from observed flows the policy allows.

    One rule per zone pair, protocol and port, with the source and destination hosts seen.
    Violations are never proposed; flows inside one zone are not listed. The nftables ruleset is
    one table with a set of hosts per zone and an accept rule per proposal; its default policy
    stays accept for the administrator to choose.
    """
    from radguard.checks.allowlist import propose, to_csv, to_nftables
    from radguard.checks.segmentation import judge, load_policy
    from radguard.errors import InputError
    from radguard.outfiles import write_file

    if fmt not in ("csv", "nftables", "json"):
        raise InputError("--format", None, None, f"{fmt!r} is not csv, nftables or json")
    pol = load_policy(policy)
    with db(ctx).read() as session:
        proposals = propose(judge(session, pol))
    if fmt == "csv":
        text = to_csv(proposals)
    elif fmt == "nftables":
        text = to_nftables(proposals, pol.source)
    else:
        text = json.dumps({"policy": pol.source, "proposals": [p.document() for p in proposals]}, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        write_file(output, text)
        console.print(f"{len(proposals)} proposed allow rules written to {output}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(segmentation_app, name="segmentation")
