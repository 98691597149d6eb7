"""Discovery throughput and accuracy: radguard vs ``nmap --script dicom-ping`` on one fleet.

Starts ``discovery_fleet.py`` (N responders on 127.77.x.y:PORT with known policies), then runs,
one after the other against the same targets:

* ``radguard discover`` (the real CLI, writing evidence to a fresh SQLite database);
* ``nmap -n -Pn -sT -p PORT --script dicom-ping``;

and reports endpoints/second, accuracy against the known policies and peak RSS. radguard is
also run on growing prefixes of the fleet to show memory as targets grow.

    .venv/bin/python benchmarks/discovery_throughput.py --responders 1000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.discovery_fleet import address, policy

ROOT = Path(__file__).resolve().parent.parent
RADGUARD = ROOT / ".venv" / "bin" / "radguard"
TRUTH = {"accept": "any-ae", "reject-calling": "calling-checked", "reject-called": "called-checked",
         "closed": "closed", "silent": "silent"}


def measure(cmd: list[str], stdout_path: Path) -> tuple[float, int, int]:
    """Run a command; return (seconds, peak RSS in KiB, exit code) of that process alone."""
    with open(stdout_path, "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.DEVNULL)
        _pid, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
    return elapsed, usage.ru_maxrss, os.waitstatus_to_exitcode(status)


def ranges(count: int) -> list[str]:
    out = []
    for block in range(0, count, 250):
        size = min(250, count - block)
        out.append(f"127.77.{block // 250}.1-{size}")
    return out


def radguard_labels(doc: dict) -> dict[str, str]:  # type: ignore[type-arg]
    labels = {}
    for e in doc["endpoints"]:
        if e["state"] != "open":
            labels[e["host"]] = e["state"]
        elif e["dicom"] is None:
            labels[e["host"]] = "silent"
        elif e["dicom"]["accepts_unknown_calling_ae"] is False:
            labels[e["host"]] = "calling-checked"
        elif e["dicom"]["accepts_any_called_ae"] is False:
            labels[e["host"]] = "called-checked"
        elif e["dicom"]["accepts_unknown_calling_ae"] and e["dicom"]["accepts_any_called_ae"]:
            labels[e["host"]] = "any-ae"
        else:
            labels[e["host"]] = "undetermined"
    return labels


def nmap_labels(xml_path: Path) -> dict[str, str]:
    labels = {}
    for host in ET.parse(xml_path).getroot().iter("host"):
        addr = host.find("address").get("addr")  # type: ignore[union-attr]
        port = host.find("ports/port")
        if port is None:
            labels[addr] = "unknown"
            continue
        state = port.find("state").get("state")  # type: ignore[union-attr]
        script = port.find("script[@id='dicom-ping']")
        output = script.get("output", "") if script is not None else ""
        if state != "open":
            labels[addr] = "closed" if state == "closed" else state
        elif "Any AET is accepted" in output:
            labels[addr] = "any-ae"
        elif "Called AET check enabled" in output:
            labels[addr] = "called-checked"
        else:
            labels[addr] = "silent"
    return labels


def accuracy(labels: dict[str, str], count: int) -> tuple[float, Counter[str]]:
    wrong: Counter[str] = Counter()
    right = 0
    for i in range(count):
        truth = TRUTH[policy(i)]
        got = labels.get(address(i), "missing")
        if got == truth:
            right += 1
        else:
            wrong[f"{policy(i)} reported as {got}"] += 1
    return right / count, wrong


def run_radguard(work: Path, count: int, port: int, timeout: float, concurrency: int) -> tuple[float, int, dict]:  # type: ignore[type-arg]
    db = f"sqlite:///{work / f'rg-{count}.db'}"
    subprocess.run([str(RADGUARD), "--db", db, "init"], check=True, capture_output=True)
    cmd = [str(RADGUARD), "--db", db, "discover", *ranges(count), "--ports", str(port), "--called-ae", "FLEETSCP",
           "--calling-ae", "KNOWNSCU", "--timeout", str(timeout), "--rate", "5000", "--concurrency",
           str(concurrency), "--per-host", "2", "--json"]
    out = work / f"rg-{count}.json"
    seconds, rss, code = measure(cmd, out)
    if code != 0:
        raise SystemExit(f"radguard failed with exit code {code}")
    return seconds, rss, json.loads(out.read_text())


ENGINE_ONLY = """
import asyncio, sys
from radguard.discovery.engine import ScanOptions, scan_endpoints
from radguard.discovery.targets import parse_target
specs, port, timeout, conc = sys.argv[1].split(","), int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
endpoints = ((host, port) for spec in specs for host in parse_target(spec).hosts())
opts = ScanOptions(timeout=timeout, rate=5000, concurrency=conc, per_host=2,
                   called_ae="FLEETSCP", calling_ae="KNOWNSCU")
results = asyncio.run(scan_endpoints(endpoints, opts))
print(len(results))
"""


def run_engine(work: Path, count: int, port: int, timeout: float, concurrency: int) -> tuple[float, int]:
    """The engine alone in a fresh interpreter (no CLI, no database): scan time and peak RSS."""
    cmd = [sys.executable, "-c", ENGINE_ONLY, ",".join(ranges(count)), str(port), str(timeout), str(concurrency)]
    seconds, rss, code = measure(cmd, work / f"engine-{count}.out")
    if code != 0:
        raise SystemExit(f"engine run failed with exit code {code}")
    return seconds, rss


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responders", type=int, default=1000)
    parser.add_argument("--port", type=int, default=11112, help="a port nmap's dicom-ping portrule fires on")
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--concurrency", type=int, default=512)
    parser.add_argument("--growth", default="250,500,1000,2000", help="radguard-only runs for the memory table")
    args = parser.parse_args()
    count = args.responders
    sizes = sorted({int(s) for s in args.growth.split(",")})
    fleet_size = max([count, *sizes])
    with tempfile.TemporaryDirectory(prefix="rg-bench-") as tmp:
        work = Path(tmp)
        fleet = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "discovery_fleet.py"), str(fleet_size),
                                  str(args.port)], stdout=subprocess.PIPE, env={**os.environ, "TCP_NODELAY": "1"})
        try:
            assert fleet.stdout is not None and fleet.stdout.readline().strip() == b"ready"
            truth = Counter(policy(i) for i in range(count))
            print(f"fleet: {fleet_size} responders; compared on the first {count}: {dict(truth)}")
            seconds, rss, doc = run_radguard(work, count, args.port, args.timeout, args.concurrency)
            from datetime import datetime
            scan_seconds = (datetime.fromisoformat(doc["scan"]["finished"])
                            - datetime.fromisoformat(doc["scan"]["started"])).total_seconds()
            rg_acc, rg_wrong = accuracy(radguard_labels(doc), count)
            (work / "targets.txt").write_text("\n".join(address(i) for i in range(count)) + "\n")
            nmap_cmd = ["nmap", "-n", "-Pn", "-sT", "-p", str(args.port), "--script", "dicom-ping",
                        "-iL", str(work / "targets.txt"), "-oX", str(work / "nmap.xml")]
            n_seconds, n_rss, _code = measure(nmap_cmd, work / "nmap.out")
            n_acc, n_wrong = accuracy(nmap_labels(work / "nmap.xml"), count)
            print(f"| radguard discover (whole command) | {seconds:.1f} s | {count / seconds:.0f} | {rg_acc:.1%} |"
                  f" {rss / 1024:.0f} MiB | {dict(rg_wrong) or 'none'}")
            print(f"| radguard discover (scan phase) | {scan_seconds:.1f} s | {count / scan_seconds:.0f} | | |")
            print(f"| nmap dicom-ping | {n_seconds:.1f} s | {count / n_seconds:.0f} | {n_acc:.1%} |"
                  f" {n_rss / 1024:.0f} MiB | {dict(n_wrong) or 'none'}")
            print(f"nmap command: {' '.join(nmap_cmd)}")
            for size in sizes:
                s, r = run_engine(work, size, args.port, args.timeout, args.concurrency)
                print(f"| engine only, {size} endpoints | {s:.1f} s | {size / s:.0f} endpoints/s |"
                      f" {r / 1024:.0f} MiB |")
        finally:
            fleet.terminate()
            fleet.wait(10)


if __name__ == "__main__":
    main()
