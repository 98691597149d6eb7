"""``radguard coverage``: every requirement of a framework with its status and the evidence behind it."""

from __future__ import annotations

import typer
from rich.table import Table

from radguard.cli.common import console, db, print_json


def coverage_cmd(
    ctx: typer.Context,
    framework: str = typer.Option(..., "--framework", help="csf2, hicp, hph-cpg or hipaa."),
    site: str | None = typer.Option(None, "--site", help="Only findings of this site (code)."),
    size: str | None = typer.Option(None, "--size", help="HICP: only sub-practices for small, medium or large."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Status (met, partly met, not met, no evidence) of every requirement, from mapped checks and answers."""
    from radguard.errors import InputError
    from radguard.frameworks.coverage import compute_coverage, summarize
    from radguard.frameworks.loader import framework_key, load_framework
    from radguard.reports.observed import observe
    from radguard.reports.scope import Scope

    fw = load_framework(framework_key(framework))
    if size not in (None, "small", "medium", "large"):
        raise InputError("--size", None, None, f"{size!r} is not a size; use small, medium or large")
    with db(ctx).read() as session:
        observed = observe(Scope(session, site))
    rows = compute_coverage(fw, observed, org_size=size)  # type: ignore[arg-type]
    counts = summarize(rows)
    if json_out:
        print_json(
            {
                "framework": fw.key,
                "name": fw.name,
                "version": fw.version,
                "site": site,
                "checklist": observed.checklist_label,
                "summary": counts,
                "requirements": [r.as_dict() for r in rows],
            }
        )
        return
    table = Table("Requirement", "Title", "Status", "Evidence", title=f"{fw.name} ({fw.version})")
    for row in rows:
        req = row.requirement
        ident = req.id + (f" [{'R' if req.flag == 'required' else 'A'}]" if req.flag else "")
        evidence = "\n".join(f"{i.id}: {i.status} — {i.detail}" for i in row.items) or "nothing mapped"
        table.add_row(ident, req.title, row.status, evidence)
    console.print(table)
    console.print(", ".join(f"{n} {s}" for s, n in counts.items()), highlight=False)


def register(app: typer.Typer) -> None:
    app.command("coverage")(coverage_cmd)
