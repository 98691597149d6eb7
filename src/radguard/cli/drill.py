"""``radguard drill plan|record|import|list|report``: exercises and what they showed."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.table import Table

from radguard.cli.common import console, db, print_json
from radguard.db.base import utcnow
from radguard.errors import InputError
from radguard.response.drills import (
    ActionDoc,
    DrillDoc,
    EventDoc,
    ParticipantDoc,
    Recording,
    drill_report,
    import_drills,
    load_drill,
    load_drills,
    plan_drill,
    record_drill,
)

drill_app = typer.Typer(help="Plan, record and report incident-response drills.", no_args_is_help=True)


def _bad(option: str, value: str, problem: str) -> InputError:
    return InputError("drill", None, option, f"{value!r}: {problem}")


def _when(option: str, value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise _bad(option, value, "not an ISO date-time such as 2026-03-18T08:40-04:00") from None


def _event(value: str) -> EventDoc:
    milestone, sep, rest = value.partition("=")
    if not sep:
        raise _bad("--event", value,
                   "write MILESTONE=TIME[@ROLE], e.g. declared=2026-03-18T08:40-04:00@incident_commander")
    when, _, role = rest.partition("@")
    return EventDoc(milestone=milestone.strip(), at=_when("--event", when.strip()), role=role.strip() or None)


def _participant(value: str) -> ParticipantDoc:
    name, _, role = value.partition("=")
    if not name.strip():
        raise _bad("--participant", value, "write NAME or NAME=ROLE")
    return ParticipantDoc(name=name.strip(), role=role.strip() or None)


def _action(value: str) -> ActionDoc:
    parts = [p.strip() for p in value.split("|")]
    if len(parts) > 3 or not parts[0]:
        raise _bad("--action", value, "write TITLE[|ROLE[|DUE-DATE]]")
    try:
        due = date.fromisoformat(parts[2]) if len(parts) > 2 and parts[2] else None
        return ActionDoc(title=parts[0], owner_role=parts[1] if len(parts) > 1 and parts[1] else None, due=due)
    except ValueError as exc:
        raise _bad("--action", value, str(exc).splitlines()[0]) from None


@drill_app.command("plan")
def plan_cmd(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="A short unique key, e.g. 2027-02-ransomware-tabletop."),
    playbook: str = typer.Option(..., "--playbook", help="Scenario: a playbook ID (see `radguard playbook list`)."),
    kind: str = typer.Option("tabletop", "--kind", help="tabletop, functional or full-scale."),
    on: str = typer.Option(..., "--date", help="Date of the drill (YYYY-MM-DD)."),
    services: list[str] = typer.Option([], "--service", help="Service key exercised (repeatable)."),
    title: str | None = typer.Option(None, "--title", help="Title (default: the playbook's)."),
    facilitator: str | None = typer.Option(None, "--facilitator", help="Who runs the drill."),
) -> None:
    """Plan a drill of a playbook."""
    try:
        rec = DrillDoc.model_validate({"key": key, "playbook": playbook, "kind": kind, "date": on,
                                       "services": services, "title": title, "facilitator": facilitator})
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err.get("loc") else None
        raise InputError("drill plan", None, field, err["msg"]) from None
    with db(ctx).transaction() as session:
        drill = plan_drill(session, rec)
        console.print(f"planned drill {drill.key}: {drill.title} on {drill.scheduled_on.isoformat()}")


@drill_app.command("record")
def record_cmd(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="The drill's key."),
    events: list[str] = typer.Option([], "--event", help="MILESTONE=TIME[@ROLE] (repeatable)."),
    participants: list[str] = typer.Option([], "--participant", help="NAME[=ROLE] (repeatable)."),
    lessons: list[str] = typer.Option([], "--lesson", help="A lesson learned (repeatable)."),
    actions: list[str] = typer.Option([], "--action", help="TITLE[|ROLE[|DUE-DATE]] (repeatable)."),
    done: list[int] = typer.Option([], "--done", help="Mark action number N done (repeatable)."),
    started: str | None = typer.Option(None, "--started", help="When the drill started (ISO date-time)."),
    ended: str | None = typer.Option(None, "--ended", help="When the drill ended (ISO date-time)."),
    complete: bool = typer.Option(False, "--complete", help="The drill is over: mark it completed (recording "
                                                            "back_to_normal or --ended also completes it)."),
) -> None:
    """Add timeline events, participants, lessons and actions to a drill; close actions."""
    rec = Recording(
        events=[_event(v) for v in events], participants=[_participant(v) for v in participants],
        lessons=list(lessons), actions=[_action(v) for v in actions], done=list(done), complete=complete,
        started_at=_when("--started", started) if started else None,
        ended_at=_when("--ended", ended) if ended else None,
    )
    with db(ctx).transaction() as session:
        drill = record_drill(session, key, rec, utcnow().date())
        console.print(f"recorded drill {drill.key}: {len(drill.events)} milestones, {len(drill.actions)} actions, "
                      f"status {drill.status.replace('_', ' ')}")


@drill_app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Drills YAML file (see docs/response.md)."),
    json_out: bool = typer.Option(False, "--json", help="Print the import summary as JSON."),
) -> None:
    """Create or replace the drills in FILE. All or nothing."""
    with db(ctx).transaction() as session:
        result = import_drills(session, file)
    if json_out:
        print_json(result.as_dict())
        return
    console.print(f"imported {file}: {result.created} drills created, {result.updated} replaced; "
                  f"{result.events} milestones, {result.actions} actions")


@drill_app.command("list")
def list_cmd(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List drills, oldest first."""
    with db(ctx).read() as session:
        drills = load_drills(session)
        rows = [{"key": d.key, "title": d.title, "kind": d.kind, "playbook": d.playbook,
                 "date": d.scheduled_on, "status": d.status,
                 "open_actions": sum(1 for a in d.actions if a.status != "done")} for d in drills]
    if json_out:
        print_json(rows)
        return
    table = Table("Key", "Date", "Kind", "Playbook", "Status", "Open actions")
    for r in rows:
        table.add_row(str(r["key"]), str(r["date"]), str(r["kind"]), str(r["playbook"]),
                      str(r["status"]).replace("_", " "), str(r["open_actions"]))
    console.print(table)


@drill_app.command("report")
def report_cmd(
    ctx: typer.Context,
    key: str | None = typer.Argument(None, help="The drill's key (default: every completed drill)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Measured durations against the playbook's targets, recovery time, lessons and actions."""
    with db(ctx).read() as session:
        drills = [load_drill(session, key)] if key else [d for d in load_drills(session) if d.status == "completed"]
        reports = [drill_report(d) for d in drills]
    if json_out:
        print_json(reports[0] if key else reports)
        return
    for rep in reports:
        console.print(f"[bold]{rep['title']}[/] ({rep['key']}, {rep['kind']}, {rep['date']}, {rep['status']})",
                      highlight=False)
        table = Table("Milestone", "At", "Role", "Minutes", "Target", "")
        for m in rep["timeline"]:
            verdict = {True: "met", False: "[red]missed[/]", None: ""}[m["met"]]
            table.add_row(m["label"], m["at"].isoformat(), m["role"] or "", f"{m['minutes_from_detection']:g}",
                          "" if m["target_minutes"] is None else str(m["target_minutes"]), verdict)
        if rep["timeline"]:
            console.print(table)
        if rep["recovery_hours"] is not None:
            console.print(f"systems restored {rep['recovery_hours']:g} h after detection")
        for s in rep["services"]:
            if s["rto_met"] is not None:
                console.print(f"  {s['name']}: RTO {s['rto_hours']:g} h {'met' if s['rto_met'] else '[red]not met[/]'}")
        for lesson in rep["lessons"]:
            console.print(f"lesson: {lesson}", highlight=False)
        for a in rep["actions"]:
            console.print(f"action {a['number']} ({a['status']}): {a['title']}"
                          + (f" (due {a['due']})" if a["due"] else ""), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(drill_app, name="drill")
