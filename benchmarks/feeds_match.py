"""Advisory matching at scale: N assets with software components against the full KEV catalog
and every ICSMA advisory.

Run: ``.venv/bin/python benchmarks/feeds_match.py --assets 50000
      --feeds /work/shared/data/advisories/csaf-icsma /work/shared/data/kev/known_exploited_vulnerabilities.json``

Builds a fresh SQLite database, imports the feeds, inserts N assets (each with three
components: one imaging product that advisories name, in a version that may or may not be
affected, and two that no advisory names) plus a discovery fingerprint for every tenth asset,
then times :func:`radguard.feeds.matching.match_assets` and the two checks built on it.
"""

from __future__ import annotations

import argparse
import random
import resource
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select

from radguard.checks.registry import CheckContext, load_evaluators
from radguard.db.migrate import upgrade
from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Asset, Site, SoftwareComponent
from radguard.db.session import open_database
from radguard.feeds.importer import collect_files, read_feeds
from radguard.feeds.matching import match_assets
from radguard.feeds.store import store_feeds

NAMED = [  # (vendor, product, versions) as inventories write them
    ("OFFIS", "DCMTK", ["3.6.5", "3.6.6", "3.6.7", "3.6.8"]),
    ("Philips", "Vue PACS", ["12.2.1", "12.2.8.410", "12.3.0"]),
    ("Philips", "IntelliSpace Portal", ["7.0.4", "8.0.2", "9.0.1", "11.1"]),
    ("MicroDicom", "DICOM Viewer", ["2023.1", "2024.2", "2025.1"]),
    ("GE Healthcare", "Vivid 7", ["BT04", "BT08"]),
    ("Santesoft", "Sante DICOM Viewer Pro", ["14.0.3", "14.1.0"]),
    ("Philips", "IntelliSpace PACS", ["4.4.553"]),
    ("Siemens", "syngo.via", ["VB60A"]),
]


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--assets", type=int, default=50_000)
    here = Path(__file__).resolve().parent.parent
    ap.add_argument("--feeds", nargs="+", default=[str(here / "src/radguard/demo/data"),
                                                   str(here / "tests/fixtures/feeds")],
                    help="KEV/CSAF files or folders (default: the samples shipped in the repository; the published "
                         "numbers used the full CISA KEV catalog and all 144 ICSMA advisories, passed by path)")
    args = ap.parse_args()
    rnd = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(db)
        t = time.perf_counter()
        feeds = read_feeds(collect_files([Path(p) for p in args.feeds]))
        with db.transaction() as s:
            summary = store_feeds(s, feeds)
        print(f"feeds import: {summary.files} files, {summary.advisories_added} advisories, "
              f"{summary.kev_added} KEV entries in {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        with db.transaction() as s:
            s.add(Site(code="BENCH", name="Bench"))
            s.flush()
            site_id = s.scalar(select(Site.id))
            s.execute(insert(Asset), [{"site_id": site_id, "name": f"A{i:06d}", "asset_class": "workstation",
                                       "tags": [], "attributes": {}} for i in range(args.assets)])
            ids = list(s.scalars(select(Asset.id).order_by(Asset.id)))
            rows = []
            for i, aid in enumerate(ids):
                vendor, product, versions = NAMED[i % len(NAMED)]
                rows.append({"asset_id": aid, "vendor": vendor, "product": product, "version": rnd.choice(versions)})
                rows.append({"asset_id": aid, "vendor": f"Vendor {i % 700}", "product": f"Tool {i % 300}",
                             "version": f"{i % 9}.{i % 5}"})
                rows.append({"asset_id": aid, "vendor": "Microsoft", "product": "Windows 10", "version": "22H2"})
            s.execute(insert(SoftwareComponent), rows)
            s.execute(insert(Evidence), [{"kind": "probe.endpoint", "asset_id": aid, "host": "127.0.0.1", "port": 104,
                                          "sent": {}, "received": {"dicom": {"product": "DCMTK", "version": "3.6.4"}}}
                                         for aid in ids[::10]])
        print(f"seeded {args.assets} assets, {len(rows)} components in {time.perf_counter() - t:.2f} s")
        base = rss_mib()
        with db.read() as s:
            t = time.perf_counter()
            matches = match_assets(s)
            elapsed = time.perf_counter() - t
        affected = sum(1 for m in matches if m.match.status == "affected")
        print(f"match_assets: {len(matches)} (asset, advisory) matches ({affected} affected) in {elapsed:.2f} s; "
              f"peak RSS {rss_mib():.0f} MiB (before: {base:.0f} MiB)")
        evaluators = load_evaluators()
        with db.read() as s:
            ctx = CheckContext(s)
            t = time.perf_counter()
            ctx.assets()
            loaded = time.perf_counter() - t
            t = time.perf_counter()
            kev = list(evaluators["RG-KEV"](ctx))
            adv = list(evaluators["RG-ADVISORY"](ctx))
            elapsed = time.perf_counter() - t
        print(f"RG-KEV {len(kev)} + RG-ADVISORY {len(adv)} observations in {elapsed:.2f} s "
              f"(plus {loaded:.2f} s for the engine's shared asset load); peak RSS {rss_mib():.0f} MiB")
        db.dispose()


if __name__ == "__main__":
    main()
