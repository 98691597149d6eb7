"""SIGKILL of the central ingest worker in the middle of an ingest: after a restart the result is
ingested exactly once — the same evidence rows and findings as an undisturbed ingest, none twice.

Real parts: the sensor and central worker processes, TLS Redis (late acknowledgement), PostgreSQL.
The kill point is deterministic: a PostgreSQL trigger makes the ingest's second evidence row wait
for an advisory lock the test holds, and the test kills the worker once PostgreSQL shows the
worker's connection waiting on that lock (one evidence row is then written, uncommitted).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func, select

from radguard.checks.findings import list_findings
from radguard.db.models.evidence import Evidence
from radguard.db.session import Database
from radguard.distributed.broker import make_app
from radguard.distributed.central import create_job, send_job
from tests.distributed.fleet_procs import Site, dsn, running_site, sql
from tests.support.ports import free_port
from tests.support.redis import RedisBroker

PAUSE_LOCK = 716016  # advisory lock key the trigger waits on (radguard's own write lock uses another)


@pytest.fixture
def site(tmp_path: Path, pg_db: Database, broker: RedisBroker) -> Iterator[Site]:
    with running_site(tmp_path, pg_db, broker) as s:  # the assessment after each ingest: findings are counted
        yield s


def _evidence(db: Database, job_id: str) -> list[tuple[str, int]]:
    with db.read() as s:
        return [tuple(r) for r in s.execute(select(Evidence.host, Evidence.port).where(Evidence.job_id == job_id)
                                           .order_by(Evidence.port)).all()]  # type: ignore[misc]


def _findings(db: Database) -> list[tuple[str, int | None, str, str]]:
    with db.read() as s:
        return sorted((f.check_id, f.asset_id, f.key, f.state) for f in list_findings(s))


def _waiting_on_pause(db: Database) -> list[int]:
    return [int(r[0]) for r in sql(db, f"SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = "
                                       f"{PAUSE_LOCK} AND NOT granted")]


def test_killed_ingest_worker_ingests_once_after_restart(site: Site, pg_db: Database) -> None:
    app = make_app(site.broker.url(), site.broker.ca)
    closed = [free_port(), free_port(), free_port()]  # nothing listens: three closed endpoints
    ports = sorted([site.node_port, *closed])

    def dispatch() -> str:
        job = create_job(pg_db, "NORTH", ["127.0.0.1"], ports, 2)
        send_job(app, job)
        return str(job["job_id"])

    undisturbed = dispatch()
    assert site.wait_finished(undisturbed)["status"] == "ingested"
    expected = [("127.0.0.1", p) for p in ports]
    assert _evidence(pg_db, undisturbed) == expected
    findings = _findings(pg_db)
    assert findings, "the assessment after ingest opened findings for the discovered node"

    # the ingest's second evidence row waits for PAUSE_LOCK, which the test holds
    sql(pg_db, "CREATE SEQUENCE rg_pause_rows")
    sql(pg_db, f"""CREATE FUNCTION rg_pause() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF nextval('rg_pause_rows') = 2 THEN PERFORM pg_advisory_lock({PAUSE_LOCK}); END IF;
          RETURN NEW;
        END $$""")
    sql(pg_db, "CREATE TRIGGER rg_pause BEFORE INSERT ON evidence FOR EACH ROW EXECUTE FUNCTION rg_pause()")
    with psycopg.connect(dsn(pg_db), autocommit=True) as holder:
        holder.execute(f"SELECT pg_advisory_lock({PAUSE_LOCK})")
        killed = dispatch()
        site.wait(lambda: bool(_waiting_on_pause(pg_db)), "the ingest to reach its second evidence row")
        [backend] = _waiting_on_pause(pg_db)
        site.procs["central"].send_signal(signal.SIGKILL)  # mid-transaction: one row written, none committed
        site.procs["central"].wait(10)
        assert sql(pg_db, "SELECT last_value FROM rg_pause_rows")[0][0] == 2
        assert site.job(killed)["status"] == "queued" and _evidence(pg_db, killed) == []
        holder.execute(f"SELECT pg_advisory_unlock({PAUSE_LOCK})")
    # the dead worker's connection can never commit; wait until PostgreSQL has ended it
    site.wait(lambda: not sql(pg_db, f"SELECT 1 FROM pg_stat_activity WHERE pid = {backend}"),
              "the killed worker's database session to end")
    assert _evidence(pg_db, killed) == []

    site.start_central()  # Redis hands the unacknowledged result out again after the visibility timeout
    job = site.wait_finished(killed)
    assert job["status"] == "ingested", job
    assert _evidence(pg_db, killed) == expected  # each endpoint once
    with pg_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Evidence)) == 2 * len(ports)
    assert _findings(pg_db) == findings  # the same findings, none twice
