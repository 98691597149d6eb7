"""The read side of the sensor fleet: which sensors collect evidence for which site, and when each
last reported.

Sensors are discovery's collectors, so their records are read here, at the sources stage: the
silent-sensor check (``RG-SENSOR-SILENT``) and the fleet pages call these functions, while
:mod:`radguard.distributed` (which runs jobs and assessments) writes the records.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from radguard.db.models.sensors import Schedule, ScheduleRun, Sensor, SensorJob
from radguard.inventory.scope import SiteScope

DEFAULT_FAILING_RUNS = 3


def sensor_rows(session: Session, *, scope: SiteScope = None) -> list[dict[str, Any]]:
    """Every sensor with what the fleet page shows; ``waiting`` is its site's jobs not yet answered.

    :param scope: the sites the caller may see (:mod:`radguard.inventory.scope`): only their
        sensors (a sensor is enrolled for one site); None: all.
    """
    waiting = dict(session.execute(select(SensorJob.site, func.count()).where(SensorJob.status == "queued")
                                   .group_by(SensorJob.site)).all())
    stmt = select(Sensor).order_by(Sensor.site, Sensor.id)
    if scope is not None:
        stmt = stmt.where(Sensor.site.in_(sorted(scope)))
    rows = session.scalars(stmt).all()
    return [{"id": s.id, "site": s.site, "enrolled_at": s.enrolled_at, "revoked_at": s.revoked_at,
             "last_seen": s.last_seen, "version": s.version, "clock_skew": s.clock_skew,
             "last_job": s.last_job, "last_status": s.last_status, "waiting": int(waiting.get(s.site, 0))}
            for s in rows]


def job_rows(session: Session, limit: int = 200, *, scope: SiteScope = None) -> list[dict[str, Any]]:
    """The newest jobs, newest first.

    :param limit: at most this many.
    :param scope: the sites the caller may see: only jobs sent to their queues; None: all.
    """
    stmt = select(SensorJob).order_by(SensorJob.created.desc()).limit(limit)
    if scope is not None:
        stmt = stmt.where(SensorJob.site.in_(sorted(scope)))
    rows = session.scalars(stmt).all()
    return [{"id": j.id, "site": j.site, "kind": j.kind, "status": j.status, "reason": j.reason,
             "sensor_id": j.sensor_id, "attempts": j.attempts, "created": j.created, "finished": j.finished,
             "counts": dict(j.counts or {}), "request": dict(j.request)} for j in rows]


def job_states(session: Session, job_ids: list[str]) -> dict[str, dict[str, Any]]:
    """How each of ``job_ids`` stands now (status, reason, attempts, finished): a schedule's run
    records the job it queued, and its history shows how that job ended."""
    if not job_ids:
        return {}
    rows = session.scalars(select(SensorJob).where(SensorJob.id.in_(sorted(set(job_ids))))).all()
    return {j.id: {"id": j.id, "status": j.status, "reason": j.reason, "attempts": j.attempts,
                   "finished": j.finished} for j in rows}


def silent_sensors(session: Session, now: datetime, hours: int) -> list[dict[str, Any]]:
    """Unrevoked sensors with no result for ``hours`` (those never heard from count from enrolment)."""
    limit = now - timedelta(hours=hours)
    return [r for r in sensor_rows(session)
            if r["revoked_at"] is None and (r["last_seen"] or r["enrolled_at"]) < limit]


def _run_error(run: ScheduleRun, jobs: dict[str, dict[str, Any]]) -> str | None:
    """A run's error, or its job's reason when the job failed or was refused; None if it went well."""
    if run.status == "failed":
        return run.error or "failed"
    job = jobs.get(str((run.counts or {}).get("job_id")))
    if job is not None and job["status"] in ("failed", "refused"):
        return f"job {job['status']}: {job['reason'] or 'no reason given'}"
    return None


def failing_schedules(session: Session, runs: int = DEFAULT_FAILING_RUNS) -> list[dict[str, Any]]:
    """Unpaused schedules whose last ``runs`` runs all failed, with the newest error.

    A run that queued a sensor job counts as failed when that job ended ``failed`` or
    ``refused`` (its error is then the job's reason): the run itself only queued it, and a
    discover schedule whose every job fails on the sensor or at ingest keeps failing too.

    The fleet's schedules are read here, beside the sensors, so the ``RG-SCHEDULE-FAILING``
    check (checks stage) can call it without importing :mod:`radguard.distributed`, which writes
    the runs; ``radguard.distributed.schedules.failing_schedules`` is this same function.

    :param runs: how many failed runs in a row make a schedule "failing" (at least 1).
    """
    runs = max(1, int(runs))
    out: list[dict[str, Any]] = []
    for s in session.scalars(select(Schedule).where(Schedule.paused.is_(False)).order_by(Schedule.name)):
        last = session.scalars(select(ScheduleRun).where(ScheduleRun.schedule_id == s.id)
                               .order_by(ScheduleRun.id.desc()).limit(runs)).all()
        jobs = job_states(session, [str(r.counts["job_id"]) for r in last if (r.counts or {}).get("job_id")])
        errors = [_run_error(r, jobs) for r in last]
        if len(last) == runs and all(errors):
            out.append({"name": s.name, "kind": s.kind, "site": s.site, "failed_runs": runs,
                        "last_error": errors[0], "last_finished": last[0].finished,
                        "first_failed": last[-1].started})
    return out
