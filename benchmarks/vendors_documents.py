"""How long MDS2 and SBOM imports take: a full 2019 MDS2 workbook and a large CycloneDX SBOM.

Usage: .venv/bin/python benchmarks/vendors_documents.py --components 5000
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.vendors.mds2_forms import WEAK_DEVICE, build_workbook  # noqa: E402

from radguard.db.migrate import upgrade  # noqa: E402
from radguard.db.session import open_database  # noqa: E402
from radguard.inventory.importer import import_inventory  # noqa: E402
from radguard.inventory.mds2 import import_mds2  # noqa: E402
from radguard.inventory.sbom import import_sbom  # noqa: E402


def _sbom(path: Path, n: int) -> None:
    comps = [{"type": "library", "name": f"lib{i}", "version": f"1.{i % 50}.{i % 7}",
              "supplier": {"name": f"Supplier {i % 300}"}, "purl": f"pkg:generic/supplier{i % 300}/lib{i}@1.{i % 50}",
              "cpe": f"cpe:2.3:a:supplier{i % 300}:lib{i}:1.{i % 50}:*:*:*:*:*:*:*"} for i in range(n)]
    path.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1, "components": comps}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--components", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        db = open_database(f"sqlite:///{d / 'b.db'}")
        upgrade(db)
        with db.transaction() as s:
            import_inventory(s, ROOT / "examples" / "northwind-inventory.yaml")
        wb = build_workbook(d / "mds2.xlsx", WEAK_DEVICE)
        t = time.perf_counter()
        with db.transaction() as s:
            r = import_mds2(s, wb, "NWH-MAIN/CT-ED-1")
        print(f"MDS2 workbook ({r.answers} answers): {time.perf_counter() - t:.2f} s")
        sbom = d / "big.cdx.json"
        _sbom(sbom, args.components)
        for label in ("first import", "re-import (no changes)"):
            t = time.perf_counter()
            with db.transaction() as s:
                res = import_sbom(s, sbom, "NWH-MAIN/PACS-CORE")
            print(f"CycloneDX SBOM, {res.components} components, {label}: {time.perf_counter() - t:.2f} s "
                  f"({res.created} created, {res.updated} updated)")
        db.dispose()


if __name__ == "__main__":
    main()
