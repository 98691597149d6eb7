"""``radguard services import|list|continuity``: imaging services and outage arithmetic."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from radguard.cli.common import console, db, print_json
from radguard.errors import NotFoundError
from radguard.readiness.continuity import continuity
from radguard.response.drills import demonstrated_recovery, load_drills
from radguard.response.services import import_services, load_services, service_record, site_codes

services_app = typer.Typer(help="Imaging services, their recovery targets and downtime procedures.",
                           no_args_is_help=True)


@services_app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Services YAML file (see docs/response.md)."),
    json_out: bool = typer.Option(False, "--json", help="Print the import summary as JSON."),
) -> None:
    """Create or update the services in FILE. All or nothing."""
    with db(ctx).transaction() as session:
        result = import_services(session, file)
    if json_out:
        print_json(result.as_dict())
        return
    console.print(f"imported {file}: {result.created} services created, {result.updated} updated; "
                  f"{result.dependencies} dependencies, {result.procedures} downtime procedures")


@services_app.command("list")
def list_cmd(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List services with RTO/RPO, dependencies and downtime procedures."""
    with db(ctx).read() as session:
        services = load_services(session)
        codes = site_codes(session)
        if json_out:
            print_json([service_record(s, codes) for s in services])
            return
        table = Table("Key", "Service", "Site", "RTO", "RPO", "Depends on", "Procedures")
        for s in services:
            table.add_row(s.key, s.name, codes.get(s.site_id, "") if s.site_id else "", f"{s.rto_hours:g} h",
                          f"{s.rpo_hours:g} h", str(len(s.dependencies)), str(len(s.procedures)))
        console.print(table)
        console.print(f"{len(services)} services")


@services_app.command("continuity")
def continuity_cmd(
    ctx: typer.Context,
    outage: float = typer.Option(..., "--outage", min=0.1, help="Length of the outage in hours."),
    service: str | None = typer.Option(None, "--service", help="Only this service (key)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Which modalities keep acquiring through an outage of HOURS, and when each runs out."""
    with db(ctx).read() as session:
        services = [s for s in load_services(session) if service is None or s.key == service]
        if service is not None and not services:
            raise NotFoundError(f"no service {service!r}; see `radguard services list`")
        results = continuity(services, outage, demonstrated_recovery(load_drills(session)))
    if json_out:
        print_json({"outage_hours": outage, "services": [r.as_dict() for r in results]})
        return
    for r in results:
        d = r.as_dict()
        rto = {"demonstrated": f"RTO {r.rto_hours:g} h demonstrated ({d['demonstrated_recovery_hours']} h)",
               "slower-than-rto": f"[red]RTO {r.rto_hours:g} h not met: best drill took "
                                  f"{d['demonstrated_recovery_hours']} h[/]",
               "never-demonstrated": f"[yellow]RTO {r.rto_hours:g} h never demonstrated[/]"}[r.rto_status]
        console.print(f"[bold]{r.name}[/] ({r.key}): {rto}", highlight=False)
        table = Table("Modality", "Runway", "Limited by", f"During {outage:g} h", "Notes")
        for m in d["modalities"]:
            if m["status"] == "runs-out":
                status = f"runs out at {m['runs_out_at_hour']:g} h"
            else:
                status = "keeps acquiring" if m["status"] == "keeps-acquiring" else "unknown"
            runway = "?" if m["runway_hours"] is None else f"{m['runway_hours']:g} h"
            table.add_row(m["asset"], runway, m["limited_by"] or "", status, "; ".join(m["notes"]))
        if d["modalities"]:
            console.print(table)
        else:
            console.print("  no acquiring modality among its dependencies")


def register(app: typer.Typer) -> None:
    app.add_typer(services_app, name="services")
