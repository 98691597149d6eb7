"""``radguard advisories [--asset A]`` and ``radguard advisories lookup``: which advisories apply."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy import select

from radguard.cli.common import console, db, print_json
from radguard.db.models.inventory import Asset, Site
from radguard.feeds.matching import AdvisoryMatch, lookup, match_assets
from radguard.inventory.queries import find_asset

advisories_app = typer.Typer(
    help="Advisories that apply to the inventory, or to any vendor/product/version you name.",
    invoke_without_command=True,
)


def _cve_text(m: AdvisoryMatch) -> str:
    parts = []
    for c in m.cves:
        flags = []
        if c.kev:
            flags.append("KEV")
        if c.ransomware == "Known":
            flags.append("ransomware")
        parts.append(c.id + (f" ({', '.join(flags)})" if flags else ""))
    return ", ".join(parts)


@advisories_app.callback()
def list_matches(
    ctx: typer.Context,
    asset: str | None = typer.Option(None, "--asset", help="Only this asset (ID, SITE/NAME, or unique name)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List advisories matching the inventory's software, with the reason each matched."""
    if ctx.invoked_subcommand is not None:
        return
    with db(ctx).read() as session:
        asset_ids = [find_asset(session, asset).id] if asset else None
        matches = match_assets(session, asset_ids)
        names: dict[int, str] = {}
        if matches:
            stmt = select(Asset.id, Site.code, Asset.name).join(Site)
            if asset_ids is not None:
                stmt = stmt.where(Asset.id.in_(asset_ids))
            names = {aid: f"{code}/{name}" for aid, code, name in session.execute(stmt)}
    if json_out:
        print_json({"matches": [{**m.as_json(), "asset": names.get(m.asset_id)} for m in matches]})
        return
    table = Table("Asset", "Advisory", "Status", "Component", "Range", "CVEs", "Reason")
    for m in matches:
        table.add_row(names.get(m.asset_id, str(m.asset_id)), m.match.advisory_id, m.match.status.replace("_", " "),
                      m.component + (f" [{m.origin} {m.endpoint}]" if m.endpoint else f" [{m.origin}]"),
                      m.match.matched_range, _cve_text(m.match), m.match.reason)
    console.print(table)
    affected = sum(1 for m in matches if m.match.status == "affected")
    console.print(f"{affected} affected, {len(matches) - affected} need review", highlight=False)


@advisories_app.command("lookup")
def lookup_cmd(
    ctx: typer.Context,
    vendor: str = typer.Option(..., "--vendor", help="Vendor, e.g. OFFIS."),
    product: str = typer.Option(..., "--product", help="Product, e.g. DCMTK."),
    version: str | None = typer.Option(None, "--version", help="Version, e.g. 3.6.6."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Is this version affected? Answers from the stored advisories without touching the inventory."""
    with db(ctx).read() as session:
        matches = lookup(session, vendor, product, version)
    if json_out:
        print_json({"matches": [m.as_lookup_json() for m in matches]})
        return
    if not matches:
        console.print(f"no stored advisory matches {vendor} {product} {version or ''}".rstrip(), highlight=False)
        return
    for m in matches:
        console.print(f"[bold]{m.advisory_id}[/] {m.status.replace('_', ' ')}: {m.title}", highlight=False)
        console.print(f"  {m.reason}", highlight=False)
        if m.cves:
            console.print(f"  CVEs: {_cve_text(m)}", highlight=False)
        for rem in m.remediations[:3]:
            console.print(f"  remediation: {rem}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(advisories_app, name="advisories")
