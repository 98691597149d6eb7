"""Schedules whose state lives in the central database: add, pause, resume, run now, run when due.

``radguard schedule tick`` (from a systemd timer, e.g. every 5 minutes) runs every due schedule
once and moves it to its next time; each run is recorded (started, finished, counts, error), so
the history survives restarts and two ticks never run one schedule twice (row lock).
Kinds:

- ``discover``: a job on the site's queue, with the schedule's targets/ports/level;
- ``assess``: the whole catalog;
- ``feeds``: refresh the advisory feeds from a configured directory (a local mirror) or from
  URLs (CISA's by default), all or nothing like ``radguard feeds import|update``;
- ``backup``: a backup verification job on the site's queue: its sensor reads the copy (inside
  its local scope's ``backup_paths``) against the manifest and sends the verification back;
- ``report``: write the executive or technical report into a configured directory, one file
  per run, named by audience, site and date.

Timing (:mod:`radguard.distributed.timing`): every N hours, or calendar-monthly (same day of the
next month, clamped to its last day), in the schedule's time zone; a maintenance window makes a
due run wait for the window's next opening (``tick`` skips it until then; run-now ignores it, it
is an operator's explicit request).

Run-now and pause work the same from the CLI (``radguard schedule``) and the web app
(``/schedules``); both call the functions here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from radguard.db.base import utcnow
from radguard.db.models.sensors import Schedule, ScheduleRun
from radguard.db.session import Database
from radguard.discovery.sensors import failing_schedules as failing_schedules  # the owner; re-exported here
from radguard.discovery.sensors import job_states
from radguard.distributed.timing import add_month, first_monthly_run, parse_month_day, parse_window, zone
from radguard.errors import InputError, NotFoundError
from radguard.inventory.scope import SiteScope
from radguard.readiness.dashboard import assess

KINDS = ("discover", "assess", "feeds", "backup", "report")
AUDIENCES = ("executive", "technical")
REPORT_FORMATS = ("html", "pdf")
ENV_BROKER_URL = "RADGUARD_BROKER_URL"
ENV_BROKER_CA = "RADGUARD_BROKER_CA"
Sender = Callable[[dict[str, Any]], None]


def job_sender(broker: str | None, broker_ca: Path | None = None) -> Sender | None:
    """A function that puts a job on its site's queue, or None without a broker URL.

    :param broker: ``rediss://:PASSWORD@host:port/0``; None or empty means no broker configured.
    :param broker_ca: the CA certificate of the broker's TLS.
    """
    if not broker:
        return None
    from radguard.distributed.broker import make_app
    from radguard.distributed.central import send_job

    app = make_app(broker, broker_ca)
    return lambda job: send_job(app, job)


def env_sender() -> Sender | None:
    """The sender configured by ``RADGUARD_BROKER_URL`` / ``RADGUARD_BROKER_CA`` (the web app's)."""
    ca = os.environ.get(ENV_BROKER_CA)
    return job_sender(os.environ.get(ENV_BROKER_URL), Path(ca) if ca else None)


def _check_params(kind: str, site: str | None, params: dict[str, Any]) -> dict[str, Any]:
    """Refuse a schedule that could never run, naming the option to fix; returns the params kept."""
    if kind == "discover":
        if site is None or not params.get("targets"):
            raise InputError("--site", None, None, "a discover schedule needs --site and at least one --target")
        return params
    if kind == "backup":
        missing = [opt for opt, key in (("--site", "site"), ("--set", "set"), ("--backup-path", "backup"),
                                        ("--manifest", "manifest"))
                   if not (site if key == "site" else params.get(key))]
        if missing:
            raise InputError(missing[0], None, None, "a backup schedule needs --site, --set, --backup-path and "
                             "--manifest (paths as the site's sensor sees them)")
        return {k: params.get(k) for k in ("set", "backup", "manifest", "rto", "rpo")}
    if kind == "feeds":
        directory = params.get("directory")
        if directory:
            if not Path(directory).is_dir():
                raise InputError("--feeds-dir", None, None, f"{directory} is not a directory")
            return {"directory": str(directory)}
        return {k: params[k] for k in ("kev_url", "csaf_url", "all_ics") if params.get(k)}
    if kind == "report":
        directory = params.get("directory")
        if not directory or not Path(directory).is_dir():
            raise InputError("--report-dir", None, None, "a report schedule needs --report-dir, an existing "
                             "directory the reports are written to")
        audience, fmt = params.get("audience", "executive"), params.get("format", "pdf")
        if audience not in AUDIENCES:
            raise InputError("--audience", None, None, f"{audience!r} is not one of {', '.join(AUDIENCES)}")
        if fmt not in REPORT_FORMATS:
            raise InputError("--format", None, None, f"{fmt!r} is not one of {', '.join(REPORT_FORMATS)}")
        return {"directory": str(directory), "audience": audience, "format": fmt, "site": site}
    return {}


def add_schedule(database: Database, name: str, kind: str, every_hours: int, site: str | None = None,
                 params: dict[str, Any] | None = None, start: datetime | None = None, monthly: bool = False,
                 timezone: str | None = None, window: str | None = None,
                 month_day: int | str | None = None) -> int:
    """Create a schedule, first due at ``start`` (now by default).

    :param params: discover: targets, ports, level, rate; backup: set, backup, manifest, rto, rpo;
        feeds: directory, or kev_url / csaf_url / all_ics; report: directory, audience, format.
    :param monthly: run on ``start``'s day of the month, every month (``every_hours`` is ignored).
    :param month_day: run monthly on this day (1-31, clamped to a shorter month's end, or
        ``last``); the first run is that day's next occurrence (today if it is today) at
        ``start``'s local time of day. Implies ``monthly``.
    :param timezone: IANA time zone the day of the month and the window are read in (default UTC).
    :param window: maintenance window, e.g. ``Sat 22:00-Sun 04:00`` or ``Mon-Fri 22:00-04:00``.
    """
    if kind not in KINDS:
        raise InputError("--kind", None, None, f"{kind!r} is not one of {', '.join(KINDS)}")
    tz = zone(timezone)
    parsed = parse_window(window)
    day = parse_month_day(month_day) if month_day is not None and str(month_day).strip() else None
    if monthly or day is not None:
        every_hours = 720
    if every_hours < 1:
        raise InputError("--every-hours", None, None, "must be at least 1")
    first = start or utcnow()
    if day is None and monthly:
        day = first.astimezone(tz or UTC).day
    if day is not None:
        first = first_monthly_run(first, day, tz)
    if not name or len(name) > 100 or not all(c.isalnum() or c in "-_." for c in name):
        raise InputError("name", None, None, f"{name!r}: use 1-100 letters, digits, '-', '_' or '.'")
    params = _check_params(kind, site, dict(params or {}))
    with database.transaction() as session:
        if session.scalar(select(Schedule.id).where(Schedule.name == name)) is not None:
            raise InputError("name", None, None, f"a schedule named {name!r} exists; pick another name")
        row = Schedule(name=name, kind=kind, site=site, every_hours=every_hours, params=params,
                       paused=False, next_run=first, month_day=day, timezone=timezone or None,
                       window=parsed.text if parsed else None)
        session.add(row)
        session.flush()
        return row.id


def set_paused(database: Database, name: str, paused: bool) -> None:
    """Pause or resume a schedule; a paused one is skipped by ``tick`` but can still run now."""
    with database.transaction() as session:
        row = session.scalar(select(Schedule).where(Schedule.name == name))
        if row is None:
            raise NotFoundError(f"no schedule {name!r}; `radguard schedule list` shows them")
        row.paused = paused


def _visible(stmt: Any, scope: SiteScope) -> Any:
    # A schedule of no site (assess, feeds, an organisation report) is organisation-wide: hidden
    # from a caller limited to sites, as organisation-wide findings are.
    return stmt if scope is None else stmt.where(Schedule.site.in_(sorted(scope)))


def list_schedules(database: Database, *, scope: SiteScope = None) -> list[dict[str, Any]]:
    """Every schedule with its last run; ``starts`` is when its next run can start (window included).

    :param scope: the sites the caller may see (:mod:`radguard.inventory.scope`): only their
        sites' schedules; None: all.
    """
    now = utcnow()
    with database.read() as session:
        out = []
        for s in session.scalars(_visible(select(Schedule).order_by(Schedule.name), scope)):
            last = session.scalar(select(ScheduleRun).where(ScheduleRun.schedule_id == s.id)
                                  .order_by(ScheduleRun.id.desc()).limit(1))
            window = parse_window(s.window)
            out.append({"name": s.name, "kind": s.kind, "site": s.site, "every_hours": s.every_hours,
                        "monthly": s.month_day is not None, "month_day": s.month_day, "timezone": s.timezone,
                        "window": s.window, "window_spans": [list(span) for span in window.spans] if window else None,
                        "paused": s.paused, "next_run": s.next_run,
                        "starts": window.next_opening(max(s.next_run, now), zone(s.timezone)) if window
                        else s.next_run, "params": dict(s.params),
                        "last_status": last.status if last else None, "last_error": last.error if last else None,
                        "last_finished": last.finished if last else None})
        return out


def history(database: Database, name: str, *, scope: SiteScope = None) -> list[dict[str, Any]]:
    """A schedule's runs, newest first; a run that queued a sensor job carries ``job``: how that
    job stands now (status, reason, attempts), since the run itself ends when the job is queued.
    Another site's schedule (outside ``scope``) is "not found"."""
    with database.read() as session:
        row = session.scalar(_visible(select(Schedule).where(Schedule.name == name), scope))
        if row is None:
            raise NotFoundError(f"no schedule {name!r}")
        runs = session.scalars(select(ScheduleRun).where(ScheduleRun.schedule_id == row.id)
                               .order_by(ScheduleRun.id.desc())).all()
        jobs = job_states(session, [str(r.counts["job_id"]) for r in runs if (r.counts or {}).get("job_id")])
        return [{"started": r.started, "finished": r.finished, "status": r.status, "counts": dict(r.counts),
                 "error": r.error, "job": jobs.get(str((r.counts or {}).get("job_id")))} for r in runs]


def _refresh_feeds(database: Database, params: dict[str, Any]) -> dict[str, Any]:
    from radguard.feeds.importer import collect_files, read_feeds
    from radguard.feeds.store import store_feeds
    from radguard.feeds.update import UpdateSources, download_feeds

    if params.get("directory"):
        feeds = read_feeds(collect_files([Path(params["directory"])]))
    else:
        sources = UpdateSources.default(params.get("kev_url"), params.get("csaf_url"))
        if params.get("all_ics"):
            sources.prefix = ""
        feeds = download_feeds(sources)
    with database.transaction() as session:  # parsed in full first: a bad file stores nothing
        return store_feeds(session, feeds).as_dict()


def _write_report(database: Database, params: dict[str, Any], now: datetime) -> dict[str, Any]:
    from radguard.reports.build import build_report
    from radguard.reports.render import write_report

    audience, fmt, site = params["audience"], params["format"], params.get("site")
    path = Path(params["directory"]) / f"radguard-{audience}-{site or 'organization'}-{now:%Y-%m-%d}.{fmt}"
    with database.read() as session:
        size = write_report(build_report(session, audience, site), path, fmt)
    return {"file": str(path), "bytes": size}


def _execute(database: Database, kind: str, site: str | None, params: dict[str, Any],
             send: Sender | None) -> dict[str, Any]:
    if kind == "feeds":
        return _refresh_feeds(database, params)
    if kind == "report":
        return _write_report(database, params, utcnow())
    if kind == "assess":
        with database.transaction() as session:
            result = assess(session)
            return {"checks": result.checks, "created": result.created, "mitigated": result.mitigated,
                    "open": result.open_total}
    from radguard.distributed.central import create_backup_job, create_job

    if send is None:
        raise InputError("--broker", None, None, f"a {kind} schedule needs the broker (--broker)")
    assert site is not None
    if kind == "backup":
        job = create_backup_job(database, site, str(params["set"]), str(params["backup"]), str(params["manifest"]),
                                params.get("rto"), params.get("rpo"))
        send(job)
        return {"job_id": job["job_id"]}
    job = create_job(database, site, list(params["targets"]), [int(p) for p in params.get("ports", [104])],
                     int(params.get("level", 2)), float(params.get("rate", 20.0)))
    send(job)
    return {"job_id": job["job_id"]}


def next_run_after(previous: datetime, now: datetime, every_hours: int, month_day: int | None,
                   timezone: str | None) -> datetime:
    """The nominal time after a run at ``now`` of a schedule that was due at ``previous``.

    Every-N-hours schedules count from the later of the two; a monthly one steps month by month
    from ``previous`` (keeping its day and local time) to the first date after ``now``.
    """
    if month_day is None:
        return max(previous, now) + timedelta(hours=every_hours)
    tz = zone(timezone)
    nxt = add_month(previous, month_day, tz)
    while nxt <= now:
        nxt = add_month(nxt, month_day, tz)
    return nxt


def run_schedule(database: Database, name: str, send: Sender | None = None,
                 now: datetime | None = None, due_only: bool = False) -> dict[str, Any] | None:
    """Run one schedule now (or only if due), record the run, move ``next_run`` on."""
    now = now or utcnow()
    with database.transaction() as session:
        row = session.scalar(select(Schedule).where(Schedule.name == name).with_for_update())
        if row is None:
            raise NotFoundError(f"no schedule {name!r}")
        if due_only and (row.paused or row.next_run > now):
            return None
        window = parse_window(row.window)
        if due_only and window and not window.contains(now.astimezone(zone(row.timezone))):
            return None  # due, but outside the maintenance window: waits for its next opening
        kind, site, params, sid = row.kind, row.site, dict(row.params), row.id
        row.next_run = next_run_after(row.next_run, now, row.every_hours, row.month_day, row.timezone)
    started = utcnow()
    try:
        counts, status, error = _execute(database, kind, site, params, send), "ok", None
    except Exception as exc:  # recorded as the run's error; the schedule keeps going
        counts, status, error = {}, "failed", f"{type(exc).__name__}: {exc}"
    with database.transaction() as session:
        session.add(ScheduleRun(schedule_id=sid, started=started, finished=utcnow(), status=status,
                                counts=counts, error=error))
    return {"name": name, "status": status, "counts": counts, "error": error}


def tick(database: Database, send: Sender | None = None,
         now: datetime | None = None) -> list[dict[str, Any]]:
    """Run every due, unpaused schedule once."""
    now = now or utcnow()
    with database.read() as session:
        names = list(session.scalars(select(Schedule.name).where(Schedule.paused.is_(False),
                                                                 Schedule.next_run <= now)))
    return [r for n in names if (r := run_schedule(database, n, send, now, due_only=True)) is not None]
