"""The sensor side: check a job against the LOCAL scope, run discovery, sign and send the result.

The local scope file is the final authority. Whatever central asks, a job is run only when its
site is this sensor's site, the scope's window is open (and no probe starts after it closes: a run
still going then stops cleanly and is reported ``partial``), its level is at or below the scope's
max_level, every target is covered by the scope's targets, and its rate is within the sensor's
cap; the scope's exclusions (the segment's do-not-scan list) are never contacted. Anything else
is refused before a packet is sent, written to the local refusal log, and reported to central as
``refused`` with the reason.

A ``backup`` job (backup verification of an archive copy the sensor can read) is run only when
the backup folder and the manifest both lie inside one of the scope's ``backup_paths`` (after
resolving symbolic links) and the window is open; central receives counts and timings only.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from celery import Celery

import radguard
from radguard.db.base import utcnow
from radguard.discovery.engine import ScanOptions, run_scan
from radguard.discovery.limits import Deadline
from radguard.discovery.merge import sort_results
from radguard.discovery.run import DiscoveryRequest, Plan, _refuse_unresolved
from radguard.discovery.scope import Scope, authorize
from radguard.discovery.targets import Exclusions, Resolver, parse_targets
from radguard.distributed.broker import CENTRAL_QUEUE, DISCOVER_TASK, INGEST_TASK, RetryPolicy, make_app
from radguard.distributed.signing import SensorCredentials
from radguard.distributed.spool import Spool
from radguard.errors import RadguardError, SafetyError
from radguard.wording import plural

log = logging.getLogger("radguard.sensor")


@dataclass
class SensorRuntime:
    credentials: SensorCredentials
    scope: Scope
    spool: Spool
    max_rate: float = 50.0
    timeout: float = 2.0

    @property
    def refusal_log(self) -> Path:
        return self.spool.directory.parent / "refused.jsonl"


def check_job(runtime: SensorRuntime, job: dict[str, Any], now: datetime | None = None) -> Plan:
    """Authorize ``job`` against the local scope; raise SafetyError (nothing sent) when it asks more."""
    creds, scope = runtime.credentials, runtime.scope
    if job.get("site") != creds.site:
        raise SafetyError(f"job {job.get('job_id')!r} is for site {job.get('site')!r}; this sensor serves "
                          f"{creds.site!r}")
    if job.get("kind") != "discover":
        raise SafetyError(f"job kind {job.get('kind')!r} is not one this sensor runs")
    level, rate = int(job.get("level", 2)), float(job.get("rate", runtime.max_rate))
    if rate > runtime.max_rate:
        raise SafetyError(f"job rate {rate:g}/s is above this sensor's cap {runtime.max_rate:g}/s")
    targets = parse_targets([str(t) for t in job.get("targets", [])])
    if not targets:
        raise SafetyError("the job names no targets")
    resolver = Resolver()
    authorize(scope, level, targets, now or utcnow(), resolver)
    exclusions = Exclusions(resolver)
    for t in scope.exclude:
        exclusions.add(t, f"excluded by the sensor's local scope ({t.spec})")
    ports = tuple(int(p) for p in job.get("ports", []))
    if not ports or any(not 0 < p < 65536 for p in ports):
        raise SafetyError("the job's ports must be 1-65535")
    _refuse_unresolved(exclusions, targets, ports)
    options = ScanOptions(level=level, rate=rate, timeout=runtime.timeout, concurrency=32)
    request = DiscoveryRequest(targets=[t.spec for t in targets], ports=ports, level=level, options=options,
                               site=creds.site)
    total = sum(t.size * (1 if t.port is not None else len(ports)) for t in targets)
    return Plan(request, targets, scope, exclusions, total)


def _inside(path: Path, roots: list[str]) -> bool:
    resolved = path.resolve()
    return any(resolved.is_relative_to(Path(root).resolve()) for root in roots)


def check_backup_job(runtime: SensorRuntime, job: dict[str, Any], now: datetime) -> tuple[Path, Path]:
    """Authorize a backup verification job against the local scope; the (backup, manifest) paths."""
    creds, doc = runtime.credentials, runtime.scope.doc
    if job.get("site") != creds.site:
        raise SafetyError(f"job {job.get('job_id')!r} is for site {job.get('site')!r}; this sensor serves "
                          f"{creds.site!r}")
    if not doc.window.start <= now <= doc.window.end:
        raise SafetyError(f"{runtime.scope.path}: outside the authorized window "
                          f"({doc.window.start.isoformat()} to {doc.window.end.isoformat()})")
    if not doc.backup_paths:
        raise SafetyError(f"{runtime.scope.path}: this sensor's scope allows no backup verification "
                          "(add backup_paths)")
    backup, manifest = Path(str(job.get("backup") or "")), Path(str(job.get("manifest") or ""))
    for label, path in (("backup", backup), ("manifest", manifest)):
        if not path.is_absolute() or not _inside(path, doc.backup_paths):
            raise SafetyError(f"{runtime.scope.path}: the job's {label} {str(path)!r} is not inside the scope's "
                              f"backup_paths ({', '.join(doc.backup_paths)})")
    return backup, manifest


def _run_backup(runtime: SensorRuntime, job: dict[str, Any], backup: Path, manifest: Path) -> dict[str, Any]:
    """Verify the copy; the body fields for central (counts and timings, no paths of items)."""
    from radguard.backup.run import verification_fields, verify_backup
    from radguard.backup.scan import ScanOptions as BackupScanOptions

    run = verify_backup(backup, manifest, BackupScanOptions(), rto_hours=job.get("rto"), rpo_hours=job.get("rpo"),
                        state_directory=runtime.spool.directory.parent / "backup-state")
    try:
        return {"verification": verification_fields(run.report)}
    finally:
        run.close()


def _refuse(runtime: SensorRuntime, body: dict[str, Any], started: datetime, reason: str) -> None:
    log.warning("refused job %s: %s", body["job_id"], reason)
    with runtime.refusal_log.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps({"at": started.isoformat(), "job_id": body["job_id"], "reason": reason}) + "\n")
    body.update(status="refused", reason=reason, endpoints=[], skipped=[], level=None)


def _body(runtime: SensorRuntime, job: dict[str, Any], started: datetime, attempts: int) -> dict[str, Any]:
    return {"job_id": str(job.get("job_id")), "site": runtime.credentials.site,
            "sensor_id": runtime.credentials.sensor_id, "version": radguard.__version__,
            "started": started.isoformat(), "attempts": attempts}


def failed_result(runtime: SensorRuntime, job: dict[str, Any], reason: str, attempts: int) -> dict[str, Any]:
    """The signed envelope of a job that failed on every try: no evidence, the reason and the tries."""
    now = utcnow()
    body = _body(runtime, job, now, attempts)
    body.update(status="failed", reason=reason, endpoints=[], skipped=[], level=None,
                finished=now.isoformat(), sent_at=time.time())
    return runtime.credentials.sign(body)


def run_job(runtime: SensorRuntime, job: dict[str, Any], attempts: int = 1) -> dict[str, Any]:
    """Run one job (or refuse it) and return the signed envelope for central.

    :param attempts: which try of the job this is (1 = the first); reported to central.
    """
    started = utcnow()
    body = _body(runtime, job, started, attempts)
    log.info("job %s received", body["job_id"])
    if job.get("kind") == "backup":
        try:
            backup, manifest = check_backup_job(runtime, job, started)
        except RadguardError as exc:
            _refuse(runtime, body, started, str(exc))
        else:
            try:
                body.update(status="done", reason=None, **_run_backup(runtime, job, backup, manifest))
            except RadguardError as exc:  # a missing folder, a bad manifest: the job fails with its reason
                body.update(status="failed", reason=str(exc))
        body["finished"] = utcnow().isoformat()
        body["sent_at"] = time.time()
        return runtime.credentials.sign(body)
    try:
        scan_plan = check_job(runtime, job, started)
    except RadguardError as exc:
        _refuse(runtime, body, started, str(exc))
    else:
        options = scan_plan.request.options
        options.pinned = scan_plan.pinned
        # the local scope's window is the final authority on "until when", whatever central's
        # schedule thinks: no probe starts after its end, and the result says what was left out
        end = runtime.scope.doc.window.end
        options.deadline = deadline = Deadline(end.timestamp())
        results = sort_results(run_scan(scan_plan.endpoints(), options))
        log.info("job %s: %d endpoint(s) probed", body["job_id"], len(results))
        status, reason = "done", None
        if deadline.not_started:
            status = "partial"
            reason = (f"{runtime.scope.path}: the authorized window closed at {end.isoformat()} during the run; "
                      f"{plural(len(results), 'endpoint')} probed, {deadline.not_started} of {scan_plan.total} "
                      "not started")
            log.warning("job %s: %s", body["job_id"], reason)
        body.update(status=status, reason=reason, not_probed=deadline.not_started, level=scan_plan.request.level,
                    targets=list(scan_plan.request.targets), ports=list(scan_plan.request.ports),
                    scope={"authorized_by": runtime.scope.doc.authorized_by, "reason": runtime.scope.doc.reason},
                    endpoints=[{"doc": p.doc.document(), "sent": p.sent} for p in results],
                    skipped=scan_plan.skipped)
    body["finished"] = utcnow().isoformat()
    body["sent_at"] = time.time()
    return runtime.credentials.sign(body)


def fresh(runtime: SensorRuntime, envelope: dict[str, Any]) -> dict[str, Any]:
    """``envelope`` re-signed with ``sent_at`` = now: central measures clock skew from the moment a
    result is really sent, so a result that waited in the spool does not look like a slow clock."""
    return runtime.credentials.sign({**envelope["body"], "sent_at": time.time()})


def deliver(app: Celery, runtime: SensorRuntime, envelope: dict[str, Any]) -> bool:
    """Send ``envelope`` to central, or spool it when the broker cannot take it; True when sent.

    Whatever was spooled before is sent first, so results arrive in the order they were made.
    """
    def send(env: dict[str, Any]) -> None:
        app.send_task(INGEST_TASK, args=[fresh(runtime, env)], queue=CENTRAL_QUEUE, retry=False)

    try:
        runtime.spool.flush(send)
        send(envelope)
        return True
    except Exception as exc:
        log.warning("broker unreachable (%s); result of job %s spooled", exc, envelope["body"].get("job_id"))
        runtime.spool.put(str(envelope["body"].get("job_id")), envelope)
        return False


def sensor_app(broker_url: str, runtime: SensorRuntime, ca_file: Path | None = None,
               retry: RetryPolicy | None = None) -> Celery:
    """The sensor's Celery app: one task, consuming its site's queue.

    A job whose discovery raises (not a refusal: the local scope's refusals are final) is tried
    again with ``retry``'s backoff; after its last retry central receives it as ``failed`` with
    the error and the number of attempts, so it never stays "queued" for ever.
    """
    app = make_app(broker_url, ca_file, name=f"radguard-sensor-{runtime.credentials.sensor_id}")
    app.conf.broker_connection_timeout = 3
    policy = retry or RetryPolicy()

    @app.task(name=DISCOVER_TASK, bind=True, acks_late=True, reject_on_worker_lost=True)
    def discover(self: Any, job: dict[str, Any]) -> str:
        retries = int(self.request.retries or 0)
        try:
            envelope = run_job(runtime, job, attempts=retries + 1)
        except Exception as exc:
            fault = f"{type(exc).__name__}: {exc}"
            if retries < policy.max_retries:
                log.warning("job %s: attempt %d failed (%s); retry in %d s", job.get("job_id"), retries + 1,
                            fault, policy.countdown(retries))
                raise self.retry(exc=exc, countdown=policy.countdown(retries), max_retries=policy.max_retries) from exc
            reason = f"the job failed on the sensor after {plural(retries + 1, 'attempt')}: {fault}"
            log.error("job %s: %s", job.get("job_id"), reason)
            envelope = failed_result(runtime, job, reason, retries + 1)
        deliver(app, runtime, envelope)
        return str(envelope["body"]["status"])

    return app


def flush_loop(app: Celery, runtime: SensorRuntime, interval: float = 5.0) -> None:
    """Keep trying to send spooled results (a background thread of ``sensor run``)."""
    def send(env: dict[str, Any]) -> None:
        app.send_task(INGEST_TASK, args=[fresh(runtime, env)], queue=CENTRAL_QUEUE, retry=False)

    while True:
        time.sleep(interval)
        if runtime.spool.pending():
            try:
                sent = runtime.spool.flush(send)
                log.info("sent %d spooled result(s)", sent)
            except Exception as exc:
                log.info("spool not sent yet: %s", exc)
