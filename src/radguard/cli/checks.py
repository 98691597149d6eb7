"""``radguard checks list|show``: the check catalog."""

from __future__ import annotations

import typer
from rich.table import Table

from radguard.checks.loader import CatalogEntry, default_catalog
from radguard.cli.common import console, print_json
from radguard.errors import NotFoundError

checks_app = typer.Typer(help="The catalog of checks radguard evaluates.", no_args_is_help=True)


def _record(entry: CatalogEntry) -> dict[str, object]:
    return {**entry.spec.model_dump(), "file": entry.source.name}


def _frameworks(entry: CatalogEntry) -> str:
    refs = entry.spec.frameworks
    parts = [f"{name}: {', '.join(ids)}" for name, ids in
             (("CSF", refs.csf2), ("HICP", refs.hicp), ("CPG", refs.hph_cpg), ("HIPAA", refs.hipaa)) if ids]
    return "; ".join(parts)


@checks_app.command("list")
def list_cmd(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Every check: ID, title, asset classes, severity, safeguard type, defense layer, evidence, frameworks."""
    catalog = default_catalog()
    if json_out:
        print_json([_record(e) for e in catalog])
        return
    table = Table("ID", "Title", "Applies to", "Severity", "Type", "Layer", "Evidence", "Frameworks")
    for e in catalog:
        s = e.spec
        table.add_row(s.id, s.title, ", ".join(s.scope), s.severity, s.safeguard_type, s.defense_layer,
                      ", ".join(s.evidence_kind), _frameworks(e))
    console.print(table)
    console.print(f"{len(catalog)} checks")


@checks_app.command("show")
def show_cmd(check_id: str = typer.Argument(..., help="Check ID, e.g. RG-DICOM-NO-TLS."),
             json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """One check with its description, rationale, remediation and references."""
    catalog = default_catalog()
    entry = catalog.entries.get(check_id.upper())
    if entry is None:
        raise NotFoundError(f"no check {check_id!r}; see `radguard checks list`")
    if json_out:
        print_json(_record(entry))
        return
    s = entry.spec
    for label, value in (("ID", s.id), ("Title", s.title), ("Severity", s.severity),
                         ("Applies to", ", ".join(s.scope)), ("Safeguard type", s.safeguard_type),
                         ("Defense layer", s.defense_layer), ("Evidence", ", ".join(s.evidence_kind)),
                         ("Effort", s.effort), ("Description", s.description), ("Rationale", s.rationale),
                         ("Remediation", s.remediation), ("Frameworks", _frameworks(entry)),
                         ("References", "; ".join(s.references)), ("Defined in", entry.source.name)):
        if value:
            console.print(f"[bold]{label}[/]: {value}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(checks_app, name="checks")
