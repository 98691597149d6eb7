"""Benchmark: a full assessment of a large generated fleet.

Run:  .venv/bin/python benchmarks/assess_fleet.py --assets 10000 25000 50000

For each size: a fresh SQLite database with N assets spread over 20 sites (every asset class,
a mix of operating systems, zones and remote access), 2 software components per asset (a
share of them affected by real ICSMA advisories, e.g. DCMTK 3.6.x), an endpoint and AE title
per asset, probe evidence for 10% of assets, and the full CISA KEV catalog plus the 144 ICSMA
CSAF advisories imported with ``radguard feeds import``. Then ``assess`` runs twice in child
processes (first run creates every finding; second run is the steady state where findings
are only touched), each measured for wall time, CPU time (user + system) and peak RSS
(ru_maxrss) of its own process. The CPU time leaves out what other processes take from a
shared machine, and, on PostgreSQL, the server's own work.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager, ExitStack, closing
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parent.parent
# Feeds that ship with the repository; pass the full KEV catalog and CSAF corpus with --feeds.
SHIPPED_FEEDS = [ROOT / "src" / "radguard" / "demo" / "data", ROOT / "tests" / "fixtures" / "feeds"]

CHILD = """
import json, resource, sys, time
from radguard.db.session import open_database
from radguard.readiness.dashboard import assess  # what `radguard assess` runs: checks, then the stored cards
db = open_database(sys.argv[1])
t = time.perf_counter()
with db.transaction() as s:
    r = assess(s)
elapsed = time.perf_counter() - t
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"seconds": elapsed, "observations": r.observations, "created": r.created,
                  "cpu": usage.ru_utime + usage.ru_stime,
                  "timings": r.timings,
                  "unchanged": r.unchanged, "checks": r.checks,
                  "by_check": {k: v for k, v in r.observed_by_check.items() if v},
                  "rss_mb": usage.ru_maxrss / 1024}))
"""

CLASSES = ["modality", "modality", "modality", "pacs", "vna", "ai_application", "cloud_service", "reporting",
           "workstation", "workstation", "remote_access", "integration_engine", "network_device", "other"]
OSES = [("Windows", "7"), ("Windows", "10 IoT Enterprise LTSC 2019"), ("Windows", "XP Embedded"),
        ("Windows", "Server 2012 R2"), ("Linux", "CentOS 7"), ("Linux", "Debian 12"), ("Windows", "11 Pro"),
        (None, None)]
ZONES = ["imaging-modalities", "imaging-core", "clinical-general", "datacenter", "dmz", None]
REMOTE = ["none", "on-demand", "always-on", None]
COMPONENTS = [("OFFIS", "DCMTK", "3.6.6"), ("OFFIS", "DCMTK", "3.6.8"), ("Orthanc", "Orthanc", "1.5.6"),
              ("Philips", "Vue PACS", "12.2.1"), ("Microsoft", "Windows", "10"),
              ("MicroDicom", "DICOM Viewer", "2023.3"),
              ("Acme", "Imaging Suite", "5.1"), ("Santesoft", "Sante DICOM Viewer Pro", "14.0.2")]


def build(url: str, n: int, feeds: list[str]) -> None:
    from radguard.db.migrate import upgrade
    from radguard.db.models.evidence import Evidence
    from radguard.db.models.inventory import AETitle, Asset, Endpoint, Site, SoftwareComponent
    from radguard.db.session import open_database

    db = open_database(url)
    upgrade(db)
    now = datetime.now(UTC)
    with db.transaction() as s:
        s.execute(insert(Site), [{"id": i + 1, "code": f"S{i:02d}", "name": f"Site {i}"} for i in range(20)])
        assets, eps, aes, comps, probes = [], [], [], [], []
        for i in range(n):
            aid = i + 1
            os_name, os_version = OSES[i % len(OSES)]
            cls = CLASSES[i % len(CLASSES)]
            assets.append({
                "id": aid, "site_id": 1 + i % 20, "name": f"A{i:06d}", "asset_class": cls,
                "vendor": "Vendor", "product": f"P{i % 50}", "os_name": os_name, "os_version": os_version,
                "owner": None if i % 17 == 0 else "Imaging", "criticality": None if i % 23 == 0 else 1 + i % 5,
                "network_zone": ZONES[i % len(ZONES)], "stores_phi": True if i % 3 else None,
                "end_of_support": date(2024 + i % 10, 6, 30) if i % 4 else None,
                "remote_access": REMOTE[i % len(REMOTE)], "remote_access_mfa": bool(i % 2),
                "buffer_hours": 24.0 if i % 5 == 0 else None, "auto_delete_policy": None,
                "tags": [],
                "attributes": {"baa_signed": bool(i % 2)} if cls in ("ai_application", "cloud_service") else {},
                "source": "import", "confirmed": i % 50 != 0, "last_reviewed": date(2026, 1 + i % 11, 1),
                "created_at": now, "updated_at": now,
            })
            host = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
            proto = ["dicom", "dicom", "https", "hl7-mllp", "rdp", "dicom-tls"][i % 6]
            eps.append({"asset_id": aid, "host": host, "port": 104, "protocol": proto, "source": "import"})
            aes.append({"asset_id": aid, "ae_title": f"AE{i:06d}"})
            for k in range(2):
                v, p, ver = COMPONENTS[(i + 3 * k) % len(COMPONENTS)]
                comps.append({"asset_id": aid, "vendor": v, "product": p, "version": ver, "source": "import"})
            if i % 10 == 0:
                probes.append({"kind": "probe.endpoint", "asset_id": aid, "host": host, "port": 104,
                               "collected_at": now, "sent": {"level": 2}, "source": "bench",
                               "received": {"host": host, "port": 104, "state": "open", "service": "dicom",
                                            "dicom": {"accepts_unknown_calling_ae": i % 20 == 0,
                                                      "accepts_any_called_ae": i % 30 == 0, "anonymous_query": None},
                                            "tls": None, "http": None, "errors": []}})
        for table, rows in ((Asset, assets), (Endpoint, eps), (AETitle, aes), (SoftwareComponent, comps),
                            (Evidence, probes)):
            for start in range(0, len(rows), 10000):
                s.execute(insert(table), rows[start:start + 10000])
    db.dispose()
    subprocess.run([sys.executable, "-m", "radguard.cli.main", "--db", url, "feeds", "import", "--json",
                    *feeds], check=True, stdout=subprocess.DEVNULL)


def measure(url: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, "-c", CHILD, url], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, nargs="+", default=[10000, 25000, 50000])
    parser.add_argument("--feeds", nargs="+", metavar="DIR", default=[str(p) for p in SHIPPED_FEEDS],
                        help="feed files or directories to import (default: the feeds shipped in the repository)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run the pair of assessments on this many fresh copies of each database and "
                             "report the median and the best (a shared machine's speed varies by tens of %%)")
    parser.add_argument("--postgres", action="store_true",
                        help="use a throwaway PostgreSQL server (started as the test suite starts it) instead "
                             "of SQLite; the fleet is built once per size and each repeat runs on a copy of it "
                             "(CREATE DATABASE ... TEMPLATE)")
    args = parser.parse_args()
    with ExitStack() as stack:
        server = stack.enter_context(_postgres_server()) if args.postgres else None
        _run(args, server)
    print(f"reference loop after: {reference_loop():.2f} s", file=sys.stderr, flush=True)


def _postgres_server() -> AbstractContextManager[str]:
    sys.path.insert(0, str(ROOT))
    from tests.support.postgres import postgres_server

    return postgres_server()


def _run(args: argparse.Namespace, server: str | None) -> None:
    print("| assets | checks | findings | 1st assess (s) | 1st CPU (s) | 1st peak RSS (MB) | 2nd assess (s) | "
          "2nd CPU (s) | 2nd peak RSS (MB) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.assets:
        print(f"reference loop before {n:,} assets: {reference_loop():.2f} s", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            firsts, seconds = [], []
            setup = 0.0
            t = time.perf_counter()
            if server is None:
                base = Path(tmp) / "base.db"
                build(f"sqlite:///{base}", n, args.feeds)
                with closing(sqlite3.connect(base)) as raw:  # everything in the main file, so one copy is whole
                    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            else:
                from tests.support.postgres import create_database

                template = create_database(server)
                build(template, n, args.feeds)
            setup = time.perf_counter() - t
            for _ in range(args.repeat):
                if server is None:
                    copy = Path(tmp) / "bench.db"
                    shutil.copyfile(base, copy)
                    url = f"sqlite:///{copy}"
                else:
                    url = _copy_database(template)
                firsts.append(measure(url))
                seconds.append(measure(url))
                if server is None:
                    copy.unlink()
            first, second = _median(firsts), _median(seconds)
            print(f"| {n:,} | {first['checks']} | {first['observations']:,} | {_times(firsts)} | "
                  f"{first['cpu']:.1f} | {first['rss_mb']:.0f} | {_times(seconds)} | {second['cpu']:.1f} | "
                  f"{second['rss_mb']:.0f} |", flush=True)
            print(f"<!-- setup {setup:.0f}s; phases of the median runs: 1st {json.dumps(_rounded(first['timings']))}; "
                  f"2nd {json.dumps(_rounded(second['timings']))}; "
                  f"observations by check: {json.dumps(first['by_check'])} -->", file=sys.stderr, flush=True)


def _copy_database(template_url: str) -> str:
    """A fresh database on the same server with the template's contents (PostgreSQL's own copy).

    Building a 50,000-asset fleet (inserts, then ``feeds import``) takes minutes on PostgreSQL;
    each repeat needs the same starting point, not a rebuild.
    """
    import uuid

    import psycopg

    base, _, source = template_url.rpartition("/")
    name = "rg_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base.replace("postgresql+psycopg://", "postgresql://") + "/postgres",
                         autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    return f"{base}/{name}"


def reference_loop() -> float:
    """Seconds for a fixed pure-Python loop in a fresh interpreter: how fast the machine is now.

    A shared machine's speed varies by tens of per cent within minutes; printing this beside the
    results lets a reader compare runs made at different times.
    """
    code = ("import time; t = time.perf_counter(); s = 0\n"
            "for i in range(20_000_000): s += i\n"
            "print(time.perf_counter() - t)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    return float(out.strip())


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]


def _times(runs: list[dict[str, Any]]) -> str:
    """"9.8" for one run; "9.8 (best 9.1, 3 runs)" for several: the median first."""
    median = _median(runs)["seconds"]
    if len(runs) == 1:
        return f"{median:.1f}"
    return f"{median:.1f} (best {min(r['seconds'] for r in runs):.1f}, {len(runs)} runs)"


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 2) for k, v in timings.items()}


if __name__ == "__main__":
    main()
