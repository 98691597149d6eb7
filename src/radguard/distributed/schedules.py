"""Schedules whose state lives in the central database: add, pause, resume, run now, run when due.

``radguard schedule tick`` (from a systemd timer, e.g. every 5 minutes) runs every due schedule
once and moves it to its next time; each run is recorded (started, finished, counts, error), so
the history survives restarts and two ticks never run one schedule twice (row lock).
Kinds: ``discover`` (a job on the site's queue, with the schedule's targets/ports/level) and
``assess`` (the whole catalog).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from radguard.checks.engine import assess
from radguard.db.base import utcnow
from radguard.db.models.sensors import Schedule, ScheduleRun
from radguard.db.session import Database
from radguard.errors import InputError, NotFoundError

KINDS = ("discover", "assess")


def add_schedule(database: Database, name: str, kind: str, every_hours: int, site: str | None = None,
                 params: dict[str, Any] | None = None, start: datetime | None = None) -> int:
    """Create a schedule; ``params`` for discover: targets, ports, level, rate."""
    if kind not in KINDS:
        raise InputError("--kind", None, None, f"{kind!r} is not one of {', '.join(KINDS)}")
    if every_hours < 1:
        raise InputError("--every-hours", None, None, "must be at least 1")
    if kind == "discover" and (site is None or not (params or {}).get("targets")):
        raise InputError("--site", None, None, "a discover schedule needs --site and at least one --target")
    with database.transaction() as session:
        row = Schedule(name=name, kind=kind, site=site, every_hours=every_hours, params=params or {},
                       paused=False, next_run=start or utcnow())
        session.add(row)
        session.flush()
        return row.id


def set_paused(database: Database, name: str, paused: bool) -> None:
    with database.transaction() as session:
        row = session.scalar(select(Schedule).where(Schedule.name == name))
        if row is None:
            raise NotFoundError(f"no schedule {name!r}; `radguard schedule list` shows them")
        row.paused = paused


def list_schedules(database: Database) -> list[dict[str, Any]]:
    """Every schedule with its last run."""
    with database.read() as session:
        out = []
        for s in session.scalars(select(Schedule).order_by(Schedule.name)):
            last = session.scalar(select(ScheduleRun).where(ScheduleRun.schedule_id == s.id)
                                  .order_by(ScheduleRun.id.desc()).limit(1))
            out.append({"name": s.name, "kind": s.kind, "site": s.site, "every_hours": s.every_hours,
                        "paused": s.paused, "next_run": s.next_run, "params": dict(s.params),
                        "last_status": last.status if last else None, "last_error": last.error if last else None,
                        "last_finished": last.finished if last else None})
        return out


def history(database: Database, name: str) -> list[dict[str, Any]]:
    """A schedule's runs, newest first."""
    with database.read() as session:
        row = session.scalar(select(Schedule).where(Schedule.name == name))
        if row is None:
            raise NotFoundError(f"no schedule {name!r}")
        runs = session.scalars(select(ScheduleRun).where(ScheduleRun.schedule_id == row.id)
                               .order_by(ScheduleRun.id.desc()))
        return [{"started": r.started, "finished": r.finished, "status": r.status, "counts": dict(r.counts),
                 "error": r.error} for r in runs]


def _execute(database: Database, kind: str, site: str | None, params: dict[str, Any],
             send: Callable[[dict[str, Any]], None] | None) -> dict[str, Any]:
    if kind == "assess":
        with database.transaction() as session:
            result = assess(session)
            return {"checks": result.checks, "created": result.created, "mitigated": result.mitigated,
                    "open": result.open_total}
    from radguard.distributed.central import create_job

    if send is None:
        raise InputError("--broker", None, None, "a discover schedule needs the broker (--broker)")
    assert site is not None
    job = create_job(database, site, list(params["targets"]), [int(p) for p in params.get("ports", [104])],
                     int(params.get("level", 2)), float(params.get("rate", 20.0)))
    send(job)
    return {"job_id": job["job_id"]}


def run_schedule(database: Database, name: str, send: Callable[[dict[str, Any]], None] | None = None,
                 now: datetime | None = None, due_only: bool = False) -> dict[str, Any] | None:
    """Run one schedule now (or only if due), record the run, move ``next_run`` on."""
    now = now or utcnow()
    with database.transaction() as session:
        row = session.scalar(select(Schedule).where(Schedule.name == name).with_for_update())
        if row is None:
            raise NotFoundError(f"no schedule {name!r}")
        if due_only and (row.paused or row.next_run > now):
            return None
        kind, site, params, sid = row.kind, row.site, dict(row.params), row.id
        row.next_run = max(row.next_run, now) + timedelta(hours=row.every_hours)
    started = utcnow()
    try:
        counts, status, error = _execute(database, kind, site, params, send), "ok", None
    except Exception as exc:  # recorded as the run's error; the schedule keeps going
        counts, status, error = {}, "failed", f"{type(exc).__name__}: {exc}"
    with database.transaction() as session:
        session.add(ScheduleRun(schedule_id=sid, started=started, finished=utcnow(), status=status,
                                counts=counts, error=error))
    return {"name": name, "status": status, "counts": counts, "error": error}


def tick(database: Database, send: Callable[[dict[str, Any]], None] | None = None,
         now: datetime | None = None) -> list[dict[str, Any]]:
    """Run every due, unpaused schedule once."""
    now = now or utcnow()
    with database.read() as session:
        names = list(session.scalars(select(Schedule.name).where(Schedule.paused.is_(False),
                                                                 Schedule.next_run <= now)))
    return [r for n in names if (r := run_schedule(database, n, send, now, due_only=True)) is not None]
