"""``radguard mds2 import FILE --asset A``."""

from __future__ import annotations

from pathlib import Path

import typer

from radguard.cli.common import console, db, err_console, print_json
from radguard.inventory.mds2 import import_mds2

mds2_app = typer.Typer(help="Manufacturer Disclosure Statements for Medical Device Security (2019 form).",
                       no_args_is_help=True)


@mds2_app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The MDS2 as published (.xlsx) or a CSV of question ID, answer, note."),
    asset: str = typer.Option(..., "--asset", help="The asset it describes: ID, SITE/NAME, or a unique name."),
    json_out: bool = typer.Option(False, "--json", help="Print the import summary as JSON."),
) -> None:
    """Keep the statement's answers as evidence for the asset. Stops, naming the cell, on anything unclear."""
    with db(ctx).transaction() as session:
        result = import_mds2(session, file, asset)
    if json_out:
        print_json(result.as_dict())
        return
    for warning in result.warnings:
        err_console.print(f"warning: {warning}", highlight=False)
    if result.unchanged:
        console.print(f"{file} is already on file for {result.asset} (evidence {result.evidence_id}); nothing changed")
        return
    where = f" from sheet '{result.sheet}'" if result.sheet else ""
    console.print(f"imported {file}{where} for {result.asset}: {result.answers} answers, "
                  f"{result.unanswered} questions left blank (evidence {result.evidence_id})", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(mds2_app, name="mds2")
