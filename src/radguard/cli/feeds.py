"""``radguard feeds import|update|list``: advisory feeds (CISA KEV, CSAF 2.0, NVD CVE API 2.0)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import func, select

from radguard.cli.common import console, db, err_console, print_json
from radguard.db.models.feeds import Advisory, CveRecord, FeedImport, KevEntry
from radguard.feeds.importer import collect_files, read_feeds
from radguard.feeds.records import ParsedFeed
from radguard.feeds.store import ImportSummary, store_feeds
from radguard.feeds.update import UpdateSources, download_feeds

feeds_app = typer.Typer(help="Advisory feeds: CISA KEV, CSAF 2.0 advisories, NVD CVE pages.", no_args_is_help=True)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True)


def _store(ctx: typer.Context, feeds: list[ParsedFeed], progress: Progress) -> ImportSummary:
    task = progress.add_task("storing", total=len(feeds))
    with db(ctx).transaction() as session:
        return store_feeds(session, feeds, lambda _f: progress.advance(task))


def _report(summary: ImportSummary, json_out: bool) -> None:
    if json_out:
        print_json(summary.as_dict())
        return
    s = summary
    console.print(
        f"{s.files} feed files: advisories {s.advisories_added} added, {s.advisories_updated} updated, "
        f"{s.advisories_unchanged} unchanged ({s.products} products, {s.products_needing_review} with version "
        f"text that needs review); KEV {s.kev_added} added, {s.kev_updated} updated; "
        f"CVEs {s.cves_added} added, {s.cves_updated} updated", highlight=False)


@feeds_app.command("import")
def import_cmd(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="KEV catalog, CSAF advisories or NVD pages: files or directories."),
    json_out: bool = typer.Option(False, "--json", help="Print the import summary as JSON."),
) -> None:
    """Import feed files. All or nothing: a malformed file is named and nothing is imported."""
    files = collect_files(paths)
    with _progress() as progress:
        task = progress.add_task("reading", total=len(files))
        feeds = read_feeds(files, lambda _p: progress.advance(task))
        summary = _store(ctx, feeds, progress)
    _report(summary, json_out)


@feeds_app.command("update")
def update_cmd(
    ctx: typer.Context,
    kev_url: str | None = typer.Option(None, "--kev-url",
                                       help="KEV catalog URL (default: CISA's, or $RADGUARD_KEV_URL)."),
    csaf_url: str | None = typer.Option(None, "--csaf-url",
                                        help="Base URL of a CSAF directory with index.txt (default: CISA's OT "
                                             "advisories on GitHub, or $RADGUARD_CSAF_BASE_URL)."),
    all_ics: bool = typer.Option(False, "--all-ics", help="Every ICS advisory, not only the medical (ICSMA) ones."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds to wait for each download."),
    json_out: bool = typer.Option(False, "--json", help="Print the import summary as JSON."),
) -> None:
    """Download KEV and CISA's medical CSAF advisories, then import them (needs Internet access)."""
    sources = UpdateSources.default(kev_url, csaf_url)
    if all_ics:
        sources.prefix = ""
    db(ctx)  # refuse before downloading if the database is not initialised
    with _progress() as progress:
        task = progress.add_task("downloading", total=None)

        def step(_name: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        feeds = download_feeds(sources, timeout=timeout, progress=step)
        summary = _store(ctx, feeds, progress)
    _report(summary, json_out)


@feeds_app.command("list")
def list_cmd(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """What has been imported: each feed document's source, version, date, and the totals."""
    with db(ctx).read() as session:
        imports = session.scalars(select(FeedImport).order_by(FeedImport.source, FeedImport.last_imported_at)).all()
        totals = {
            "advisories": session.scalar(select(func.count()).select_from(Advisory)) or 0,
            "kev_entries": session.scalar(select(func.count()).select_from(KevEntry)) or 0,
            "cves": session.scalar(select(func.count()).select_from(CveRecord)) or 0,
        }
        rows: list[dict[str, Any]] = [
            {"source": i.source, "name": i.name, "version": i.version, "released_at": i.released_at,
             "records": i.records, "imported_at": i.imported_at, "last_imported_at": i.last_imported_at}
            for i in imports
        ]
    if json_out:
        print_json({"imports": rows, "totals": totals})
        return
    table = Table("Source", "Name", "Version", "Released", "Records", "Last imported")
    for r in rows:
        table.add_row(r["source"], Path(r["name"]).name, r["version"] or "",
                      r["released_at"].date().isoformat() if r["released_at"] else "", str(r["records"]),
                      r["last_imported_at"].strftime("%Y-%m-%d %H:%M"))
    console.print(table)
    console.print(f"{totals['advisories']} advisories, {totals['kev_entries']} KEV entries, "
                  f"{totals['cves']} CVE records", highlight=False)


@feeds_app.command("epss")
def epss_cmd(
    ctx: typer.Context,
    file: Path | None = typer.Option(None, "--file", help="FIRST's EPSS CSV (plain or .gz) saved locally."),
    url: str | None = typer.Option(None, "--url", help="Download from here (default $RADGUARD_EPSS_URL, else "
                                   "FIRST's current file)."),
    json_out: bool = typer.Option(False, "--json", help="Print the import summary as JSON."),
) -> None:
    """Import FIRST's daily EPSS scores, replacing the stored ones; they raise risk scores and show on findings."""
    from radguard.feeds.epss import download_epss, read_epss_file, store_epss

    scores = read_epss_file(file) if file is not None else download_epss(url)
    with db(ctx).transaction() as session:
        summary = store_epss(session, scores)
    if json_out:
        print_json(summary)
    else:
        console.print(f"Imported EPSS scores for {summary['cves']} CVEs, scored {summary['score_date']}.")


@feeds_app.command("vex")
def vex_cmd(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="A CycloneDX VEX, OpenVEX or CSAF VEX JSON document."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Apply a VEX document: advisory findings whose every CVE it marks not affected or fixed are closed."""
    from radguard.checks.vex import apply_vex
    from radguard.feeds.vex import read_vex

    statements = read_vex(path)
    with db(ctx).transaction() as session:
        result = apply_vex(session, statements)
    if json_out:
        print_json(result)
    else:
        console.print(f"{result['statements']} closing statements stored; closed findings: "
                      f"{', '.join(map(str, result['closed'])) or 'none'}.")


def register(app: typer.Typer) -> None:
    app.add_typer(feeds_app, name="feeds")
