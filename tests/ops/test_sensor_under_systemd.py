"""The packaged sensor unit under a real systemd: systemd-nspawn boots this machine's own systemd
(PID 1 of a new PID namespace) in a throwaway root whose /usr is the host's, read-only, and whose
/opt/radguard-sensor and /etc/radguard are those that dpkg installed from radguard-sensor's .deb
into a temporary root. The unit file is the installed one, enabled with ``systemctl --root``.

The container shares the host's network (loopback), so the sensor reaches the test's TLS Redis
and the simulated DICOM node; central's ingest worker runs on the host against PostgreSQL. What is
checked: unconfigured (no credentials) the enabled unit does not start; configured, it starts as
its own user with its hardening, takes a real discovery job for its site, and central stores the
signed evidence; ``systemctl stop`` stops it. Nothing is installed or started on the machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from radguard.db.migrate import upgrade
from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Site as SiteRow
from radguard.db.session import open_database
from radguard.distributed.broker import make_app
from radguard.distributed.central import create_job, send_job
from tests.distributed.conftest import write_scope
from tests.distributed.fleet_procs import Site
from tests.ops.debian import dpkg, new_root
from tests.support.postgres import create_database
from tests.support.redis import RedisBroker

NSPAWN = "/usr/bin/systemd-nspawn"
UNIT = "radguard-sensor.service"


class Container:
    """A booted systemd in ``root`` (systemd-nspawn, no machined, no D-Bus on the host)."""

    def __init__(self, root: Path, binds: list[str], log: Path) -> None:
        self.root, self.log = root, log
        self.name = f"rgsensor-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        argv = [NSPAWN, "--quiet", "--keep-unit", "--register=no", f"--machine={self.name}", "-D", str(root),
                "--bind-ro=/usr", *binds, "-b", "--console=pipe"]
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log.open("ab"), stderr=subprocess.STDOUT)
        self.leader = 0

    def wait_booted(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
            if not self.leader and children.exists() and children.read_text().split():
                self.leader = int(children.read_text().split()[0])
            if self.leader:
                state = self.run("systemctl", "is-system-running").stdout.strip()
                if state in ("running", "degraded"):
                    return
            time.sleep(0.2)
        raise AssertionError(f"the container did not boot ({state!r}): {self.log.read_text()[-3000:]}")

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """A command in the container's namespaces (its systemd, its mounts)."""
        return subprocess.run(["nsenter", "-t", str(self.leader), "-a", *argv], capture_output=True, text=True,
                              timeout=60)

    def show(self, prop: str) -> str:
        return self.run("systemctl", "show", "-P", prop, UNIT).stdout.strip()

    def journal(self) -> str:
        return self.run("journalctl", "--no-pager", "-u", UNIT).stdout[-4000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # nspawn asks the container's systemd to power off
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                if self.leader:
                    os.kill(self.leader, signal.SIGKILL)  # the PID namespace goes with its init
                self.proc.kill()
                self.proc.wait(15)


def container_root(path: Path, installed: Path) -> Path:
    """A root for nspawn: the host's /usr (bound read-only at boot), its own /etc with a machine ID
    (so systemd does no first-boot preset and enables nothing of the host's), the sensor's user."""
    (path / "usr").mkdir(parents=True)
    for link in ("bin", "sbin", "lib", "lib64"):
        (path / link).symlink_to(f"usr/{link}")
    etc = path / "etc"
    (etc / "systemd" / "system").mkdir(parents=True)
    (path / "opt" / "radguard-sensor").mkdir(parents=True)
    (etc / "radguard").mkdir()
    (path / "var").mkdir()
    (etc / "os-release").write_text(Path("/etc/os-release").read_text())
    (etc / "machine-id").write_text(uuid.uuid4().hex + "\n")
    for name, root_line in (("passwd", "root:x:0:0:root:/root:/bin/sh"), ("group", "root:x:0:")):
        sensor = [line for line in (installed / "etc" / name).read_text().splitlines()
                  if line.startswith("radguard-sensor:")]
        (etc / name).write_text("\n".join([root_line, *sensor]) + "\n")
    shutil.copyfile(installed / "lib/systemd/system" / UNIT, etc / "systemd/system" / UNIT)
    done = subprocess.run(["systemctl", f"--root={path}", "enable", UNIT], capture_output=True, text=True)
    assert done.returncode == 0 and (etc / "systemd/system/multi-user.target.wants" / UNIT).is_symlink(), done.stderr
    return path


@pytest.fixture
def central(tmp_path: Path, pg_server: str, broker: RedisBroker) -> Iterator[Site]:
    db = open_database(create_database(pg_server))
    upgrade(db)
    with db.transaction() as session:
        session.add(SiteRow(code="NORTH", name="North hospital"))
    site = Site(tmp_path, db, broker)
    try:
        site.start_node()
        site.start_central("--no-assess")
        yield site
    finally:
        site.stop()
        db.dispose()


def test_packaged_sensor_unit_runs_a_job_under_systemd(debs: dict[str, Path], central: Site, broker: RedisBroker,
                                                         tmp_path: Path) -> None:
    installed = new_root(tmp_path / "installed")
    dpkg(installed, "--install", str(debs["radguard-sensor"]))
    etc = installed / "etc" / "radguard"
    uid = int(next(line for line in (installed / "etc/passwd").read_text().splitlines()
                   if line.startswith("radguard-sensor:")).split(":")[2])
    root = container_root(tmp_path / "container", installed)
    box = Container(root, [f"--bind-ro={installed / 'opt/radguard-sensor'}:/opt/radguard-sensor",
                           f"--bind={etc}:/etc/radguard"], tmp_path / "nspawn.log")
    try:
        box.wait_booted()
        # enabled but not configured (no credentials): systemd skips it, nothing runs
        assert box.show("ActiveState") == "inactive" and box.show("ConditionResult") == "no", box.journal()

        # configure it as docs/deployment.md says: broker, CA, credentials, the site's own scope
        (etc / "sensor.env").write_text(f"RADGUARD_BROKER_URL={broker.url()}\n")
        shutil.copyfile(broker.ca, etc / "broker-ca.pem")
        shutil.copyfile(central.creds, etc / "sensor.cred")
        os.chown(etc / "sensor.cred", uid, uid)
        (etc / "sensor.cred").chmod(0o600)
        write_scope(etc / "local-scope.yaml", ["127.0.0.1/32"], max_level=2)
        started = box.run("systemctl", "start", UNIT)
        assert started.returncode == 0, started.stderr + box.journal()
        central.wait(lambda: box.show("SubState") == "running", "the sensor unit to run", timeout=60)
        assert box.show("User") == "radguard-sensor" and box.show("NoNewPrivileges") == "yes"

        def program_status() -> str:
            """The main process's status once it runs the sensor: "running" begins at the fork, while
            systemd's child (named "(radguard)", still root) has yet to drop privileges and exec."""
            pid = box.show("MainPID")  # the container's /proc: its PID namespace
            text = box.run("cat", f"/proc/{pid}/status").stdout
            return text if text.startswith("Name:\t") and not text.startswith("Name:\t(") else ""

        central.wait(lambda: bool(program_status()), "the sensor unit's process to run the sensor", timeout=60)
        status = program_status()
        assert f"Uid:\t{uid}\t{uid}" in status and "CapEff:\t0000000000000000" in status, status

        # a real job for its site: the sensor under systemd probes the node and central stores it
        job = create_job(central.database, "NORTH", ["127.0.0.1"], [central.node_port], 2)
        send_job(make_app(broker.url(), broker.ca), job)
        finished = central.wait_finished(job["job_id"], timeout=120)
        assert finished["status"] == "ingested", (finished, box.journal())
        with central.database.read() as s:
            ports = s.execute(select(Evidence.port).where(Evidence.job_id == job["job_id"])).scalars().all()
        assert ports == [central.node_port]
        # its spool is in the unit's StateDirectory, owned by the sensor's user
        state = root / "var/lib/radguard-sensor"
        assert (state / "spool").is_dir() and state.stat().st_uid == uid

        stopped = box.run("systemctl", "stop", UNIT)
        assert stopped.returncode == 0, stopped.stderr
        assert box.show("ActiveState") == "inactive" and box.show("MainPID") == "0", box.journal()
    finally:
        box.stop()
