"""A job whose ingest fails on every try ends as failed, with its reason and its attempts, on the
schedule's run history (CLI and web) and the jobs list; one that fails once ends ingested with one
retry recorded. Real parts: the sensor and central worker processes, TLS Redis, PostgreSQL; the
fault is a PostgreSQL trigger refusing evidence inserts (tests/distributed/fleet_procs.py).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from radguard.backup.run import build_manifest
from radguard.backup.scan import ScanOptions
from radguard.backup.sets import BackupSetSpec, upsert_set
from radguard.db.models.evidence import Evidence
from radguard.db.session import Database
from radguard.distributed.broker import RetryPolicy, make_app
from radguard.distributed.central import create_backup_job, send_job
from radguard.distributed.schedules import add_schedule
from radguard.errors import InputError
from radguard.web.accounts import create_user
from radguard.web.app import create_app
from tests.backup.archive import make_archive
from tests.conftest import CliResult
from tests.distributed.conftest import write_scope
from tests.distributed.fleet_procs import Site, fail_evidence_inserts, fault_tries, running_site
from tests.support.redis import RedisBroker
from tests.web.conftest import login

FAULT = "the evidence volume is unavailable (test fault)"


@pytest.fixture
def site(tmp_path: Path, pg_db: Database, broker: RedisBroker) -> Iterator[Site]:
    # no assessment after ingest (not this test's subject, seconds per ingest); a long visibility
    # timeout, so no try is ever handed out twice and the number of tries is exact
    with running_site(tmp_path, pg_db, broker, "--max-retries", "2", "--retry-backoff-max", "1", "--no-assess",
                      visibility_timeout=120) as s:
        yield s


def _run_now(rg: Callable[..., CliResult], site: Site, name: str) -> str:
    url = site.database.engine.url.render_as_string(hide_password=False)
    out = rg("--db", url, "schedule", "run-now", name, "--broker", site.broker.url(), "--broker-ca",
             str(site.broker.ca))
    assert out.code == 0, out.err
    return str(json.loads(out.out)["counts"]["job_id"])


def test_failing_ingest_ends_failed_with_reason_and_attempts(site: Site, pg_db: Database,
                                                            rg: Callable[..., CliResult]) -> None:
    url = pg_db.engine.url.render_as_string(hide_password=False)
    add_schedule(pg_db, "north-nightly", "discover", 24, "NORTH",
                 {"targets": ["127.0.0.1"], "ports": [site.node_port], "level": 2})
    fail_evidence_inserts(pg_db, 1000, FAULT)  # every try

    failed = _run_now(rg, site, "north-nightly")
    job = site.wait_finished(failed)
    assert job["status"] == "failed", job
    assert job["attempts"] == 3  # the first try and --max-retries 2
    assert fault_tries(pg_db) == 3  # the worker really tried three times
    assert job["reason"].startswith("ingest failed after 3 attempts: ") and FAULT in job["reason"]
    assert "INSERT" not in job["reason"] and "[SQL" not in job["reason"]
    with pg_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Evidence)) == 0

    history = json.loads(rg("--db", url, "schedule", "history", "north-nightly").out)
    assert history[0]["status"] == "ok"  # the run queued its job ...
    assert history[0]["job"]["status"] == "failed" and history[0]["job"]["attempts"] == 3  # ... which failed
    assert FAULT in history[0]["job"]["reason"]
    jobs = rg("--db", url, "sensor", "jobs")
    assert "failed after 3 attempts (2" in jobs.out and "retries)" in jobs.out

    # fails once, then the retry goes through: ingested, one retry recorded, evidence stored once
    fail_evidence_inserts(pg_db, 1, FAULT)
    recovered = _run_now(rg, site, "north-nightly")
    job = site.wait_finished(recovered)
    assert job["status"] == "ingested" and job["attempts"] == 2 and job["reason"] is None, job
    assert fault_tries(pg_db) == 5  # one failed try, one that passed the trigger
    with pg_db.read() as s:
        keys = s.execute(select(Evidence.host, Evidence.port).where(Evidence.job_id == recovered)).all()
    assert keys == [("127.0.0.1", site.node_port)]
    history = json.loads(rg("--db", url, "schedule", "history", "north-nightly").out)
    assert [(h["job"]["id"], h["job"]["status"], h["job"]["attempts"]) for h in history] == [
        (recovered, "ingested", 2), (failed, "failed", 3)]

    # the run history page says the same, in words
    with pg_db.transaction() as s:
        create_user(s, "viewer", "correct horse battery", "viewer")
    with TestClient(create_app(pg_db), base_url="https://testserver") as client:
        client.headers["accept"] = "text/html"
        page = login(client, "viewer", "correct horse battery").get("/schedules/north-nightly").text
        cells = re.findall(r'<td class="job">(.*?)</td>', page, re.S)
        assert cells[0].strip() == "ingested after 2 attempts (1 retry)"
        assert cells[1].strip().startswith("failed after 3 attempts (2 retries): ingest failed after 3 attempts: ")
        assert FAULT in cells[1]
        jobs_page = client.get("/sensors/jobs").text
        assert "failed after 3 attempts (2 retries)" in jobs_page and "ingested after 2 attempts (1 retry)" in jobs_page


def test_retry_policy_bounds() -> None:
    assert [RetryPolicy(8, 30).countdown(r) for r in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert RetryPolicy(0, 1).task_options()["max_retries"] == 0
    with pytest.raises(InputError, match="--max-retries"):
        RetryPolicy(-1, 30)
    with pytest.raises(InputError, match="--retry-backoff-max"):
        RetryPolicy(3, 0)


def test_job_failing_on_the_sensor_is_retried_there_then_failed(tmp_path: Path, pg_db: Database,
                                                                broker: RedisBroker) -> None:
    """The sensor's own retries: its backup-scan state cannot be written (a file where its state
    folder should be: a broken or full state disk), so every try raises on the sensor."""
    allowed = tmp_path / "pacs-backup"
    make_archive(allowed / "source", studies=1, series_per_study=1, per_series=2)
    shutil.copytree(allowed / "source", allowed / "copy")
    manifest = allowed / "source.radguard-manifest.jsonl"
    build_manifest(allowed / "source", manifest, ScanOptions(workers=1), state_directory=tmp_path / "state")
    with pg_db.transaction() as s:
        upsert_set(s, BackupSetSpec(name="north-nightly", protects="PACS", location="NAS", kind="local"))
    site = Site(tmp_path, pg_db, broker)
    site.scope = write_scope(tmp_path / "scope.yaml", ["127.0.0.1/32"], backup_paths=[str(allowed)])
    (tmp_path / "backup-state").write_text("not a folder")  # beside the spool: where the sensor keeps it
    try:
        site.start_sensor("--max-retries", "2", "--retry-backoff-max", "1")
        site.start_central("--no-assess", visibility_timeout=120)
        job = create_backup_job(pg_db, "NORTH", "north-nightly", str(allowed / "copy"), str(manifest))
        send_job(make_app(broker.url(), broker.ca), job)
        done = site.wait_finished(str(job["job_id"]))
    finally:
        site.stop()
    assert done["status"] == "failed" and done["attempts"] == 3, done
    assert done["reason"].startswith("the job failed on the sensor after 3 attempts: FileExistsError")
    assert site.log("sensor").count("retry in 1 s") == 2
