"""A site-limited account's roadmap: read from the stored per-site rows against ranking it live.

Builds (or reuses, with ``--db``) the web-latency inventory (20 sites, ``inventory_import``'s
generator) with a full assessment, then times, for one site and for two sites,
``readiness.roadmap_store.current_roadmap(scope=…)`` (what the pages, API and dashboard card now
read) against ``readiness.roadmap.build_roadmap(scope=…)`` (what they ran per request before),
interleaved, medians of ``--repeat`` runs, and checks that both give the same document.
Not part of CI. docs/benchmarks.md has the command and the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from web_latency import build, has_assets  # benchmarks/ is on the path when this script runs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--assets", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--db", type=Path, help="SQLite: keep the generated database here and reuse it.")
    ap.add_argument("--url", help="an existing database URL (e.g. PostgreSQL); built if empty, else reused")
    args = ap.parse_args()

    from radguard.db.session import open_database
    from radguard.readiness.roadmap import build_roadmap
    from radguard.readiness.roadmap_store import current_roadmap

    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{args.db or Path(tmp) / 'roadmap.db'}"
        if not has_assets(url):
            build(url, args.assets, run_assess=True)
        db = open_database(url)
        try:
            for scope in (frozenset({"S07"}), frozenset({"S07", "S13"})):
                stored, live = [], []
                with db.read() as s:
                    as_of = current_roadmap(s).doc["as_of"]
                    got = current_roadmap(s, full=True, scope=scope)
                    want = build_roadmap(s, today=as_of, scope=scope)
                    assert got.ranked_at is not None, "no stored ranking read"
                    same = json.dumps(got.doc, default=str, sort_keys=True) == \
                        json.dumps(want, default=str, sort_keys=True)
                    for _ in range(args.repeat):
                        t = time.perf_counter()
                        current_roadmap(s, scope=scope)
                        stored.append(time.perf_counter() - t)
                        t = time.perf_counter()
                        build_roadmap(s, today=as_of, scope=scope)
                        live.append(time.perf_counter() - t)
                a, b = statistics.median(stored), statistics.median(live)
                print(f"{'+'.join(sorted(scope))}: stored rows {a * 1000:.1f} ms, live ranking {b * 1000:.1f} ms "
                      f"({b / a:.1f}x), same document: {same}")
        finally:
            db.dispose()


if __name__ == "__main__":
    main()
