"""Sensor checks and central ingest without a broker: local scope, signatures, idempotency (real PostgreSQL)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Asset, Site
from radguard.db.models.sensors import SensorJob
from radguard.db.session import Database
from radguard.discovery.scope import load_scope
from radguard.distributed.central import create_job, enroll, ingest, revoke
from radguard.distributed.sensor import SensorRuntime, run_job
from radguard.distributed.signing import ForgedResultError, new_credentials
from radguard.distributed.spool import Spool
from tests.distributed.conftest import write_scope
from tests.support.peers import Peer, pynetdicom_scp


@pytest.fixture(scope="module")
def scp() -> Peer:
    with pynetdicom_scp(required_calling=()) as peer:
        yield peer  # type: ignore[misc]


def _runtime(tmp_path: Path, creds: object, targets: list[str], **kw: object) -> SensorRuntime:
    scope = load_scope(write_scope(tmp_path / "scope.yaml", targets, **kw))  # type: ignore[arg-type]
    return SensorRuntime(creds, scope, Spool(tmp_path / "spool"))  # type: ignore[arg-type]


def _evidence(db: Database) -> list[tuple[str | None, int | None, str | None, str | None]]:
    with db.read() as s:
        return [tuple(r) for r in s.execute(select(Evidence.host, Evidence.port, Evidence.sensor_id,
                                                   Evidence.job_id).order_by(Evidence.id))]  # type: ignore[misc]


def test_result_ingested_once_with_sensor_and_site(pg_db: Database, tmp_path: Path, scp: Peer) -> None:
    creds = enroll(pg_db, "NORTH")
    runtime = _runtime(tmp_path, creds, [f"{scp.host}/32"])
    job = create_job(pg_db, "NORTH", [scp.host], [scp.dicom_port], level=2)
    envelope = run_job(runtime, job)
    assert envelope["body"]["status"] == "done"
    first = ingest(pg_db, envelope, run_assessment=True)
    assert first["status"] == "ingested"
    rows = _evidence(pg_db)
    assert rows == [(scp.host, scp.dicom_port, creds.sensor_id, job["job_id"])]
    with pg_db.read() as s:
        site = s.scalar(select(Site.code).join(Asset, Asset.site_id == Site.id))
    assert site == "NORTH"
    # a replay (the same signed envelope again) and a redelivery of a fresh run change nothing
    assert ingest(pg_db, envelope)["status"] == "duplicate"
    assert ingest(pg_db, run_job(runtime, job))["status"] == "duplicate"
    assert _evidence(pg_db) == rows


def test_job_asking_more_than_local_scope_is_refused_and_logged(pg_db: Database, tmp_path: Path, scp: Peer) -> None:
    creds = enroll(pg_db, "NORTH")
    runtime = _runtime(tmp_path, creds, ["127.0.0.1/32"], max_level=1, exclude=[f"127.0.0.1:{scp.dicom_port}"])
    cases = {
        "level": create_job(pg_db, "NORTH", ["127.0.0.1"], [scp.dicom_port], level=2),
        "target": create_job(pg_db, "NORTH", ["127.0.0.9"], [scp.dicom_port], level=1),
        "rate": create_job(pg_db, "NORTH", ["127.0.0.1"], [scp.dicom_port], level=1, rate=500),
    }
    for job in cases.values():
        envelope = run_job(runtime, job)
        assert envelope["body"]["status"] == "refused"
        assert ingest(pg_db, envelope)["status"] == "refused"
    excluded = run_job(runtime, create_job(pg_db, "NORTH", ["127.0.0.1"], [scp.dicom_port], level=1))
    assert excluded["body"]["endpoints"] == [] and excluded["body"]["skipped"]  # never contacted
    logged = [json.loads(line) for line in runtime.refusal_log.read_text().splitlines()]
    assert [entry["job_id"] for entry in logged] == [j["job_id"] for j in cases.values()]
    assert "max_level 1" in logged[0]["reason"] and "not covered" in logged[1]["reason"]
    assert "cap" in logged[2]["reason"]
    assert _evidence(pg_db) == []
    with pg_db.read() as s:
        reasons = {j.id: j.reason for j in s.scalars(select(SensorJob))}
    assert "max_level" in (reasons[cases["level"]["job_id"]] or "")


def test_forged_foreign_and_revoked_results_are_refused(pg_db: Database, tmp_path: Path, scp: Peer) -> None:
    north = enroll(pg_db, "NORTH")
    south = enroll(pg_db, "SOUTH")
    job = create_job(pg_db, "NORTH", [scp.host], [scp.dicom_port], level=1)
    good = run_job(_runtime(tmp_path, north, [f"{scp.host}/32"]), job)
    # signed with another key but claiming to be the NORTH sensor
    impostor = new_credentials("NORTH").__class__(north.sensor_id, "NORTH", new_credentials("NORTH").private_key)
    with pytest.raises(ForgedResultError, match="signature"):
        ingest(pg_db, impostor.sign(good["body"]))
    # a tampered body under a valid signature
    tampered = dict(good, body=dict(good["body"], endpoints=[]))
    with pytest.raises(ForgedResultError, match="signature"):
        ingest(pg_db, tampered)
    # the SOUTH sensor answering a NORTH job
    south_dir = tmp_path / "south"
    south_dir.mkdir()
    with pytest.raises(ForgedResultError, match="site"):
        ingest(pg_db, south.sign(dict(good["body"], sensor_id=south.sensor_id, site="SOUTH")))
    # an endpoint outside the job's targets
    body = json.loads(json.dumps(good["body"]))
    body["endpoints"][0]["doc"]["host"] = "127.0.0.77"
    with pytest.raises(ForgedResultError, match="outside"):
        ingest(pg_db, north.sign(body))
    revoke(pg_db, north.sensor_id)
    with pytest.raises(ForgedResultError, match="revoked"):
        ingest(pg_db, good)
    with pg_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Evidence)) == 0


def test_silent_sensor_is_a_finding_until_it_reports(pg_db: Database, tmp_path: Path, scp: Peer) -> None:
    from datetime import timedelta

    from radguard.db.base import utcnow
    from radguard.db.models.findings import Finding
    from radguard.readiness.dashboard import assess

    creds = enroll(pg_db, "NORTH")
    later = utcnow() + timedelta(hours=49)
    with pg_db.transaction() as s:
        assess(s, now=later)
    with pg_db.read() as s:
        silent = select(Finding).where(Finding.check_id == "RG-SENSOR-SILENT")
        open_ = [(f.check_id, f.state) for f in s.scalars(silent)]
    assert open_ == [("RG-SENSOR-SILENT", "open")]
    runtime = _runtime(tmp_path, creds, [f"{scp.host}/32"])
    ingest(pg_db, run_job(runtime, create_job(pg_db, "NORTH", [scp.host], [scp.dicom_port], level=1)))
    with pg_db.transaction() as s:
        assess(s)
    with pg_db.read() as s:
        statuses = [f.state for f in s.scalars(select(Finding).where(Finding.check_id == "RG-SENSOR-SILENT"))]
    assert statuses and "open" not in statuses
