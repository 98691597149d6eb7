"""``radguard inventory import|list|show|export``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from radguard import wording
from radguard.cli.common import console, db, print_json, progress_bar
from radguard.inventory.exporter import asset_record, export_inventory
from radguard.inventory.importer import import_inventory
from radguard.inventory.queries import find_asset, list_assets

inventory_app = typer.Typer(help="The imaging asset inventory.", no_args_is_help=True)


@inventory_app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV, JSON or YAML inventory file."),
    fmt: str | None = typer.Option(None, "--format", help="csv, json or yaml (default: from the extension)."),
    json_out: bool = typer.Option(False, "--json", help="Print the import summary as JSON."),
) -> None:
    """Import sites, assets and data flows. All or nothing: one bad row aborts the whole file."""
    database = db(ctx)
    with database.transaction() as session, progress_bar(f"importing {file.name}"):
        result = import_inventory(session, file, fmt)
    if json_out:
        print_json(result.as_dict())
        return
    console.print(
        f"imported {file}: {result.assets_created} assets created, {result.assets_updated} updated; "
        f"{result.sites_created} sites created, {result.sites_updated} updated; {result.flows} data flows"
    )


@inventory_app.command("list")
def list_cmd(
    ctx: typer.Context,
    site: str | None = typer.Option(None, "--site", help="Only this site (code)."),
    asset_class: str | None = typer.Option(None, "--class", help="Only this asset class, e.g. modality."),
    search: str = typer.Option("", "--search", "-q", metavar="TEXT",
                               help="Only assets whose name, vendor or product contains TEXT, in any case "
                                    "(the web inventory's search)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List assets, by site and name."""
    with db(ctx).read() as session:
        assets = list_assets(session, site=site, asset_class=asset_class, q=search)
        if json_out:
            print_json([
                {"id": a.id, "site": a.site.code, "name": a.name, "class": a.asset_class,
                 "modality_type": a.modality_type, "vendor": a.vendor, "product": a.product,
                 "software_version": a.software_version, "criticality": a.criticality,
                 "network_zone": a.network_zone, "confirmed": a.confirmed,
                 "endpoints": [f"{e.protocol}://{e.host}:{e.port}" for e in a.endpoints]}
                for a in assets
            ])
            return
        table = Table("ID", "Site", "Name", "Class", "Vendor / product", "Version", "Zone", "Crit.")
        for a in assets:
            table.add_row(str(a.id), a.site.code, a.name + ("" if a.confirmed else " (unconfirmed)"),
                          a.asset_class + (f" {a.modality_type}" if a.modality_type else ""),
                          " ".join(x for x in (a.vendor, a.product) if x), a.software_version or "",
                          a.network_zone or "", str(a.criticality or ""))
        console.print(table)
        console.print(f"{len(assets)} assets")


@inventory_app.command("endpoints")
def endpoints_cmd(
    ctx: typer.Context,
    asset: str | None = typer.Option(None, "--asset", help="Only this asset (ID, SITE/NAME or unique name)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Each probed endpoint's state (open, closed, filtered) at its newest discovery probe."""
    from radguard.discovery.probes import endpoint_states

    with db(ctx).read() as session:
        asset_id = find_asset(session, asset).id if asset else None
        states = endpoint_states(session, asset_id=asset_id)
        names = {a.id: f"{a.site.code}/{a.name}" for a in list_assets(session)}
    if json_out:
        print_json([s.model_dump(mode="json") for s in states])
        return
    table = Table("Endpoint", "State", "Service", "Asset", "Probed (UTC)")
    for s in states:
        table.add_row(f"{s.host}:{s.port}", s.state, s.service or "",
                      names.get(s.asset_id, "") if s.asset_id is not None else "",
                      s.collected_at.strftime("%Y-%m-%d %H:%M"))
    console.print(table)
    console.print(f"{len(states)} endpoints probed")


@inventory_app.command("show")
def show_cmd(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="Asset ID, SITE/NAME, or a name unique across sites."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one asset with its endpoints, AE titles and software."""
    with db(ctx).read() as session:
        asset = find_asset(session, ref)
        record = asset_record(asset).model_dump(by_alias=True, mode="json")
        record = {"id": asset.id, **record, "source": asset.source, "confirmed": asset.confirmed,
                  "last_seen": asset.last_seen.isoformat() if asset.last_seen else None}
        if json_out:
            print_json(record)
            return
        for key, value in record.items():
            if value in (None, [], {}):
                continue
            if key in ("class", "criticality", "exposure"):
                value = wording.label(value)
            elif key == "endpoints":
                value = ", ".join(f"{e['protocol']}://{e['host']}:{e['port']}" for e in value)
            elif key == "software":
                value = "; ".join(" ".join(x for x in (c["vendor"], c["product"], c["version"]) if x) for c in value)
            console.print(f"[bold]{wording.label(key)}[/]: {wording.value(value)}", highlight=False)


@inventory_app.command("export")
def export_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Output file; .csv, .json or .yaml."),
    fmt: str | None = typer.Option(None, "--format", help="csv, json or yaml (default: from the extension)."),
) -> None:
    """Export the inventory in the format import reads (an exact round trip)."""
    with db(ctx).read() as session:
        count = export_inventory(session, file, fmt)
    console.print(f"exported {count} assets to {file}")


def register(app: typer.Typer) -> None:
    app.add_typer(inventory_app, name="inventory")
