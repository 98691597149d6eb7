"""``radguard playbook list|show|export``: the imaging playbooks and the offline binder."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from radguard.cli.common import console, db, err_console, print_json
from radguard.db.base import utcnow
from radguard.readiness.binder import DEFAULT_OUTAGE_HOURS, BinderOptions, export_binder
from radguard.response.playbooks import MILESTONE_LABELS, get_playbook, load_catalog

playbook_app = typer.Typer(help="Imaging incident playbooks and the offline binder.", no_args_is_help=True)


@playbook_app.command("list")
def list_cmd(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the playbooks in radguard's catalog."""
    catalog = load_catalog()
    if json_out:
        print_json([{"id": pb.id, "title": pb.title, "steps": len(pb.steps), "applies_to": pb.applies_to}
                    for pb in catalog])
        return
    table = Table("ID", "Title", "Steps", "Decisions", "Applies to")
    for pb in catalog:
        table.add_row(pb.id, pb.title, str(len(pb.steps)), str(len(pb.decisions)),
                      ", ".join(pb.applies_to) or "every organization")
    console.print(table)


@playbook_app.command("show")
def show_cmd(
    playbook_id: str = typer.Argument(..., help="Playbook ID, e.g. ransomware-pacs."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show a playbook: triggers, targets, steps, decision points and notifications."""
    pb = get_playbook(playbook_id)
    if json_out:
        print_json(pb.model_dump(mode="json"))
        return
    console.print(f"[bold]{pb.title}[/] ({pb.id})", highlight=False)
    console.print(pb.summary, highlight=False)
    console.print("[bold]Triggers[/]")
    for t in pb.triggers:
        console.print(f"  - {t}", highlight=False)
    if pb.targets:
        console.print("[bold]Targets[/] (minutes after detection): "
                      + ", ".join(f"{MILESTONE_LABELS[m]} {v}" for m, v in pb.targets.items()), highlight=False)
    table = Table("#", "Phase", "Role", "Within", "Action")
    for i, step in enumerate(pb.steps, start=1):
        table.add_row(str(i), step.phase, step.role, f"{step.within_minutes} min" if step.within_minutes else "",
                      step.action)
    console.print(table)
    for d in pb.decisions:
        console.print(f"[bold]Decision[/] ({d.role}): {d.question} {d.guidance}", highlight=False)
    for n in pb.notifications:
        console.print(f"[bold]Notify[/] ({n.role}): {n.recipient}; {n.deadline}", highlight=False)


@playbook_app.command("export")
def export_cmd(
    ctx: typer.Context,
    output: Path = typer.Option(..., "-o", "--output", help="File to write."),
    fmt: str = typer.Option("html", "--format", help="html (one self-contained file) or pdf."),
    playbooks: list[str] = typer.Option([], "--playbook", help="Only these playbooks (repeatable)."),
    outage: float = typer.Option(DEFAULT_OUTAGE_HOURS, "--outage", min=0.1,
                                 help="Outage length (hours) for the modality runway tables."),
    title: str | None = typer.Option(None, "--title", help="Title on the cover."),
    json_out: bool = typer.Option(False, "--json", help="Print the export summary as JSON."),
) -> None:
    """Write the offline binder: team, contacts, services, downtime procedures and playbooks."""
    options = BinderOptions(generated_at=utcnow(), outage_hours=outage, playbooks=tuple(playbooks), title=title)
    with db(ctx).read() as session, err_console.status("rendering the binder", spinner="dots"):
        summary = export_binder(session, options, fmt.lower(), output)
    if json_out:
        print_json(summary)
        return
    console.print(f"wrote {output} ({summary['format']}, {summary['bytes']} bytes): {summary['roles']} roles, "
                  f"{summary['services']} services, {summary['playbooks']} playbooks")


def register(app: typer.Typer) -> None:
    app.add_typer(playbook_app, name="playbook")
