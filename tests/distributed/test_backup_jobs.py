"""Nightly backup verification on a sensor: the sensor reads the copy (only inside its local
scope's backup_paths), central stores the verification once, with the sensor that read it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy import select

from radguard.backup.run import build_manifest
from radguard.backup.scan import ScanOptions
from radguard.backup.sets import BackupSetSpec, upsert_set
from radguard.db.models.backup import BackupVerification
from radguard.db.models.sensors import SensorJob
from radguard.db.session import Database
from radguard.discovery.scope import load_scope
from radguard.distributed.central import create_backup_job, enroll, ingest
from radguard.distributed.schedules import add_schedule, history, tick
from radguard.distributed.sensor import SensorRuntime, run_job
from radguard.distributed.spool import Spool
from tests.backup.archive import make_archive
from tests.distributed.conftest import write_scope


def _verifications(db: Database) -> list[tuple[Any, ...]]:
    with db.read() as s:
        return [(v.sensor_id, v.job_id, v.all_ok, v.files_checked, v.expected_instances)
                for v in s.scalars(select(BackupVerification).order_by(BackupVerification.id))]


def test_backup_schedule_runs_on_the_sensor_and_is_stored_once(pg_db: Database, tmp_path: Path) -> None:
    allowed = tmp_path / "pacs-backup"
    made = make_archive(allowed / "source", studies=2, series_per_study=1, per_series=2)
    shutil.copytree(allowed / "source", allowed / "copy")
    manifest = allowed / "source.radguard-manifest.jsonl"
    build_manifest(allowed / "source", manifest, ScanOptions(workers=1), state_directory=tmp_path / "state")
    with pg_db.transaction() as s:
        upsert_set(s, BackupSetSpec(name="north-nightly", protects="PACS", location="NAS", kind="local"))
    creds = enroll(pg_db, "NORTH")
    scope = load_scope(write_scope(tmp_path / "scope.yaml", ["127.0.0.1/32"], backup_paths=[str(allowed)]))
    runtime = SensorRuntime(creds, scope, Spool(tmp_path / "spool"))

    add_schedule(pg_db, "north-backup", "backup", 24, "NORTH",
                 {"set": "north-nightly", "backup": str(allowed / "copy"), "manifest": str(manifest)})
    sent: list[dict[str, Any]] = []
    assert [r["status"] for r in tick(pg_db, sent.append)] == ["ok"]
    [job] = sent
    assert job["kind"] == "backup" and job["site"] == "NORTH"
    envelope = run_job(runtime, job)
    assert envelope["body"]["status"] == "done"
    assert "copy" not in json.dumps(envelope["body"]["verification"])  # counts and times, no paths
    assert ingest(pg_db, envelope)["status"] == "ingested"
    stored = _verifications(pg_db)
    assert stored == [(creds.sensor_id, job["job_id"], True, len(made), len(made))]
    assert ingest(pg_db, envelope)["status"] == "duplicate" and _verifications(pg_db) == stored
    assert history(pg_db, "north-backup")[0]["counts"]["job_id"] == job["job_id"]

    # a damaged copy is verified as not ok
    victim = next(p for p in (allowed / "copy").rglob("*") if p.is_file())
    victim.write_bytes(b"\0" * 64)
    damaged = create_backup_job(pg_db, "NORTH", "north-nightly", str(allowed / "copy"), str(manifest))
    assert ingest(pg_db, run_job(runtime, damaged))["counts"]["all_ok"] is False

    # outside backup_paths (directly, or through a symbolic link inside them): refused before reading, logged
    outside = tmp_path / "elsewhere"
    shutil.copytree(allowed / "source", outside)
    (allowed / "link").symlink_to(outside)
    for path in (outside, allowed / "link"):
        job = create_backup_job(pg_db, "NORTH", "north-nightly", str(path), str(manifest))
        refused = run_job(runtime, job)
        assert refused["body"]["status"] == "refused" and "backup_paths" in refused["body"]["reason"]
        assert ingest(pg_db, refused)["status"] == "refused"
    logged = [json.loads(line)["job_id"] for line in runtime.refusal_log.read_text().splitlines()]
    assert len(logged) == 2
    # a missing copy fails the job with its reason, visible on the jobs list
    gone = create_backup_job(pg_db, "NORTH", "north-nightly", str(allowed / "missing"), str(manifest))
    assert ingest(pg_db, run_job(runtime, gone))["status"] == "failed"
    with pg_db.read() as s:
        row = s.get(SensorJob, gone["job_id"])
        assert row is not None and row.reason and "missing" in row.reason
    assert len(_verifications(pg_db)) == 2
