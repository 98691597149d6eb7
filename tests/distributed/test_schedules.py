"""Schedules kept in the database: due runs, pause, run-now, history, failures recorded (real PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
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
