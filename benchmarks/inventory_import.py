"""Benchmark: import a large generated inventory (CSV and JSON) into a fresh SQLite database.

Run:  .venv/bin/python benchmarks/inventory_import.py --rows 100000

Each import runs in a child process so that its peak memory (ru_maxrss) is its own.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from radguard.inventory.schema import CSV_COLUMNS

CHILD = """
import resource, sys, time
from pathlib import Path
from radguard.db.migrate import upgrade
from radguard.db.session import open_database
from radguard.inventory.importer import import_inventory
db = open_database(sys.argv[1]); upgrade(db)
t = time.perf_counter()
with db.transaction() as s:
    r = import_inventory(s, Path(sys.argv[2]))
elapsed = time.perf_counter() - t
print(elapsed, r.assets_created, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
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


def run(fmt: str, path: Path, workdir: Path) -> tuple[float, int, int]:
    db = workdir / f"bench-{fmt}.db"
    out = subprocess.run([sys.executable, "-c", CHILD, f"sqlite:///{db}", str(path)],
                         check=True, capture_output=True, text=True).stdout.split()
    return float(out[0]), int(out[1]), int(out[2])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = work / "inv.csv"
        generate_csv(src, args.rows)
        js = work / "inv.json"
        csv_to_json(src, js)
        print(f"rows: {args.rows}; CSV {src.stat().st_size / 1e6:.1f} MB; JSON {js.stat().st_size / 1e6:.1f} MB")
        for fmt, path in (("csv", src), ("json", js)):
            secs, created, rss_kb = run(fmt, path, work)
            print(f"{fmt}: {created} assets in {secs:.1f} s ({created / secs:,.0f} rows/s), "
                  f"peak RSS {rss_kb / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
