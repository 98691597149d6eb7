"""``radguard export``: OSCAL Assessment Results + POA&M, and findings/inventory/roadmap tables."""

from __future__ import annotations

from pathlib import Path

import typer

from radguard.cli.common import console, db
from radguard.errors import InputError

export_app = typer.Typer(help="Machine-readable exports for GRC tools, SIEMs and spreadsheets.", no_args_is_help=True)


def _check_parent(path: Path) -> None:
    if not path.parent.exists():
        raise InputError(str(path), None, None, f"the directory {path.parent} does not exist; create it first")


@export_app.command("oscal")
def oscal_cmd(
    ctx: typer.Context,
    output: Path = typer.Option(..., "-o", "--output", help="Assessment Results JSON file to write."),
    poam: Path | None = typer.Option(None, "--poam", help="POA&M file (default: beside it, NAME.poam.json)."),
    site: str | None = typer.Option(None, "--site", help="Only this site (code)."),
) -> None:
    """OSCAL Assessment Results and a Plan of Action and Milestones, validated against the OSCAL models."""
    from radguard.reports.exports.oscal import build_oscal, write_oscal
    from radguard.reports.scope import Scope

    _check_parent(output)
    if poam is not None:
        _check_parent(poam)
    with db(ctx).read() as session:
        docs = build_oscal(Scope(session, site))
    ar_path, poam_path = write_oscal(docs, output, poam)
    console.print(f"wrote OSCAL assessment results to {ar_path} and the POA&M to {poam_path}", highlight=False)


def _table_cmd(kind: str) -> None:
    def command(
        ctx: typer.Context,
        output: Path = typer.Option(..., "-o", "--output", help="File to write."),
        fmt: str | None = typer.Option(None, "--format", help="csv or json (default: from the extension)."),
        site: str | None = typer.Option(None, "--site", help="Only this site (code)."),
    ) -> None:
        from radguard.reports.exports.tables import EXPORTS, to_csv, to_json
        from radguard.reports.scope import Scope

        chosen = (fmt or output.suffix.lstrip(".")).lower()
        if chosen not in ("csv", "json"):
            raise InputError(
                "--format", None, None, f"{chosen or 'nothing'!r} is not an export format; use csv or json"
            )
        _check_parent(output)
        columns, records_of = EXPORTS[kind]
        with db(ctx).read() as session:
            scope = Scope(session, site)
            records = records_of(scope)
            body = to_csv(columns, records) if chosen == "csv" else to_json(kind, columns, records, scope)
        from radguard.outfiles import write_file

        write_file(output, body, newline="")
        console.print(f"exported {len(records)} {kind} rows ({chosen}) to {output}", highlight=False)

    command.__doc__ = f"The {kind} as CSV or JSON with the stable columns of docs/exports.md."
    export_app.command(kind)(command)


for _kind in ("findings", "inventory", "roadmap"):
    _table_cmd(_kind)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
