"""``radguard sbom import FILE --asset A``."""

from __future__ import annotations

from pathlib import Path

import typer

from radguard.cli.common import console, db, err_console, print_json
from radguard.inventory.sbom import import_sbom

sbom_app = typer.Typer(help="Software bills of materials (CycloneDX JSON/XML, SPDX JSON).", no_args_is_help=True)


@sbom_app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A CycloneDX (JSON or XML) or SPDX (JSON) document."),
    asset: str = typer.Option(..., "--asset", help="The asset it describes: ID, SITE/NAME, or a unique name."),
    json_out: bool = typer.Option(False, "--json", help="Print the import summary as JSON."),
) -> None:
    """Make the asset's SBOM components those of this document (with purl and CPE) for advisory matching."""
    with db(ctx).transaction() as session:
        result = import_sbom(session, file, asset)
    if json_out:
        print_json(result.as_dict())
        return
    console.print(f"imported {result.format} SBOM {file} for {result.asset}: {result.components} components "
                  f"({result.created} new, {result.updated} updated, {result.removed} no longer listed and removed)",
                  highlight=False)
    for dup in result.duplicates:
        err_console.print(f"note: {dup['vendor']} {dup['product']} is listed in several versions "
                          f"({', '.join(dup['versions'])}); all are kept and matched against advisories",
                          highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(sbom_app, name="sbom")
