"""Two sensors in their own network namespaces, a real TLS Redis broker, real PostgreSQL, real
processes (`radguard sensor run`, `radguard sensor central-worker`) — and the faults a fleet meets.

Each namespace holds a simulated imaging segment (radguard.demo.network) on its own loopback,
reachable from nowhere else; the sensor inside reaches central only through the broker on the
host side of its veth pair.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from radguard.db.migrate import upgrade
from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Asset, Site
from radguard.db.models.sensors import Sensor, SensorJob
from radguard.db.session import open_database
from radguard.distributed.broker import CENTRAL_QUEUE, INGEST_TASK, make_app
from radguard.distributed.central import create_job, enroll, send_job
from radguard.distributed.signing import new_credentials
from tests.distributed.conftest import write_scope
from tests.support.ports import free_port
from tests.support.postgres import _as_postgres, _bindir
from tests.support.redis import RedisBroker

RADGUARD = str(Path(sys.executable).with_name("radguard"))
NODE_PORT = 11112


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@dataclass
class Namespace:
    name: str
    host_if: str
    host_addr: str
    ns_addr: str
    segment: subprocess.Popen[str] | None = None

    def run(self, argv: list[str], **kw: Any) -> subprocess.Popen[Any]:
        return subprocess.Popen(["ip", "netns", "exec", self.name, *argv], **kw)


@dataclass
class Postgres:
    """A PostgreSQL cluster this test may stop and start (the session's shared one must stay up)."""

    root: Path
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        os.chmod(self.root, 0o777)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        _as_postgres(f"{_bindir()}/initdb -D {self.root}/data -U postgres --auth=trust -E UTF8 --no-instructions")

    def start(self) -> None:
        _as_postgres(f"{_bindir()}/pg_ctl -D {self.root}/data -l {self.root}/server.log "
                     f"-o '-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off' -w start")

    def stop(self) -> None:
        _as_postgres(f"{_bindir()}/pg_ctl -D {self.root}/data -m fast -w stop")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def namespaces() -> Iterator[list[Namespace]]:
    tag = secrets.token_hex(3)
    third = int(tag[:2], 16)
    made: list[Namespace] = []
    try:
        for i, letter in enumerate("ab"):
            ns = Namespace(f"rgs-{tag}-{letter}", f"rgs{tag}{letter}", f"10.231.{third}.{i * 4 + 1}",
                           f"10.231.{third}.{i * 4 + 2}")
            _ip("netns", "add", ns.name)
            made.append(ns)
            _ip("link", "add", ns.host_if, "type", "veth", "peer", "name", f"{ns.host_if}p")
            _ip("link", "set", f"{ns.host_if}p", "netns", ns.name)
            _ip("addr", "add", f"{ns.host_addr}/30", "dev", ns.host_if)
            _ip("link", "set", ns.host_if, "up")
            _ip("netns", "exec", ns.name, "ip", "addr", "add", f"{ns.ns_addr}/30", "dev", f"{ns.host_if}p")
            _ip("netns", "exec", ns.name, "ip", "link", "set", f"{ns.host_if}p", "up")
            _ip("netns", "exec", ns.name, "ip", "link", "set", "lo", "up")
        yield made
    finally:
        for ns in made:
            if ns.segment is not None:
                ns.segment.stdin.close()  # type: ignore[union-attr]
                ns.segment.wait(10)
            subprocess.run(["ip", "link", "del", ns.host_if], capture_output=True)
            subprocess.run(["ip", "netns", "del", ns.name], capture_output=True)


def start_segment(ns: Namespace, host: str) -> None:
    """The demo's simulated DICOM node, inside the namespace's own loopback."""
    proc = ns.run([sys.executable, "-m", "radguard.demo.network"], stdin=subprocess.PIPE,
                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps([{"name": f"modality-{ns.name}", "host": host, "port": NODE_PORT,
                                  "kind": "dicom"}]) + "\n")
    proc.stdin.flush()
    status = json.loads(proc.stdout.readline())
    assert status[0]["ok"], status
    ns.segment = proc


class Fleet:
    def __init__(self, tmp: Path, pg: Postgres, broker: RedisBroker, namespaces: list[Namespace]) -> None:
        self.tmp, self.pg, self.broker, self.namespaces = tmp, pg, broker, namespaces
        self.db = open_database(pg.url)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.app = make_app(broker.url(), broker.ca)
        self.sensors: dict[str, tuple[Namespace, Path, Path]] = {}

    def start_central(self) -> None:
        log = (self.tmp / "central.log").open("ab")
        self.procs["central"] = subprocess.Popen(
            [RADGUARD, "--db", self.pg.url, "sensor", "central-worker", "--broker-ca", str(self.broker.ca),
             "--visibility-timeout", "3"], stdout=log, stderr=log,
            env=dict(os.environ, RADGUARD_BROKER_URL=self.broker.url()))

    def start_sensor(self, site: str) -> None:
        ns, creds, scope = self.sensors[site]
        log = (self.tmp / f"sensor-{site}.log").open("ab")
        self.procs[site] = ns.run(
            ["env", f"RADGUARD_BROKER_URL={self.broker.url(ns.host_addr)}", RADGUARD, "sensor", "run",
             "--credentials", str(creds), "--scope", str(scope), "--broker-ca", str(self.broker.ca),
             "--spool", str(self.tmp / f"spool-{site}"), "--visibility-timeout", "3", "--timeout", "1"],
            stdout=log, stderr=log)

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text(errors="replace")

    def dispatch(self, site: str, host: str, ports: list[int], rate: float = 20.0, level: int = 2) -> str:
        job = create_job(self.db, site, [host], ports, level, rate)
        send_job(self.app, job)
        return str(job["job_id"])

    def job(self, job_id: str) -> dict[str, Any]:
        with self.db.read() as s:
            row = s.get(SensorJob, job_id)
            assert row is not None
            return {"status": row.status, "sensor_id": row.sensor_id, "request": dict(row.request),
                    "reason": row.reason}

    def wait(self, predicate: Callable[[], bool], timeout: float = 60.0, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except Exception:  # the database may be down on purpose
                pass
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {what}\n--- central\n{self.log('central')[-3000:]}\n"
                             + "".join(f"--- {s}\n{self.log('sensor-' + s)[-3000:]}\n" for s in self.sensors))

    def wait_done(self, job_id: str, timeout: float = 60.0) -> None:
        self.wait(lambda: self.job(job_id)["status"] in {"ingested", "refused"}, timeout, f"job {job_id}")

    def evidence(self, job_id: str) -> list[tuple[Any, ...]]:
        with self.db.read() as s:
            rows = s.execute(select(Evidence.host, Evidence.port, Evidence.sensor_id, Evidence.received)
                             .where(Evidence.job_id == job_id).order_by(Evidence.host, Evidence.port)).all()
        return [(h, p, sid, rec["state"], (rec.get("dicom") or {}).get("echo")) for h, p, sid, rec in rows]

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.db.dispose()


@pytest.fixture
def fleet(tmp_path: Path, namespaces: list[Namespace]) -> Iterator[Fleet]:
    pg = Postgres(Path(tempfile.mkdtemp(prefix="rg-fleet-pg-")))  # postgres must reach it: not under tmp_path
    pg.start()
    broker = RedisBroker(addresses=["127.0.0.1", *(ns.host_addr for ns in namespaces)])
    broker.start()
    fl = Fleet(tmp_path, pg, broker, namespaces)
    try:
        upgrade(fl.db)
        with fl.db.transaction() as s:
            s.add_all([Site(code="NORTH", name="North hospital"), Site(code="SOUTH", name="South clinic")])
        # central first, and ready before any sensor answers: a result waiting in the queue for a worker
        # still starting (seconds on a loaded machine) would count as clock skew
        fl.start_central()
        fl.wait(lambda: "ready." in fl.log("central"), 90, "the central worker to start")
        for site, ns, host in (("NORTH", namespaces[0], "127.0.0.10"), ("SOUTH", namespaces[1], "127.0.0.20")):
            start_segment(ns, host)
            creds = tmp_path / f"{site}.cred"
            enroll(fl.db, site).save(creds)
            fl.sensors[site] = (ns, creds, write_scope(tmp_path / f"{site}-scope.yaml", [f"{host}/32"]))
            fl.start_sensor(site)
        yield fl
    finally:
        fl.stop()
        broker.cleanup()
        pg.stop()
        shutil.rmtree(pg.root, ignore_errors=True)


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


SLOW_PORTS = [NODE_PORT, *range(20001, 20016)]  # 16 endpoints at 4/s: a job of about 4 s


def test_two_segments_each_found_only_by_its_sensor_and_faults_leave_evidence_unchanged(fleet: Fleet) -> None:
    north, south = fleet.namespaces
    # the segments are unreachable from central and from the other sensor's namespace
    assert not _reachable("127.0.0.10", NODE_PORT) and not _reachable("127.0.0.20", NODE_PORT)
    probe = [sys.executable, "-c", "import socket,sys; socket.create_connection(('127.0.0.10', 11112), 1)"]
    assert south.run(probe, stderr=subprocess.DEVNULL).wait(10) != 0
    assert north.run(probe, stderr=subprocess.DEVNULL).wait(10) == 0

    a = fleet.dispatch("NORTH", "127.0.0.10", SLOW_PORTS, rate=4)
    b = fleet.dispatch("SOUTH", "127.0.0.20", [NODE_PORT])
    fleet.wait_done(a)
    fleet.wait_done(b)
    undisturbed = fleet.evidence(a)
    assert len(undisturbed) == len(SLOW_PORTS)
    assert undisturbed[0][:4] == ("127.0.0.10", NODE_PORT, fleet.job(a)["sensor_id"], "open")
    with fleet.db.read() as s:
        sites = dict(s.execute(select(Asset.name, Site.code).join(Site, Asset.site_id == Site.id)).all())
        placed = {code for code in sites.values()}
        sensors = {x.site: (x.last_seen, x.version, x.clock_skew) for x in s.scalars(select(Sensor))}
    assert placed == {"NORTH", "SOUTH"}
    assert sensors["NORTH"][0] is not None and sensors["SOUTH"][1]
    assert abs(sensors["NORTH"][2] or 99) < 5

    # a job asking the NORTH sensor for SOUTH's segment: refused by its local scope, logged, reported
    out = fleet.dispatch("NORTH", "127.0.0.20", [NODE_PORT])
    fleet.wait_done(out)
    assert fleet.job(out)["status"] == "refused" and "not covered" in (fleet.job(out)["reason"] or "")
    assert out in (fleet.tmp / "refused.jsonl").read_text() and fleet.evidence(out) == []
    # a forged result (signed with a key central never enrolled, in the SOUTH sensor's name) for a
    # job no sensor was sent, put straight on central's queue: refused, nothing stored
    south_id = fleet.job(b)["sensor_id"]
    unsent = create_job(fleet.db, "SOUTH", ["127.0.0.20"], [NODE_PORT], 2)
    body = dict(unsent, sensor_id=south_id, status="done", endpoints=[], started=unsent["job_id"])
    fleet.app.send_task(INGEST_TASK, args=[dict(new_credentials("SOUTH").sign(body), sensor_id=south_id)],
                        queue=CENTRAL_QUEUE)
    fleet.wait(lambda: "refused result" in fleet.log("central"), 30, "the forged result to be refused")
    assert fleet.job(unsent["job_id"])["status"] == "queued" and fleet.evidence(unsent["job_id"]) == []

    # replay: the same job delivered again is run again, and ingested as a duplicate
    send_job(fleet.app, fleet.job(a)["request"])
    fleet.wait(lambda: "'duplicate'" in fleet.log("central"), 60, "the replay")
    assert fleet.evidence(a) == undisturbed

    # kill the sensor mid-job: the unacknowledged job is handed out again after a restart
    c = fleet.dispatch("NORTH", "127.0.0.10", SLOW_PORTS, rate=4)
    fleet.wait(lambda: c in fleet.log("sensor-NORTH"), 30, "the sensor to take the job")
    fleet.procs["NORTH"].send_signal(signal.SIGKILL)
    fleet.procs["NORTH"].wait(10)
    assert fleet.job(c)["status"] == "queued"
    fleet.start_sensor("NORTH")
    fleet.wait_done(c, 90)
    assert [r[:1] + r[1:2] + r[3:] for r in fleet.evidence(c)] == [r[:1] + r[1:2] + r[3:] for r in undisturbed]

    # kill the broker mid-run: the sensor spools its result and sends it once the broker is back
    d = fleet.dispatch("NORTH", "127.0.0.10", SLOW_PORTS, rate=4)
    fleet.wait(lambda: d in fleet.log("sensor-NORTH"), 30, "the sensor to take the job")
    fleet.broker.kill()
    spool = fleet.tmp / "spool-NORTH"
    fleet.wait(lambda: any(spool.glob("*.json")), 30, "the result to be spooled")
    fleet.broker.start()
    fleet.wait_done(d, 90)
    assert not any(spool.glob("*.json"))
    assert [r[:2] + r[3:] for r in fleet.evidence(d)] == [r[:2] + r[3:] for r in undisturbed]

    # stop PostgreSQL during ingest: the ingest task retries with backoff until it is back
    fleet.db.dispose()
    fleet.pg.stop()
    fleet.pg.start()
    e = fleet.dispatch("SOUTH", "127.0.0.20", [NODE_PORT])
    fleet.pg.stop()
    fleet.wait(lambda: "Retry in" in fleet.log("central"), 60, "ingest to retry while the database is down")
    fleet.pg.start()
    fleet.wait_done(e, 90)
    assert [r[:2] + r[3:] for r in fleet.evidence(e)] == [r[:2] + r[3:] for r in fleet.evidence(b)]
    with fleet.db.read() as s:
        keys = s.execute(select(Evidence.job_id, Evidence.host, Evidence.port)).all()
    assert len(keys) == len(set(keys)) == 3 * len(SLOW_PORTS) + 2  # no endpoint of any job stored twice
