"""The central side: enrol and revoke sensors, send jobs, verify and ingest results once.

Ingest is idempotent: a job's result is stored the first time it verifies; a redelivered or
replayed copy finds the job already ``ingested`` (and the unique evidence key job/host/port
would refuse a second copy anyway), so evidence and findings are never duplicated.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from celery import Celery
from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from radguard.db.base import utcnow
from radguard.db.models.discovery import Scan
from radguard.db.models.evidence import Evidence
from radguard.db.models.sensors import Sensor, SensorJob
from radguard.db.session import Database, database_error
from radguard.discovery.engine import Probed
from radguard.discovery.merge import store_scan
from radguard.discovery.results import EndpointDoc
from radguard.discovery.scope import covered
from radguard.discovery.sensors import job_rows, sensor_rows
from radguard.discovery.targets import Resolver, parse_target, parse_targets
from radguard.distributed.broker import DISCOVER_TASK, INGEST_TASK, RetryPolicy, make_app, site_queue
from radguard.distributed.signing import ForgedResultError, SensorCredentials, new_credentials, verify
from radguard.errors import DatabaseError, NotFoundError, RadguardError
from radguard.readiness.dashboard import assess
from radguard.wording import plural

log = logging.getLogger("radguard.central")


def enroll(database: Database, site: str) -> SensorCredentials:
    """Create a sensor for ``site``; central stores its public key, the caller hands out the rest."""
    creds = new_credentials(site)
    with database.transaction() as session:
        session.add(Sensor(id=creds.sensor_id, site=site, public_key=creds.public_key(), enrolled_at=utcnow()))
    return creds


def revoke_sensor(session: Session, sensor_id: str) -> None:
    """Revoke a sensor inside the caller's transaction: every later result it signs is refused."""
    sensor = session.get(Sensor, sensor_id)
    if sensor is None:
        raise NotFoundError(f"no sensor {sensor_id!r}; `radguard sensor list` shows them")
    if sensor.revoked_at is None:
        sensor.revoked_at = utcnow()


def revoke(database: Database, sensor_id: str) -> None:
    """Revoke a sensor (its own transaction)."""
    with database.transaction() as session:
        revoke_sensor(session, sensor_id)


def list_sensors(database: Database) -> list[dict[str, Any]]:
    """:func:`sensor_rows` in a read session."""
    with database.read() as session:
        return sensor_rows(session)


def list_jobs(database: Database, limit: int = 200) -> list[dict[str, Any]]:
    """:func:`job_rows` in a read session."""
    with database.read() as session:
        return job_rows(session, limit)


def create_job(database: Database, site: str, targets: list[str], ports: list[int], level: int,
               rate: float = 20.0) -> dict[str, Any]:
    """Record a discovery job for ``site``; returns the job document a sensor receives."""
    parse_targets(targets)  # a bad target is the caller's error, before anything is queued
    job = {"job_id": "job-" + uuid.uuid4().hex, "site": site, "kind": "discover", "targets": list(targets),
           "ports": [int(p) for p in ports], "level": int(level), "rate": float(rate)}
    with database.transaction() as session:
        session.add(SensorJob(id=job["job_id"], site=site, kind="discover", request=job, status="queued",
                              attempts=0, created=utcnow(), counts={}))
    return job


def create_backup_job(database: Database, site: str, set_name: str, backup: str, manifest: str,
                      rto: float | None = None, rpo: float | None = None) -> dict[str, Any]:
    """Record a backup verification job: ``site``'s sensor reads ``backup`` against ``manifest``
    (paths on the sensor, which its local scope's ``backup_paths`` must cover) and sends back the
    verification of backup set ``set_name``. RTO/RPO default to those of the imaging services
    that depend on the set's archive, as for ``radguard backup verify --set``."""
    from radguard.backup.sets import get_set, service_targets

    with database.read() as session:
        row = get_set(session, set_name)
        svc_rto, svc_rpo, _source = service_targets(session, row)
    job = {"job_id": "job-" + uuid.uuid4().hex, "site": site, "kind": "backup", "set": set_name,
           "backup": str(backup), "manifest": str(manifest),
           "rto": rto if rto is not None else svc_rto, "rpo": rpo if rpo is not None else svc_rpo}
    with database.transaction() as session:
        session.add(SensorJob(id=job["job_id"], site=site, kind="backup", request=job, status="queued",
                              attempts=0, created=utcnow(), counts={}))
    return job


def send_job(app: Celery, job: dict[str, Any]) -> None:
    """Put ``job`` on its site's queue."""
    app.send_task(DISCOVER_TASK, args=[job], queue=site_queue(str(job["site"])))


# A job in one of these has its result stored: a redelivered copy is a duplicate.
STORED = ("ingested", "partial")


def _record(database: Database, job_id: str, status: str, reason: str | None, sensor_id: str | None,
            attempts: int | None = None) -> None:
    with database.transaction() as session:
        job = session.get(SensorJob, job_id)
        if job is not None and job.status not in STORED:
            job.status, job.reason, job.finished = status, reason, utcnow()
            job.sensor_id = sensor_id or job.sensor_id
            if attempts is not None:
                job.attempts = attempts


def _attempts(body: dict[str, Any], ingest_retries: int) -> int:
    """How often the job was tried: the sensor's runs (it retries a discovery that raised) plus
    the ingest's retries (a database or disk fault at central)."""
    sensor_runs = body.get("attempts")
    return (int(sensor_runs) if isinstance(sensor_runs, int) and sensor_runs > 0 else 1) + max(0, ingest_retries)


def ingest(database: Database, envelope: Any, run_assessment: bool = True,
           measure_skew: bool = True, ingest_retries: int = 0) -> dict[str, Any]:
    """Verify one signed result and store it exactly once; returns what happened.

    ``measure_skew``: update the sensor's clock skew from the result's ``sent_at``; off for an
    ingest retried after a database outage, whose delay is not the sensor's clock.
    ``ingest_retries``: how many earlier tries of this ingest failed (recorded in the job's
    ``attempts`` with the sensor's own tries).

    Refused (ForgedResultError, nothing stored but the refusal on the job): an unknown or revoked
    sensor, a bad signature, a body naming another sensor, a job of another site, an endpoint
    outside the job's targets.
    """
    sensor_id = envelope.get("sensor_id") if isinstance(envelope, dict) else None
    with database.read() as session:
        sensor = session.get(Sensor, str(sensor_id)) if sensor_id else None
        key, revoked, site = (sensor.public_key, sensor.revoked_at, sensor.site) if sensor else (None, None, None)
    if key is None:
        raise ForgedResultError(f"result from unknown sensor {sensor_id!r}; nothing was ingested")
    body = verify(envelope, key)  # before anything in the body is trusted
    if revoked is not None:
        raise ForgedResultError(f"sensor {sensor_id} was revoked at {revoked.isoformat()}; its result was refused")
    job_id = str(body.get("job_id"))
    if body.get("sensor_id") != sensor_id:
        raise ForgedResultError(f"result signed by {sensor_id} claims sensor {body.get('sensor_id')!r}; refused")
    with database.read() as session:
        job = session.get(SensorJob, job_id)
        if job is None:
            raise ForgedResultError(f"result for unknown job {job_id!r}; refused")
        job_site, job_status, request, job_kind = job.site, job.status, dict(job.request), job.kind
    if job_site != site or body.get("site") != site:
        _record(database, job_id, "failed", f"sensor {sensor_id} of site {site} answered a job of site {job_site}",
                None)
        raise ForgedResultError(f"sensor {sensor_id} serves site {site}; job {job_id} is for site {job_site}")
    if job_status in STORED:
        return {"job_id": job_id, "status": "duplicate"}
    # the skew is taken now, before the ingest's own database work (seconds with the assessment),
    # which is not the sensor's clock either
    skew = _skew(body) if measure_skew else _KEEP
    if job_kind == "backup":
        return _ingest_backup(database, body, request, str(sensor_id), run_assessment, skew,
                              _attempts(body, ingest_retries))
    allowed = parse_targets([str(t) for t in request.get("targets", [])])
    resolver = Resolver()
    endpoints = body.get("endpoints") or []
    probed: list[Probed] = []
    for item in endpoints:
        doc = EndpointDoc.model_validate(item["doc"])
        if not covered(parse_target(f"{doc.host}:{doc.port}" if ":" not in doc.host else f"[{doc.host}]:{doc.port}",
                                    "result"), allowed, resolver):
            _record(database, job_id, "failed", f"result names {doc.host}:{doc.port}, outside the job", sensor_id)
            raise ForgedResultError(f"sensor {sensor_id} sent {doc.host}:{doc.port}, outside job {job_id}'s targets")
        probed.append(Probed(doc, dict(item.get("sent") or {})))
    now = utcnow()
    status = str(body.get("status"))
    with database.transaction() as session:
        job = session.get(SensorJob, job_id, with_for_update=True)
        assert job is not None
        if job.status in STORED:
            return {"job_id": job_id, "status": "duplicate"}
        if status in ("refused", "failed"):  # refused by the local scope, or discovery failed on every try
            job.status, job.reason = status, str(body.get("reason"))
            counts: dict[str, Any] = {}
        else:
            scan = Scan(started=datetime.fromisoformat(body["started"]),
                        finished=datetime.fromisoformat(body["finished"]),
                        level=int(body.get("level") or request.get("level", 1)), targets=list(request["targets"]),
                        authorized_by=(body.get("scope") or {}).get("authorized_by"),
                        reason=(body.get("scope") or {}).get("reason"),
                        options={"ports": list(request.get("ports", [])), "rate": request.get("rate"),
                                 "site": site, "job_id": job_id},
                        sensor_id=sensor_id)
            store_scan(session, scan, probed, site, len(body.get("skipped") or []))
            session.execute(update(Evidence).where(Evidence.scan_id == scan.id)
                            .values(sensor_id=sensor_id, job_id=job_id))
            # partial: the sensor's window closed during the run; what it probed is stored
            job.status, job.scan_id = ("partial" if status == "partial" else "ingested"), scan.id
            job.reason = str(body.get("reason")) if status == "partial" else None
            counts = dict(scan.counts)
            if status == "partial":
                counts["not_probed"] = int(body.get("not_probed") or 0)
        job.sensor_id, job.finished, job.counts = sensor_id, now, counts
        job.attempts = _attempts(body, ingest_retries)
        _seen(session, str(sensor_id), body, job, now, skew)
        if run_assessment and job.status in STORED:
            assess(session, now=now)
    return {"job_id": job_id, "status": job.status, "counts": counts}


_KEEP = object()  # leave the sensor's clock skew as it is


def _skew(body: dict[str, Any]) -> float | None:
    """Sensor clock minus central clock, from the time the sensor signed the result."""
    return float(body["sent_at"]) - time.time() if isinstance(body.get("sent_at"), int | float) else None


def _seen(session: Session, sensor_id: str, body: dict[str, Any], job: SensorJob, now: datetime,
          skew: float | object | None) -> None:
    sensor = session.get(Sensor, sensor_id)
    assert sensor is not None
    sensor.last_seen, sensor.version = now, str(body.get("version"))
    if skew is not _KEEP:
        sensor.clock_skew = skew if isinstance(skew, float) else None
    sensor.last_job, sensor.last_status = job.id, job.status


def _ingest_backup(database: Database, body: dict[str, Any], request: dict[str, Any], sensor_id: str,
                   run_assessment: bool, skew: float | object | None, attempts: int) -> dict[str, Any]:
    """Store a sensor's backup verification once (the job row is locked and marked ingested)."""
    from radguard.backup.sets import get_set, store_verification

    job_id, now = str(body.get("job_id")), utcnow()
    with database.transaction() as session:
        job = session.get(SensorJob, job_id, with_for_update=True)
        assert job is not None
        if job.status == "ingested":
            return {"job_id": job_id, "status": "duplicate"}
        counts: dict[str, Any] = {}
        if body.get("status") == "refused":
            job.status, job.reason = "refused", str(body.get("reason"))
        elif body.get("status") == "failed":
            job.status, job.reason = "failed", str(body.get("reason"))
        else:
            try:
                run = store_verification(session, get_set(session, str(request["set"])),
                                         body.get("verification") or {}, sensor_id, job_id)
            except RadguardError as exc:  # a malformed result or a set deleted since: visible, not retried
                job.status, job.reason = "failed", f"result not stored: {exc}"
            else:
                job.status, job.reason = "ingested", None
                counts = {"files_checked": run.files_checked, "all_ok": run.all_ok}
        job.sensor_id, job.finished, job.counts = sensor_id, now, counts
        job.attempts = attempts
        _seen(session, sensor_id, body, job, now, skew)
        if run_assessment and job.status == "ingested":
            assess(session, now=now)
        return {"job_id": job_id, "status": job.status, "counts": counts}


def _fault(exc: BaseException, database: Database) -> str:
    """A failed ingest's reason for people: database errors without SQL text or parameters."""
    if isinstance(exc, SQLAlchemyError):
        return str(database_error(exc, database.safe_url, database.wait))
    return f"{type(exc).__name__}: {exc}"


def central_app(broker_url: str, database: Database, ca_file: Path | None = None,
                assess_after: bool = True, retry: RetryPolicy | None = None) -> Celery:
    """The central worker's app: ingests results, retried with backoff while the database (or its
    disk) is away; after ``retry.max_retries`` retries the job is recorded as failed with the reason
    and the number of attempts.
    """
    app = make_app(broker_url, ca_file, name="radguard-central")
    policy = retry or RetryPolicy()

    @app.task(name=INGEST_TASK, bind=True, acks_late=True, reject_on_worker_lost=True,
              autoretry_for=(DatabaseError, SQLAlchemyError, OSError), **policy.task_options())
    def ingest_task(self: Any, envelope: dict[str, Any]) -> str:
        retries = int(self.request.retries or 0)
        try:
            return str(ingest(database, envelope, run_assessment=assess_after,
                              measure_skew=retries == 0, ingest_retries=retries)["status"])
        except ForgedResultError as exc:
            log.warning("refused result: %s", exc)
            return "forged"
        except (DatabaseError, SQLAlchemyError, OSError) as exc:
            body = envelope.get("body") if isinstance(envelope, dict) else None
            body = body if isinstance(body, dict) else {}
            job_id, attempts = str(body.get("job_id")), _attempts(body, retries)
            if retries >= policy.max_retries:
                reason = f"ingest failed after {plural(attempts, 'attempt')}: {_fault(exc, database)}"
                log.error("job %s: %s", job_id, reason)
                with contextlib.suppress(DatabaseError, SQLAlchemyError):
                    _record(database, job_id, "failed", reason, None, attempts)
            else:
                log.warning("job %s: ingest attempt %d failed (%s); retry in %d s", job_id, attempts,
                            _fault(exc, database), policy.countdown(retries))
            raise

    return app
