"""``radguard training`` and ``radguard phishing``: workforce awareness imports and metrics."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from radguard.cli.common import console, db, print_json
from radguard.response.workforce import (
    PHISHING_FIELDS,
    TRAINING_FIELDS,
    import_phishing,
    import_training,
    parse_mapping,
    phishing_metrics,
    training_metrics,
)

training_app = typer.Typer(help="Security-awareness training records (LMS exports).", no_args_is_help=True)
phishing_app = typer.Typer(help="Phishing-simulation results.", no_args_is_help=True)

MAP_HELP = "COLUMN=FIELD for a column whose name radguard does not recognise (repeatable)."
DATE_HELP = "strptime format of the dates, e.g. %m/%d/%Y (default: ISO 8601)."


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _signed(value: float | None) -> str:
    return "" if value is None else f"{value * 100:+.0f} pts"


@training_app.command("import")
def training_import(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV export of training assignments."),
    mapping: list[str] = typer.Option([], "--map", help=MAP_HELP),
    date_format: str | None = typer.Option(None, "--date-format", help=DATE_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import training records (person, role, course; site, required, assigned, due, completed, status).

    All or nothing: the first invalid row is reported with its line and column.
    """
    with db(ctx).transaction() as session:
        summary = import_training(session, file, parse_mapping(mapping, TRAINING_FIELDS), date_format)
    if json_out:
        print_json(summary.as_dict())
        return
    console.print(f"imported {file}: {summary.rows} rows, {summary.created} records created, "
                  f"{summary.updated} updated")


@training_app.command("metrics")
def training_metrics_cmd(
    ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """Completion and overdue training by role and site, with the quarterly trend."""
    with db(ctx).read() as session:
        doc = training_metrics(session)
    if json_out:
        print_json(doc)
        return
    table = Table("Role", "Site", "Assigned", "Due", "Completed", "Overdue", "Completion")
    for g in doc["by_role_and_site"]:
        table.add_row(g["role"], g["site"] or "", str(g["assigned"]), str(g["due"]), str(g["completed"]),
                      str(g["overdue"]), _pct(g["completion"]))
    console.print(table)
    console.print("Trend (completion of due training): " + ", ".join(
        f"{t['as_of']}: {_pct(t['completion'])}" for t in doc["trend"]), highlight=False)


@phishing_app.command("import")
def phishing_import(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV export of phishing-simulation results."),
    mapping: list[str] = typer.Option([], "--map", help=MAP_HELP),
    date_format: str | None = typer.Option(None, "--date-format", help=DATE_HELP),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import phishing results, per campaign and audience or per recipient. All or nothing."""
    with db(ctx).transaction() as session:
        summary = import_phishing(session, file, parse_mapping(mapping, PHISHING_FIELDS), date_format)
    if json_out:
        print_json(summary.as_dict())
        return
    console.print(f"imported {file}: {summary.rows} rows, {summary.created} campaign results created, "
                  f"{summary.updated} updated")


@phishing_app.command("metrics")
def phishing_metrics_cmd(
    ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print JSON.")
) -> None:
    """Click and report rate per campaign, per audience and site, and the change since the previous campaign."""
    with db(ctx).read() as session:
        doc = phishing_metrics(session)
    if json_out:
        print_json(doc)
        return
    table = Table("Audience", "Site", "Campaign", "Date", "Sent", "Click rate", "Report rate")
    for g in doc["by_audience_and_site"]:
        for c in g["campaigns"]:
            table.add_row(g["audience"], g["site"] or "", c["campaign"], c["date"].isoformat(), str(c["sent"]),
                          _pct(c["click_rate"]), _pct(c["report_rate"]))
        change = g["change_since_previous"]
        if change["click_rate"] is not None:
            table.add_row("", "", "change", "", "", _signed(change["click_rate"]), _signed(change["report_rate"]))
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(training_app, name="training")
    app.add_typer(phishing_app, name="phishing")
