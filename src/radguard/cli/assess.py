"""``radguard assess``: evaluate every check and update the findings register."""

from __future__ import annotations

from pathlib import Path

import typer

from radguard.checks.engine import load_settings
from radguard.checks.loader import default_catalog
from radguard.checks.sla import parse_override
from radguard.checks.spec import SEVERITY_ORDER
from radguard.cli.common import console, db, print_json, progress_bar
from radguard.errors import InputError
from radguard.readiness.dashboard import assess


def assess_cmd(
    ctx: typer.Context,
    settings_file: Path | None = typer.Option(None, "--settings", help="YAML settings: SLA days and check parameters."),
    sla: list[str] = typer.Option([], "--sla", help="Override SLA days, e.g. --sla critical=14 (repeatable)."),
    json_out: bool = typer.Option(False, "--json", help="Print the assessment summary as JSON."),
) -> None:
    """Run the whole catalog against current data; create, reopen and close findings in one transaction."""
    settings = load_settings(settings_file)
    overrides: dict[str, int | None] = {}
    for text in sla:
        try:
            name, days = parse_override(text)
        except ValueError as exc:
            raise InputError("--sla", None, None, str(exc)) from exc
        overrides[name] = days
    if overrides:
        settings = settings.model_copy(update={"sla": settings.sla.with_overrides(overrides)})
    database = db(ctx)
    catalog = default_catalog()
    # The bar is on standard error (after a second), so --json output stays JSON alone.
    with database.transaction() as session, progress_bar("loading the inventory", total=len(catalog)) as step:
        result = assess(session, settings=settings, catalog=catalog, on_check=step)
    if json_out:
        print_json(result.as_dict())
        return
    order = {name: -rank for name, rank in SEVERITY_ORDER.items()}
    sev = ", ".join(f"{n} {s}" for s, n in sorted(result.open_by_severity.items(), key=lambda kv: order.get(kv[0], 9)))
    console.print(
        f"{result.checks} checks, {result.observations} observations in {result.seconds:.1f}s: "
        f"{result.created} new, {result.reopened} reopened, {result.acceptances_expired} acceptances expired, "
        f"{result.mitigated} mitigated. Open findings: {result.open_total} ({sev or 'none'})."
    )


def register(app: typer.Typer) -> None:
    app.command("assess")(assess_cmd)
