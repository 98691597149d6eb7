"""``radguard segmentation show|check|export``: the zone policy, observed flows judged against it, and
the allow-list proposed from the legitimate ones."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from radguard.cli.common import console, db, print_json

segmentation_app = typer.Typer(help="Segmentation policy: zones as address ranges, allowed flows, checked against "
                               "observed flows.", no_args_is_help=True)
POLICY_HELP = ("A segmentation policy YAML file to use instead of the stored ones (default: each site's stored "
               "policy, else the organisation's, else radguard's default imaging policy).")
SITE_HELP = "Site code: its stored policy (default: the organisation's)."


def policy_digest(path: Path) -> str:
    """The stored file's BLAKE3 digest, so the audit log says which text was put in force."""
    import blake3

    return blake3.blake3(path.read_bytes()).hexdigest()


@segmentation_app.command("set-policy")
def set_policy_cmd(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="The policy YAML file (validated; errors name the file and field)."),
    site: str | None = typer.Option(None, "--site", help="Store it for this site only (default: the organisation)."),
) -> None:
    """Store a segmentation policy for the organisation or one site.

    The checks, the technical report, the web's zones page and ``segmentation check|export``
    then judge that site's flows with it (a site's own policy, else the organisation's, else
    radguard's default). Storing again replaces it; an invalid file stores nothing.
    """
    from radguard.checks.segmentation import store_policy
    from radguard.web.audit import record_cli

    with db(ctx).transaction() as session:
        pol = store_policy(session, path, site)
        # In the same transaction: a policy decides which flows are violations, so who changed it
        # is kept like any other administrative write (an invalid file stores nothing, audits nothing).
        record_cli(session, "segmentation.set-policy", target=f"site:{site}" if site else "organisation",
                   detail={"file": path.name, "zones": len(pol.zones), "rules": len(pol.rules),
                           "blake3": policy_digest(path)})
    where = f"site {site}" if site else "the organisation"
    console.print(f"policy {path.name} stored for {where}: {len(pol.zones)} zones, {len(pol.rules)} allowed flows",
                  highlight=False)


@segmentation_app.command("clear-policy")
def clear_policy_cmd(
    ctx: typer.Context,
    site: str | None = typer.Option(None, "--site", help="Forget this site's policy (default: the organisation's)."),
) -> None:
    """Forget a stored policy: the site falls back to the organisation's, the organisation to the default."""
    from radguard.checks.segmentation import clear_policy
    from radguard.web.audit import record_cli

    with db(ctx).transaction() as session:
        cleared = clear_policy(session, site)
        if cleared:  # forgetting nothing changed nothing
            record_cli(session, "segmentation.clear-policy", target=f"site:{site}" if site else "organisation")
    where = f"site {site}" if site else "the organisation"
    console.print(f"policy for {where} {'cleared' if cleared else 'was not stored'}", highlight=False)


@segmentation_app.command("show")
def show_cmd(
    ctx: typer.Context,
    policy: Path | None = typer.Option(None, "--policy", help="A segmentation policy YAML file to validate and show "
                                       "(default: the stored policy)."),
    site: str | None = typer.Option(None, "--site", help=SITE_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the policy as JSON."),
) -> None:
    """Validate a policy and print its zones and allowed flows (errors name the file and field)."""
    from radguard.checks.segmentation import load_policy, policy_for

    if policy is not None:
        pol = load_policy(policy)
    else:
        with db(ctx).read() as session:
            pol = policy_for(session, site)
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
    verdicts, source = _verdicts(ctx, policy)
    violations = [v for v in verdicts if v.violation]
    if json_out:
        print_json({"policy": source, "flows": [v.document() for v in verdicts],
                    "violations": len(violations)})
    else:
        allowed = sum(1 for v in verdicts if v.crosses and not v.violation)
        console.print(f"{len(verdicts)} observed flows: {len(violations)} violate policy {source}, {allowed} "
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
    from radguard.errors import InputError
    from radguard.outfiles import write_file

    if fmt not in ("csv", "nftables", "json"):
        raise InputError("--format", None, None, f"{fmt!r} is not csv, nftables or json")
    verdicts, source = _verdicts(ctx, policy)
    proposals = propose(verdicts)
    if fmt == "csv":
        text = to_csv(proposals)
    elif fmt == "nftables":
        text = to_nftables(proposals, source)
    else:
        text = json.dumps({"policy": source, "proposals": [p.document() for p in proposals]}, indent=2) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        write_file(output, text)
        console.print(f"{len(proposals)} proposed allow rules written to {output}", highlight=False)


def _verdicts(ctx: typer.Context, policy: Path | None) -> tuple[list[Any], str]:
    """Every observed flow judged with ``policy`` if given, else with each site's stored policy."""
    from radguard.checks.segmentation import judge, judge_configured, load_policy, policy_for

    pol = load_policy(policy) if policy is not None else None
    with db(ctx).read() as session:
        if pol is not None:
            return judge(session, pol), pol.source
        verdicts = judge_configured(session)
        sources = sorted({v.policy.source for v in verdicts if v.policy})
        return verdicts, ", ".join(sources) or policy_for(session, None).source


def register(app: typer.Typer) -> None:
    app.add_typer(segmentation_app, name="segmentation")
