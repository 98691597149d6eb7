"""``radguard report``: the executive or technical report as one HTML file or a PDF."""

from __future__ import annotations

from pathlib import Path

import typer

from radguard.cli.common import console, db, progress_bar
from radguard.errors import InputError


def report_cmd(
    ctx: typer.Context,
    output: Path = typer.Option(..., "-o", "--output", help="File to write (.html or .pdf)."),
    audience: str = typer.Option("executive", "--audience", help="executive (a few pages) or technical (the list)."),
    fmt: str | None = typer.Option(None, "--format", help="html or pdf (default: from the file extension, else html)."),
    site: str | None = typer.Option(None, "--site", help="Only this site (code); default: the whole organization."),
    appendix: str | None = typer.Option(
        None, "--appendix", help="Technical report only: the appendices after its summary and sections, "
        "assets (every open finding by asset, safeguards per asset), frameworks (requirement by requirement), "
        "both as assets,frameworks (the default), or none."),
) -> None:
    """Write a readiness report built from everything recorded so far. Read-only."""
    from radguard.reports.build import build_report, parse_appendices
    from radguard.reports.render import write_report

    if audience not in ("executive", "technical"):
        raise InputError("--audience", None, None, f"{audience!r} is not an audience; use executive or technical")
    chosen = fmt or (
        output.suffix.lstrip(".").lower() if output.suffix.lower() in (".pdf", ".html", ".htm") else "html"
    )
    chosen = "html" if chosen == "htm" else chosen
    if chosen not in ("html", "pdf"):
        raise InputError("--format", None, None, f"{chosen!r} is not a report format; use html or pdf")
    if appendix is not None and audience != "technical":
        raise InputError("--appendix", None, None, "appendices are part of the technical report; "
                                                   "add --audience technical or leave --appendix out")
    appendices = parse_appendices(appendix)
    if not output.parent.exists():
        raise InputError(str(output), None, None, f"the directory {output.parent} does not exist; create it first")
    with db(ctx).read() as session, progress_bar(f"reading the register for the {audience} report",
                                                 total=2) as step:
        report = build_report(session, audience, site, appendices=appendices)  # type: ignore[arg-type]
        step("writing the PDF (WeasyPrint)" if chosen == "pdf" else "writing the HTML")
        size = write_report(report, output, chosen)  # type: ignore[arg-type]
        step("done")
    console.print(f"wrote the {audience} report ({chosen}, {size // 1024 or 1} KiB) to {output}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
