"""Schedules kept in the database: due runs, pause, run-now, history, failures recorded (real PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from radguard.db.base import utcnow
from radguard.db.session import Database
from radguard.distributed.central import list_jobs
from radguard.distributed.schedules import add_schedule, history, list_schedules, set_paused, tick


def test_due_paused_and_history(pg_db: Database, rg: Callable[..., Any]) -> None:
    sent: list[dict[str, Any]] = []
    add_schedule(pg_db, "north-weekly", "discover", 168, "NORTH", {"targets": ["127.0.0.1"], "ports": [104],
                                                                    "level": 1})
    add_schedule(pg_db, "assess-daily", "assess", 24)
    first = tick(pg_db, sent.append)
    assert sorted(r["name"] for r in first) == ["assess-daily", "north-weekly"]
    assert all(r["status"] == "ok" for r in first)
    assert [j["site"] for j in sent] == ["NORTH"] and list_jobs(pg_db)[0]["id"] == sent[0]["job_id"]
    assert tick(pg_db, sent.append) == []  # not due again for a day / a week
    nxt = {r["name"]: r["next_run"] for r in list_schedules(pg_db)}
    assert nxt["assess-daily"] > utcnow() + timedelta(hours=23)
    set_paused(pg_db, "assess-daily", True)
    assert nxt["assess-daily"] < utcnow() + timedelta(days=2)  # due then, but paused:
    assert tick(pg_db, sent.append, now=utcnow() + timedelta(days=2)) == []
    # a discover run without a broker fails, and the failure is kept in the history with its reason
    result = rg("--db", pg_db.url, "schedule", "run-now", "north-weekly")
    assert result.code == 1 and json.loads(result.out)["status"] == "failed"
    runs = history(pg_db, "north-weekly")
    assert runs[0]["status"] == "failed" and "broker" in runs[0]["error"]
    listed = rg("--db", pg_db.url, "schedule", "list", "--json")
    rows = {r["name"]: r for r in json.loads(listed.out)}
    assert rows["assess-daily"]["paused"] is True and rows["north-weekly"]["last_status"] == "failed"


def test_schedule_failing_again_and_again_is_a_finding(sqlite_db: Database) -> None:
    from sqlalchemy import select

    from radguard.db.models.findings import Finding
    from radguard.distributed.schedules import failing_schedules, run_schedule
    from radguard.readiness.dashboard import assess

    add_schedule(sqlite_db, "north-nightly", "discover", 24, "NORTH", {"targets": ["127.0.0.1"], "ports": [104]})

    def finding() -> list[tuple[str, str, Any]]:
        with sqlite_db.transaction() as s:
            assess(s)
        with sqlite_db.read() as s:
            rows = s.scalars(select(Finding).where(Finding.check_id == "RG-SCHEDULE-FAILING"))
            return [(f.subject, f.state, f.evidence) for f in rows]

    for _ in range(2):
        assert run_schedule(sqlite_db, "north-nightly")["status"] == "failed"  # type: ignore[index]
    with sqlite_db.read() as s:
        assert failing_schedules(s) == []  # two failures are not yet "keeps failing"
    assert finding() == []
    run_schedule(sqlite_db, "north-nightly")
    with sqlite_db.read() as s:
        failing = failing_schedules(s)
    assert [(r["name"], r["failed_runs"]) for r in failing] == [("north-nightly", 3)]
    assert "broker" in str(failing[0]["last_error"])
    [(subject, state, evidence)] = finding()
    assert subject == "schedule:north-nightly" and state == "open" and "broker" in evidence["last_error"]
    # the broker is back: one good run clears it
    sent: list[dict[str, Any]] = []
    assert run_schedule(sqlite_db, "north-nightly", sent.append)["status"] == "ok"  # type: ignore[index]
    assert [state for _s, state, _e in finding()] == ["mitigated"]


def test_schedule_whose_jobs_fail_on_the_sensor_keeps_failing(sqlite_db: Database, tmp_path: Path) -> None:
    """Each run queues its job fine ("ok"), but every job comes back failed: the schedule is failing."""
    from radguard.discovery.scope import load_scope
    from radguard.distributed.central import enroll, ingest
    from radguard.distributed.schedules import failing_schedules, run_schedule
    from radguard.distributed.sensor import SensorRuntime, failed_result
    from radguard.distributed.spool import Spool
    from tests.distributed.conftest import write_scope

    runtime = SensorRuntime(enroll(sqlite_db, "NORTH"), load_scope(write_scope(tmp_path / "scope.yaml",
                                                                               ["127.0.0.1/32"])),
                            Spool(tmp_path / "spool"))
    add_schedule(sqlite_db, "north-nightly", "discover", 24, "NORTH", {"targets": ["127.0.0.1"], "ports": [104]})
    sent: list[dict[str, Any]] = []
    for n in range(3):
        assert run_schedule(sqlite_db, "north-nightly", sent.append)["status"] == "ok"  # type: ignore[index]
        with sqlite_db.read() as s:
            assert failing_schedules(s) == []  # a job still queued, or fewer than 3 failures: not failing
        reason = f"the job failed on the sensor after 3 attempts: OSError: disk {n}"
        assert ingest(sqlite_db, failed_result(runtime, sent[-1], reason, 3), run_assessment=False)["status"] \
            == "failed"
    with sqlite_db.read() as s:
        [row] = failing_schedules(s)
    assert row["name"] == "north-nightly" and row["failed_runs"] == 3
    assert row["last_error"] == "job failed: the job failed on the sensor after 3 attempts: OSError: disk 2"
