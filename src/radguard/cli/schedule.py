"""``radguard schedule``: recurring discovery, assessment, feed refresh, backup verification and
reports, with state and history in the database (the web app's /schedules page calls the same
functions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from radguard.cli.common import console, db, print_json
from radguard.discovery.targets import parse_ports
from radguard.validate import site_code

schedule_app = typer.Typer(help="Recurring discovery and assessment; runs are recorded with their result.",
                           no_args_is_help=True)
_BROKER_HELP = "Broker URL for discover schedules (or env RADGUARD_BROKER_URL)."


def _sender(broker: str | None, broker_ca: Path | None) -> Any:
    from radguard.distributed.schedules import job_sender

    return job_sender(broker, broker_ca)


@schedule_app.command("add")
def add_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="A unique name, e.g. north-weekly."),
    kind: str = typer.Option(..., "--kind", help="discover, assess, feeds, backup or report."),
    every_hours: int = typer.Option(24, "--every-hours", help="Hours between runs (24 = daily, 168 = weekly); "
                                    "see --monthly for calendar months."),
    monthly: str | None = typer.Option(None, "--monthly", metavar="DAY", help="Run every month on day DAY "
                                       "(1-31; the 29th-31st become a shorter month's last day, then come "
                                       "back) or on the 'last' day; first run: DAY's next occurrence (today "
                                       "if it is today) at the current time of day."),
    timezone: str | None = typer.Option(None, "--timezone", help="IANA time zone for --monthly and --window, "
                                        "e.g. Europe/Berlin (default UTC)."),
    window: str | None = typer.Option(None, "--window", help="Maintenance window: a due run waits for its next "
                                      "opening, e.g. 'Sat 22:00-Sun 04:00' or 'Mon-Fri 22:00-04:00'."),
    site: str | None = typer.Option(None, "--site", help="Site whose sensors run a discover schedule; a report "
                                    "schedule's site (default: the whole organization)."),
    targets: list[str] = typer.Option([], "--target", help="Discover: host, CIDR or host:port (repeatable)."),
    ports: str = typer.Option("104,11112", "--ports", help="Discover: ports to probe."),
    level: int = typer.Option(2, "--level", help="Discover: safety level (the sensor's scope may refuse it)."),
    feeds_dir: Path | None = typer.Option(None, "--feeds-dir", help="Feeds: import this directory (a local "
                                          "mirror of KEV/CSAF/NVD files) instead of downloading."),
    kev_url: str | None = typer.Option(None, "--kev-url", help="Feeds: KEV catalog URL (default: CISA's)."),
    csaf_url: str | None = typer.Option(None, "--csaf-url", help="Feeds: base URL of a CSAF directory with "
                                        "index.txt (default: CISA's medical advisories)."),
    backup_set: str | None = typer.Option(None, "--set", help="Backup: the backup set the verification is "
                                          "recorded against."),
    backup_path: str | None = typer.Option(None, "--backup-path", help="Backup: top folder of the copy, as the "
                                           "site's sensor sees it (inside its scope's backup_paths)."),
    manifest: str | None = typer.Option(None, "--manifest", help="Backup: the source's manifest, on the sensor."),
    report_dir: Path | None = typer.Option(None, "--report-dir", help="Report: directory the reports are "
                                           "written to (one file per run)."),
    audience: str = typer.Option("executive", "--audience", help="Report: executive or technical."),
    fmt: str = typer.Option("pdf", "--format", help="Report: pdf or html."),
) -> None:
    """Create a schedule; its first run is due now."""
    from radguard.distributed.schedules import add_schedule
    from radguard.errors import InputError

    # The web form sends an empty field for "not monthly"/"UTC"; on the command line an empty
    # value is a script's unset variable (--monthly "$DAY"), which silently made a daily schedule.
    for option, value in (("--monthly", monthly), ("--timezone", timezone), ("--window", window)):
        if value is not None and not value.strip():
            raise InputError(option, None, None, "empty; give a value or leave the option out")
    params: dict[str, Any] = {}
    if kind == "discover":
        params = {"targets": targets, "ports": list(parse_ports(ports)), "level": level}
    elif kind == "feeds":
        params = {"directory": str(feeds_dir) if feeds_dir else None, "kev_url": kev_url, "csaf_url": csaf_url}
    elif kind == "backup":
        params = {"set": backup_set, "backup": backup_path, "manifest": manifest}
    elif kind == "report":
        params = {"directory": str(report_dir) if report_dir else None, "audience": audience, "format": fmt}
    add_schedule(db(ctx), name, kind, every_hours, site_code(site) if site else None, params, month_day=monthly,
                 timezone=timezone, window=window)
    console.print(f"schedule {name} added")


@schedule_app.command("pause")
def pause_cmd(ctx: typer.Context, name: str = typer.Argument(..., help="The schedule.")) -> None:
    """Stop a schedule from running until resumed."""
    from radguard.distributed.schedules import set_paused

    set_paused(db(ctx), name, True)
    console.print(f"schedule {name} paused")


@schedule_app.command("resume")
def resume_cmd(ctx: typer.Context, name: str = typer.Argument(..., help="The schedule.")) -> None:
    """Let a paused schedule run again."""
    from radguard.distributed.schedules import set_paused

    set_paused(db(ctx), name, False)
    console.print(f"schedule {name} resumed")


@schedule_app.command("run-now")
def run_now_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The schedule."),
    broker: str | None = typer.Option(None, "--broker", envvar="RADGUARD_BROKER_URL", help=_BROKER_HELP),
    broker_ca: Path | None = typer.Option(None, "--broker-ca", help="CA certificate of the broker's TLS."),
) -> None:
    """Run a schedule once now (paused or not) and record the run."""
    from radguard.distributed.schedules import run_schedule

    result = run_schedule(db(ctx), name, _sender(broker, broker_ca))
    print_json(result)
    if result and result["status"] != "ok":
        raise typer.Exit(1)


@schedule_app.command("tick")
def tick_cmd(
    ctx: typer.Context,
    broker: str | None = typer.Option(None, "--broker", envvar="RADGUARD_BROKER_URL", help=_BROKER_HELP),
    broker_ca: Path | None = typer.Option(None, "--broker-ca", help="CA certificate of the broker's TLS."),
) -> None:
    """Run every due schedule once (call it from a systemd timer)."""
    from radguard.distributed.schedules import tick

    print_json(tick(db(ctx), _sender(broker, broker_ca)))


@schedule_app.command("list")
def list_cmd(ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Schedules, when each runs next, and how its last run ended."""
    from radguard.distributed.schedules import list_schedules
    from radguard.wording import schedule_every, window_spans

    rows = list_schedules(db(ctx))
    if json_out:
        print_json(rows)
        return
    table = Table("schedule", "kind", "site", "runs", "window", "next run", "paused", "last run", "error")
    for r in rows:
        table.add_row(r["name"], r["kind"], r["site"] or "",
                      schedule_every(r["every_hours"], r["month_day"], r["timezone"]), window_spans(r["window_spans"]),
                      str(r["starts"]),
                      "yes" if r["paused"] else "", r["last_status"] or "", r["last_error"] or "")
    console.print(table)


@schedule_app.command("history")
def history_cmd(ctx: typer.Context, name: str = typer.Argument(..., help="The schedule.")) -> None:
    """A schedule's runs: started, finished, counts, error."""
    from radguard.distributed.schedules import history

    print_json(history(db(ctx), name))


def register(app: typer.Typer) -> None:
    app.add_typer(schedule_app, name="schedule")
