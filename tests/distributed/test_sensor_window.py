"""A sensor stops starting probes when its LOCAL scope's window closes during a run: the run ends
cleanly, what was probed is sent and stored, and the job is ``partial`` with the reason.

The sensor's scope is the final authority: central's schedule asked for every endpoint, the window
ends a few seconds into the run, and the rate (2 connections/s) makes the whole job take ~30 s.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Site
from radguard.db.session import Database
from radguard.discovery.scope import load_scope
from radguard.distributed.central import create_job, enroll, ingest, list_jobs
from radguard.distributed.sensor import SensorRuntime, run_job
from radguard.distributed.spool import Spool
from tests.distributed.conftest import write_scope
from tests.support.ports import free_port

WINDOW_LEFT = 6.0  # seconds of window when the job arrives
PORTS = 60  # at 2/s: ~30 s of probing, far past the window


def test_window_closing_mid_run_stops_new_probes_and_reports_partial(sqlite_db: Database, tmp_path: Path) -> None:
    with sqlite_db.transaction() as s:
        s.add(Site(code="NORTH", name="North hospital"))
    creds = enroll(sqlite_db, "NORTH")
    ports = sorted({free_port() for _ in range(PORTS)})  # nothing listens: closed endpoints
    job = create_job(sqlite_db, "NORTH", ["127.0.0.1"], ports, 1, rate=2.0)
    # the window's end is set last, so slow set-up on a loaded machine does not eat the window
    end = datetime.now(UTC) + timedelta(seconds=WINDOW_LEFT)
    runtime = SensorRuntime(creds, load_scope(write_scope(tmp_path / "scope.yaml", ["127.0.0.1/32"], window_end=end)),
                            Spool(tmp_path / "spool"), timeout=1.0)

    envelope = run_job(runtime, job)
    returned = time.time()
    body = envelope["body"]
    probed = len(body["endpoints"])
    assert body["status"] == "partial", body.get("reason")
    assert 0 < probed < len(ports) and probed + body["not_probed"] == len(ports)
    assert "window closed at" in body["reason"]
    assert f"{body['not_probed']} of {len(ports)} not started" in body["reason"]
    # it stopped at the window's end, not after the ~30 s the whole job would take: a probe started
    # just before the end finishes (closed ports answer at once; the connect timeout is 1 s)
    assert returned < end.timestamp() + 5.0, returned - end.timestamp()
    assert probed <= 2 * WINDOW_LEFT + 2  # the rate cap: 2 new connections a second while it was open

    result = ingest(sqlite_db, envelope, run_assessment=False)
    assert result["status"] == "partial" and result["counts"]["not_probed"] == body["not_probed"]
    [row] = [j for j in list_jobs(sqlite_db) if j["id"] == job["job_id"]]
    assert row["status"] == "partial" and "window closed" in row["reason"]
    with sqlite_db.read() as s:
        stored = s.execute(select(Evidence.port).where(Evidence.job_id == job["job_id"])).scalars().all()
    assert sorted(stored) == sorted(e["doc"]["port"] for e in body["endpoints"])
    assert ingest(sqlite_db, envelope, run_assessment=False)["status"] == "duplicate"  # redelivery: once

    # once the window has closed, the same job is refused before any packet
    refused = run_job(runtime, job)["body"]
    assert refused["status"] == "refused" and "window closed" in refused["reason"] and refused["endpoints"] == []
