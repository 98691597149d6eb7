"""``radguard scan-import``: other scanners' and IoMT platforms' results as discovery evidence."""

from __future__ import annotations

from pathlib import Path

import typer

from radguard.cli.common import console, db, print_json


def _overrides(values: list[str]) -> dict[str, str]:
    from radguard.discovery.imports.iomt import FIELDS
    from radguard.errors import InputError

    out: dict[str, str] = {}
    for value in values:
        field, sep, header = value.partition("=")
        if not sep or field not in FIELDS or not header.strip():
            raise InputError("--column", None, None,
                             f"{value!r}: use FIELD=Header with FIELD one of {', '.join(FIELDS)}")
        out[field] = header.strip()
    return out


def scan_import_cmd(
    ctx: typer.Context,
    tool: str = typer.Argument(..., metavar="FORMAT", help="nmap, nessus, greenbone or iomt-csv."),
    path: Path = typer.Argument(..., metavar="FILE", help="The report or export file."),
    site: str | None = typer.Option(None, "--site", help="Site code for new unconfirmed assets (default DISCOVERED)."),
    profile: str | None = typer.Option(None, "--profile",
                                       help="iomt-csv column names: generic, claroty, armis, medigate, ordr."),
    column: list[str] = typer.Option([], "--column", help="iomt-csv: FIELD=Header, overriding the profile."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Import nmap, Nessus, Greenbone/OpenVAS or IoMT CSV results as discovery evidence; known endpoints are
    matched, not duplicated."""
    from radguard.discovery.imports import read_report
    from radguard.discovery.imports.store import store_import
    from radguard.errors import InputError
    from radguard.validate import site_code

    if site is not None:
        try:
            site = site_code(site)
        except ValueError as exc:
            raise InputError("--site", None, None, str(exc)) from None
    report = read_report(tool, path, profile, _overrides(column))  # parse fully before writing anything
    result = store_import(db(ctx), report, site)
    if json_out:
        print_json(result)
        return
    counts = result["counts"]
    console.print(f"Imported {tool} report {path.name} as scan {result['scan']['id']}: "
                  f"{counts.get('open', 0)} open endpoints, {counts.get('assets_created', 0)} new unconfirmed "
                  f"assets, {counts.get('assets_matched', 0)} matched, {counts.get('vulnerabilities', 0)} "
                  f"vulnerabilities, {counts.get('skipped', 0)} skipped.")


def register(app: typer.Typer) -> None:
    app.command("scan-import")(scan_import_cmd)
