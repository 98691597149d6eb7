"""``radguard team import|list|show|export``: the imaging incident response team."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from radguard import wording
from radguard.cli.common import console, db, print_json
from radguard.db.base import utcnow
from radguard.errors import NotFoundError
from radguard.response.team import (
    DEFAULT_MAX_ROLES,
    DEFAULT_VERIFY_DAYS,
    export_team,
    import_team,
    load_people,
    load_roles,
    person_record,
    role_record,
    team_gaps,
)

team_app = typer.Typer(help="The incident response team: roles, people, contacts and gaps.", no_args_is_help=True)


@team_app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Team YAML file (see docs/response.md)."),
    json_out: bool = typer.Option(False, "--json", help="Print the import summary as JSON."),
) -> None:
    """Replace the stored team with the roster in FILE. All or nothing."""
    with db(ctx).transaction() as session:
        result = import_team(session, file)
    if json_out:
        print_json(result.as_dict())
        return
    console.print(f"imported {file}: {result.roles} roles, {result.people} people, "
                  f"{result.assignments} assignments")


@team_app.command("list")
def list_cmd(
    ctx: typer.Context,
    max_roles: int = typer.Option(DEFAULT_MAX_ROLES, "--max-roles", min=1,
                                  help="Report people holding more roles than this."),
    verify_days: int = typer.Option(DEFAULT_VERIFY_DAYS, "--verify-days", min=1,
                                    help="Report contacts not verified within this many days."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List roles with their primary and alternates, then the gaps in the team."""
    with db(ctx).read() as session:
        roles, people = load_roles(session), load_people(session)
        gaps = team_gaps(roles, people, utcnow().date(), max_roles=max_roles, verify_days=verify_days)
        if json_out:
            print_json({"roles": [role_record(r) for r in roles],
                        "gaps": [{"kind": g.kind, "subject": g.subject, "message": g.message, **g.detail}
                                 for g in gaps]})
            return
        table = Table("Role", "Primary", "Alternates")
        for role in roles:
            rec = role_record(role)
            table.add_row(role.title, rec["primary"] or "— none —", ", ".join(rec["alternates"]) or "— none —")
        console.print(table)
        console.print(f"{len(roles)} roles, {len(people)} people")
        for gap in gaps:
            console.print(f"[yellow]gap:[/] {gap.message}", highlight=False)


@team_app.command("show")
def show_cmd(
    ctx: typer.Context,
    ref: str = typer.Argument(..., help="A role key (e.g. incident_commander) or a person's name."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Show one role with its people and their contacts, or one person with their roles."""
    with db(ctx).read() as session:
        roles = {r.key: r for r in load_roles(session)}
        people = {p.name: p for p in load_people(session)}
        if ref in roles:
            role = roles[ref]
            rec = role_record(role)
            rec["contacts"] = [person_record(a.person) | {"position": a.position} for a in role.assignments]
        elif ref in people:
            person = people[ref]
            rec = person_record(person) | {"roles": [{"role": a.role.key, "position": a.position}
                                                     for a in person.assignments]}
        else:
            raise NotFoundError(f"no role or person {ref!r}; see `radguard team list`")
        if json_out:
            print_json(rec)
            return
        for key, value in rec.items():
            if value in (None, [], {}):
                continue
            if isinstance(value, list):
                value = "; ".join(wording.value(item) for item in value)
            console.print(f"[bold]{wording.label(key)}[/]: {wording.value(value)}", highlight=False)


@team_app.command("export")
def export_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="Output YAML file, in the format `team import` reads."),
) -> None:
    """Export the team (an exact round trip with `team import`)."""
    with db(ctx).read() as session:
        count = export_team(session, file)
    console.print(f"exported {count} roles to {file}")


def register(app: typer.Typer) -> None:
    app.add_typer(team_app, name="team")
