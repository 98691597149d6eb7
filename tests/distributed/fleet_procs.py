"""Real processes for the central-ingest fault tests: a sensor (`radguard sensor run`) on loopback,
the central ingest worker (`radguard sensor central-worker`), a simulated DICOM node, and faults
put into the real PostgreSQL database by triggers (no radguard code is replaced).

A fault trigger counts in a sequence, which PostgreSQL never rolls back, so "fail the first N
tries" holds even though each failed try's transaction is rolled back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from radguard.db.session import Database
from radguard.distributed.central import enroll, list_jobs
from tests.distributed.conftest import write_scope
from tests.support.ports import free_port
from tests.support.redis import RedisBroker

RADGUARD = str(Path(sys.executable).with_name("radguard"))


def dsn(database: Database) -> str:
    """A psycopg connection string for the test's database (superuser: the tests' own server)."""
    return database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def sql(database: Database, statement: str) -> list[tuple[Any, ...]]:
    """Run ``statement`` on its own autocommit connection; the rows it returns, if any."""
    with psycopg.connect(dsn(database), autocommit=True) as conn:
        cur = conn.execute(statement)
        return list(cur.fetchall()) if cur.description else []


def fail_evidence_inserts(database: Database, tries: int, message: str) -> None:
    """Make the first ``tries`` statements inserting evidence fail with ``message`` (from now on)."""
    sql(database, "CREATE SEQUENCE IF NOT EXISTS rg_fault_tries")
    start = sql(database, "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM rg_fault_tries")[0][0]
    sql(database, f"""CREATE OR REPLACE FUNCTION rg_fault() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF nextval('rg_fault_tries') <= {int(start) + tries} THEN RAISE EXCEPTION '{message}'; END IF;
          RETURN NULL;
        END $$""")
    sql(database, "DROP TRIGGER IF EXISTS rg_fault ON evidence")
    sql(database, "CREATE TRIGGER rg_fault BEFORE INSERT ON evidence FOR EACH STATEMENT EXECUTE FUNCTION rg_fault()")


def fault_tries(database: Database) -> int:
    """How many evidence-inserting statements reached the fault trigger so far."""
    return int(sql(database, "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM rg_fault_tries")[0][0])


class Site:
    """One site's real parts on loopback: a simulated DICOM node, an enrolled sensor process, the
    central worker process; logs under ``tmp``."""

    def __init__(self, tmp: Path, database: Database, broker: RedisBroker, site: str = "NORTH") -> None:
        self.tmp, self.database, self.broker, self.site = tmp, database, broker, site
        self.node_port = free_port()
        self.procs: dict[str, subprocess.Popen[Any]] = {}
        self.creds = tmp / f"{site}.cred"
        enroll(database, site).save(self.creds)
        self.scope = write_scope(tmp / f"{site}-scope.yaml", ["127.0.0.1/32"], max_level=2)

    def start_node(self) -> None:
        proc = subprocess.Popen([sys.executable, "-m", "radguard.demo.network"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps([{"name": "modality-ct", "host": "127.0.0.1", "port": self.node_port,
                                      "kind": "dicom"}]) + "\n")
        proc.stdin.flush()
        status = json.loads(proc.stdout.readline())
        assert status[0]["ok"], status
        self.procs["node"] = proc

    def _start(self, name: str, argv: list[str]) -> None:
        log = (self.tmp / f"{name}.log").open("ab")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=log, start_new_session=True,
                                            env=dict(os.environ, RADGUARD_BROKER_URL=self.broker.url()))

    def start_sensor(self, *extra: str) -> None:
        self._start("sensor", [RADGUARD, "sensor", "run", "--credentials", str(self.creds), "--scope",
                               str(self.scope), "--broker-ca", str(self.broker.ca), "--spool",
                               str(self.tmp / "spool"), "--visibility-timeout", "3", "--timeout", "1", *extra])

    def start_central(self, *extra: str, visibility_timeout: int = 3) -> None:
        """The central worker; ``visibility_timeout``: seconds before a result it took but did not
        acknowledge (it was killed) is handed out again."""
        self._start("central", [RADGUARD, "--db", self.database.engine.url.render_as_string(hide_password=False),
                                "sensor", "central-worker", "--broker-ca", str(self.broker.ca),
                                "--visibility-timeout", str(visibility_timeout), *extra])

    def log(self, name: str) -> str:
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def job(self, job_id: str) -> dict[str, Any]:
        return next(j for j in list_jobs(self.database) if j["id"] == job_id)

    def wait(self, predicate: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}\n--- central\n{self.log('central')[-4000:]}\n"
                             f"--- sensor\n{self.log('sensor')[-3000:]}")

    def wait_finished(self, job_id: str, timeout: float = 90.0) -> dict[str, Any]:
        self.wait(lambda: self.job(job_id)["status"] != "queued", f"job {job_id} to finish", timeout)
        return self.job(job_id)

    def stop(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                continue
            if name == "node":
                assert proc.stdin is not None
                proc.stdin.close()
                proc.wait(10)
            else:  # SIGKILL: a Celery worker's warm shutdown takes seconds, and nothing is left to finish
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(15)


@contextmanager
def running_site(tmp_path: Path, db: Database, broker: RedisBroker, *central_args: str,
                 visibility_timeout: int = 3) -> Iterator[Site]:
    """A DICOM node, an enrolled sensor and a central worker (started with ``central_args``), stopped after."""
    site = Site(tmp_path, db, broker)
    try:
        site.start_node()
        site.start_sensor()
        site.start_central(*central_args, visibility_timeout=visibility_timeout)
        yield site
    finally:
        site.stop()
