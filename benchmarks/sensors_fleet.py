"""Benchmark: N sensors × M simulated endpoints, scheduled from central, against one box scanning all.

Run:  .venv/bin/python benchmarks/sensors_fleet.py --sensors 10 --endpoints 1000

Real parts, all started here: a PostgreSQL cluster (central database), a TLS + password Redis
broker, ``radguard sensor central-worker`` and one ``radguard sensor run`` process per sensor
(each enrolled for its own site, with a local scope covering only its own /22 of loopback
addresses), and ``benchmarks/discovery_fleet.py`` serving sensors × endpoints light DICOM
responders (40% accept, 20% calling-AE check, 20% called-AE check, 10% closed, 10% silent).

Measured:

* schedule → findings: from ``radguard schedule tick`` queueing one discover schedule per site
  until every job is ingested and an ``assess`` schedule run has updated the findings;
* central ingest rate: evidence rows stored / the sum of the central worker's ingest task
  times (Celery's "succeeded in"; the worker runs with ``--no-assess`` so these are ingest only);
* memory: peak RSS (VmHWM) of redis-server, the central worker and each sensor;
* the same endpoints from one box: ``radguard discover`` over all ranges into a fresh database of
  the same PostgreSQL server, then ``radguard assess`` — once with a sensor's concurrency (32),
  once with all sensors' together (32 × N).

Sensors are processes on this machine (no network namespaces: isolation is the fault tests'
job, here only the work is measured), so every scanner shares the same cores.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.postgres import create_database, postgres_server  # noqa: E402
from tests.support.redis import RedisBroker  # noqa: E402

from radguard.db.migrate import upgrade  # noqa: E402
from radguard.db.models.evidence import Evidence  # noqa: E402
from radguard.db.models.inventory import Site  # noqa: E402
from radguard.db.models.sensors import SensorJob  # noqa: E402
from radguard.db.session import Database, open_database  # noqa: E402
from radguard.distributed.central import enroll  # noqa: E402
from radguard.distributed.schedules import add_schedule, job_sender, run_schedule, tick  # noqa: E402

RADGUARD = str(Path(sys.executable).with_name("radguard"))
PER_OCTET = 250  # discovery_fleet.address(): 127.77.(i // 250).(i % 250 + 1)


def ranges(first: int, count: int) -> list[str]:
    """Target specs covering responders first .. first+count-1 (whole octets of 250)."""
    out = []
    for octet in range(first // PER_OCTET, (first + count + PER_OCTET - 1) // PER_OCTET):
        lo = max(first, octet * PER_OCTET) - octet * PER_OCTET + 1
        hi = min(first + count, (octet + 1) * PER_OCTET) - octet * PER_OCTET
        out.append(f"127.77.{octet}.{lo}-{hi}")
    return out


def vm_hwm(pid: int) -> float:
    """Peak resident set of a live process, MiB."""
    text = Path(f"/proc/{pid}/status").read_text()
    m = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(m.group(1)) / 1024 if m else float("nan")


def timed_child(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak RSS MiB from wait4, stdout) of one child process."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, text=True)
        _pid, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv[3:5])} failed ({proc.returncode}): {err.read()[-2000:]}")
        return elapsed, usage.ru_maxrss / 1024, out.read()


def scope_file(path: Path, targets: list[str]) -> Path:
    now = datetime.now(UTC)
    path.write_text(yaml.safe_dump({
        "authorized_by": "Benchmark operator", "reason": "sensors benchmark",
        "window": {"start": (now - timedelta(hours=1)).isoformat(), "end": (now + timedelta(hours=6)).isoformat()},
        "targets": targets, "max_level": 2}))
    return path


def states(db: Database) -> dict[str, int]:
    with db.read() as s:
        rows = s.execute(select(Evidence.received)).scalars().all()
    out: dict[str, int] = {}
    for rec in rows:
        key = str((rec or {}).get("state"))
        out[key] = out.get(key, 0) + 1
    return out


def wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise RuntimeError(f"timed out waiting for {what}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sensors", type=int, default=10)
    ap.add_argument("--endpoints", type=int, default=1000, help="simulated endpoints per sensor")
    ap.add_argument("--rate", type=float, default=1000.0, help="connections/s per scanner")
    ap.add_argument("--timeout", type=float, default=2.0)
    args = ap.parse_args()
    n, m = args.sensors, args.endpoints
    total = n * m
    tmp = Path(tempfile.mkdtemp(prefix="rg-bench-sensors-"))
    port = free_port()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    result: dict[str, Any] = {"sensors": n, "endpoints_per_sensor": m, "total_endpoints": total,
                              "rate_per_scanner": args.rate, "timeout": args.timeout,
                              "load_average_start": os.getloadavg()}
    responders = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "discovery_fleet.py"), str(total),
                                   str(port)], stdout=subprocess.PIPE, text=True)
    broker = RedisBroker()
    try:
        assert responders.stdout is not None and responders.stdout.readline().strip() == "ready"
        broker.start()
        env = dict(os.environ, RADGUARD_BROKER_URL=broker.url())
        with postgres_server() as base:
            central_url, onebox_url = create_database(base), create_database(base)
            db = open_database(central_url)
            upgrade(db)
            sites = [f"S{i + 1:02d}" for i in range(n)]
            with db.transaction() as s:
                s.add_all([Site(code=code, name=f"Site {code}") for code in sites])
            central_log = (tmp / "central.log").open("ab")
            procs["central"] = subprocess.Popen(
                [RADGUARD, "--db", central_url, "sensor", "central-worker", "--broker-ca", str(broker.ca),
                 "--no-assess"], stdout=central_log, stderr=central_log, env=env)
            for i, site in enumerate(sites):
                creds = tmp / f"{site}.cred"
                enroll(db, site).save(creds)
                scope = scope_file(tmp / f"{site}-scope.yaml", ranges(i * m, m))  # its own segment only
                log = (tmp / f"sensor-{site}.log").open("ab")
                procs[site] = subprocess.Popen(
                    [RADGUARD, "sensor", "run", "--credentials", str(creds), "--scope", str(scope), "--broker-ca",
                     str(broker.ca), "--spool", str(tmp / f"spool-{site}"), "--max-rate", str(args.rate),
                     "--timeout", str(args.timeout)], stdout=log, stderr=log, env=env)
                add_schedule(db, f"{site}-discover", "discover", 168, site,
                             {"targets": ranges(i * m, m), "ports": [port], "level": 2, "rate": args.rate})
            wait_for(lambda: all("ready" in (tmp / f"sensor-{s}.log").read_text(errors="replace") for s in sites)
                     and "ready" in (tmp / "central.log").read_text(errors="replace"), 120, "workers to start")
            add_schedule(db, "assess-after-ingest", "assess", 24, start=datetime.now(UTC) + timedelta(days=1))

            def ingested() -> int:
                with db.read() as s:
                    return int(s.scalar(select(func.count()).select_from(SensorJob)
                                        .where(SensorJob.status == "ingested")) or 0)

            t0 = time.perf_counter()
            ran = tick(db, job_sender(broker.url(), broker.ca))
            assert len(ran) == n and all(r["status"] == "ok" for r in ran), ran
            wait_for(lambda: ingested() == n, 1800, "every job to be ingested")
            t_ingested = time.perf_counter() - t0
            assessed = run_schedule(db, "assess-after-ingest")
            t_findings = time.perf_counter() - t0
            assert assessed is not None and assessed["status"] == "ok", assessed
            with db.read() as s:
                rows = int(s.scalar(select(func.count()).select_from(Evidence)) or 0)
            task_times = [float(x) for x in re.findall(r"succeeded in ([0-9.]+)s",
                                                       (tmp / "central.log").read_text(errors="replace"))]
            result["fleet"] = {
                "schedule_to_all_ingested_s": round(t_ingested, 2), "schedule_to_findings_s": round(t_findings, 2),
                "assess_s": round(t_findings - t_ingested, 2), "assess_counts": assessed["counts"],
                "evidence_rows": rows, "ingest_tasks": len(task_times),
                "ingest_task_seconds_sum": round(sum(task_times), 2),
                "ingest_rows_per_s": round(rows / sum(task_times), 1) if task_times else None,
                "rss_mib": {"redis": round(vm_hwm(broker.process.pid), 1),  # type: ignore[union-attr]
                            "central_worker": round(vm_hwm(procs["central"].pid), 1),
                            "sensor_max": round(max(vm_hwm(procs[s].pid) for s in sites), 1),
                            "sensor_mean": round(sum(vm_hwm(procs[s].pid) for s in sites) / n, 1)},
                "states": states(db),
            }
            for proc in procs.values():
                proc.send_signal(signal.SIGTERM)
            for proc in procs.values():
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
            db.dispose()

            # the same endpoints from one box
            targets = ranges(0, total)
            onebox: dict[str, Any] = {}
            for label, concurrency in (("concurrency_32", 32), (f"concurrency_{32 * n}", 32 * n)):
                url = onebox_url if label == "concurrency_32" else create_database(base)
                one = open_database(url)
                upgrade(one)
                one.dispose()
                scan_s, scan_rss, _out = timed_child(
                    [RADGUARD, "--db", url, "discover", *targets, "--ports", str(port), "--level", "2",
                     "--timeout", str(args.timeout), "--rate", str(args.rate * (1 if concurrency == 32 else n)),
                     "--concurrency", str(concurrency), "--json"], dict(os.environ))
                assess_s, assess_rss, _ = timed_child([RADGUARD, "--db", url, "assess"], dict(os.environ))
                one = open_database(url)
                onebox[label] = {"discover_s": round(scan_s, 2), "assess_s": round(assess_s, 2),
                                 "total_s": round(scan_s + assess_s, 2), "discover_rss_mib": round(scan_rss, 1),
                                 "assess_rss_mib": round(assess_rss, 1), "states": states(one)}
                one.dispose()
            result["one_box"] = onebox
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
        responders.kill()
        broker.cleanup()
    result["load_average_end"] = os.getloadavg()
    fleet = result["fleet"]
    for row in result["one_box"].values():
        row["fleet_speedup"] = round(row["total_s"] / fleet["schedule_to_findings_s"], 2)
        row["same_evidence_states"] = row["states"] == fleet["states"]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
