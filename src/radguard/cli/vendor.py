"""``radguard vendor import|list|show|export``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from radguard import wording
from radguard.cli.common import console, db, print_json
from radguard.inventory.vendors import (
    export_vendors,
    find_vendor,
    import_vendors,
    last_review,
    linked_assets,
    list_vendors,
    vendor_record,
)

vendor_app = typer.Typer(help="Vendors: contacts, BAAs, contract security terms, remote access, reviews.",
                         no_args_is_help=True)


def _yes_no(value: bool | None) -> str:
    return "?" if value is None else ("yes" if value else "no")


@vendor_app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Vendor file (.yaml or .json); see docs/vendors.md."),
    json_out: bool = typer.Option(False, "--json", help="Print the import summary as JSON."),
) -> None:
    """Create or update the vendors the file lists. All or nothing."""
    with db(ctx).transaction() as session:
        result = import_vendors(session, file)
    if json_out:
        print_json(result.as_dict())
        return
    console.print(f"imported {file}: {result.created} vendors created, {result.updated} updated; "
                  f"{result.products} products linked to {result.asset_links} assets", highlight=False)


@vendor_app.command("list")
def list_cmd(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List vendors with their PHI access, BAA, remote access and last review."""
    with db(ctx).read() as session:
        vendors = list_vendors(session)
        if json_out:
            print_json([{
                "name": v.name, "products": [p.name for p in v.products], "assets": len(linked_assets(v)),
                "phi_access": v.phi_access, "baa_signed": v.baa_signed, "remote_access": v.remote_access_method,
                "remote_access_mfa": v.remote_access_mfa, "remote_session_logging": v.remote_session_logging,
                "security_contact": v.security_contact, "contracts": len(v.contracts),
                "last_review": last_review(v),
            } for v in vendors])
            return
        table = Table("Vendor", "Products", "Assets", "PHI", "BAA", "Remote access", "Contracts", "Last review")
        for v in vendors:
            reviewed = last_review(v)
            table.add_row(v.name, ", ".join(p.name for p in v.products), str(len(linked_assets(v))),
                          _yes_no(v.phi_access), _yes_no(v.baa_signed), v.remote_access_method or "?",
                          str(len(v.contracts)), reviewed.isoformat() if reviewed else "never")
    console.print(table)
    console.print(f"{len(vendors)} vendors")


@vendor_app.command("show")
def show_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Vendor name (case does not matter)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one vendor as the import file states it, with its linked assets."""
    with db(ctx).read() as session:
        vendor = find_vendor(session, name)
        record = vendor_record(vendor).model_dump(mode="json", exclude_none=True)
        record["last_review"] = last_review(vendor)
    if json_out:
        print_json(record)
        return
    for key, value in record.items():
        if value in (None, [], {}):
            continue
        if key == "products":
            value = "; ".join(f"{p['name']} ({', '.join(p['assets']) or 'no assets'})" for p in value)
        elif key == "contracts":
            value = "; ".join(
                f"{c['reference']}: patch {c.get('patch_days', '?')} d, EOL notice {c.get('eol_notice_months', '?')} "
                f"mo, incident notice {c.get('incident_notification_hours', '?')} h" for c in value)
        elif key == "reviews":
            value = ", ".join(r["date"] for r in value)
        console.print(f"[bold]{wording.label(key)}[/]: {wording.value(value)}", highlight=False)


@vendor_app.command("export")
def export_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Output file; .yaml or .json."),
) -> None:
    """Export every vendor in the format import reads (an exact round trip)."""
    with db(ctx).read() as session:
        count = export_vendors(session, file)
    console.print(f"exported {count} vendors to {file}")


def register(app: typer.Typer) -> None:
    app.add_typer(vendor_app, name="vendor")
