"""Benchmark: import a large generated inventory (CSV and JSON) into a fresh database.

Run:  .venv/bin/python benchmarks/inventory_import.py --rows 100000
      .venv/bin/python benchmarks/inventory_import.py --rows 100000 --postgres
      .venv/bin/python benchmarks/inventory_import.py --rows 100000 --url postgresql+psycopg://postgres@127.0.0.1:5432

Each import runs in a child process so that its peak memory (ru_maxrss) is its own, into a new
SQLite file, or with ``--postgres`` (a throwaway server started as the tests start it) or
``--url`` (a PostgreSQL server's base URL, no database name) into a new database on that server.
The child reports the import's wall time and its own CPU time, so the rest of the wall time is
the database server's (and waiting for it).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from radguard.inventory.schema import CSV_COLUMNS

ROOT = Path(__file__).resolve().parent.parent

CHILD = """
import resource, sys, time
from pathlib import Path
from radguard.db.migrate import upgrade
from radguard.db.session import open_database
from radguard.inventory.importer import import_inventory
db = open_database(sys.argv[1]); upgrade(db)
t, cpu = time.perf_counter(), time.process_time()
with db.transaction() as s:
    r = import_inventory(s, Path(sys.argv[2]))
elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
print(elapsed, r.assets_created, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, cpu)
"""


def generate_csv(path: Path, rows: int) -> None:
    classes = ["modality", "pacs", "workstation", "network_device", "other"]
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=[*CSV_COLUMNS, "site_name"])
        w.writeheader()
        for i in range(rows):
            site = f"S{i % 20:02d}"
            w.writerow({
                "site": site, "site_name": f"Site {site}", "name": f"ASSET-{i:06d}",
                "class": classes[i % len(classes)], "vendor": "Vendor", "product": f"Product {i % 50}",
                "software_version": f"{i % 9}.{i % 7}.{i % 5}", "os_name": "Windows", "os_version": "10",
                "criticality": str(1 + i % 5), "network_zone": f"zone-{i % 30}", "stores_phi": "yes",
                "endpoints": f"dicom://10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}:104",
                "ae_titles": f"AE{i:06d}", "software": f"OFFIS|DCMTK|3.6.{i % 8}", "tags": "bench",
                **{c: "" for c in ("modality_type", "serial", "owner", "end_of_support", "remote_access",
                                   "remote_access_mfa", "buffer_hours", "buffer_studies",
                                   "auto_delete_policy", "last_reviewed", "attributes")},
            })


def csv_to_json(src: Path, dst: Path) -> None:
    from radguard.inventory.csvcodec import decode_row

    sites = {}
    with src.open() as fh, dst.open("w") as out:
        out.write('{"format": "radguard-inventory", "version": 1, "assets": [\n')
        for i, row in enumerate(csv.DictReader(fh)):
            sites[row["site"]] = row["site_name"]
            data = {k: v for k, v in decode_row(row).items() if v not in (None, [], {})}
            data["class"] = data.pop("class")
            out.write(("," if i else "") + json.dumps(data) + "\n")
        out.write('], "sites": ' + json.dumps([{"code": c, "name": n} for c, n in sites.items()]) + "}\n")


def run(url: str, path: Path) -> tuple[float, int, int, float]:
    """(wall seconds, assets created, peak RSS in KiB, the importing process's CPU seconds)."""
    out = subprocess.run([sys.executable, "-c", CHILD, url, str(path)],
                         check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]), int(out[2]), float(out[3])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--postgres", action="store_true", help="import into a throwaway PostgreSQL server")
    ap.add_argument("--url", help="a PostgreSQL server's base URL (postgresql+psycopg://user@host:port)")
    ap.add_argument("--only", choices=("csv", "json"), action="append", help="only this format (repeatable)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        work = Path(tmp)
        server = args.url
        if args.postgres:
            sys.path.insert(0, str(ROOT))
            from tests.support.postgres import postgres_server

            server = stack.enter_context(postgres_server())
        src = work / "inv.csv"
        generate_csv(src, args.rows)
        js = work / "inv.json"
        csv_to_json(src, js)
        print(f"rows: {args.rows}; CSV {src.stat().st_size / 1e6:.1f} MB; JSON {js.stat().st_size / 1e6:.1f} MB; "
              f"{'PostgreSQL' if server else 'SQLite'}; load average {os.getloadavg()[0]:.1f}")
        for fmt, path in (("csv", src), ("json", js)):
            if args.only and fmt not in args.only:
                continue
            if server:
                sys.path.insert(0, str(ROOT))
                from tests.support.postgres import create_database

                url = create_database(server)
            else:
                url = f"sqlite:///{work / f'bench-{fmt}.db'}"
            secs, created, rss_kb, cpu = run(url, path)
            print(f"{fmt}: {created} assets in {secs:.1f} s ({created / secs:,.0f} rows/s), "
                  f"importer CPU {cpu:.1f} s, peak RSS {rss_kb / 1024:.0f} MiB, "
                  f"load average {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
