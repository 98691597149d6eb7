"""Benchmark: the inventory search's trigram index against the ``LIKE '%…%'`` scan it replaced.

Run:  .venv/bin/python benchmarks/inventory_search.py --db /tmp/webbench/bench100k.db
      .venv/bin/python benchmarks/inventory_search.py --postgres --assets 100000

Each round calls ``inventory.queries.query_assets(q=…)`` (the page of 50 and its count, exactly
what ``/inventory?q=`` and ``/api/v1/assets?q=`` run) twice, interleaved: once with the real
``search_match`` (SQLite FTS5 trigram table, PostgreSQL pg_trgm GIN indexes) and once with the
previous filter, ``name/vendor/product LIKE '%q%'`` (ILIKE on PostgreSQL), which reads every
asset. On PostgreSQL that ILIKE is the same SQL the index serves, so its rounds run with
``enable_bitmapscan`` off: the GIN indexes are reachable only by bitmap scans, so the planner
plans as it did before the indexes existed. Medians of ``--rounds`` rounds per search term, and their ratio.

``--db`` reuses a SQLite database built by ``benchmarks/web_latency.py --db`` (the same
generated inventory); ``--postgres`` starts a throwaway server as the tests do and imports
``--assets`` generated assets into it first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from radguard.db.session import Database

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parent.parent

TERMS = {
    "a name (10 matches)": "asset-01234",
    "a product (2% of assets)": "product 17",
    "a word in every product (100%)": "product",
}


def scan_match(session: object, q: str, **_: object) -> object:
    """The search before the trigram index: a substring test on every row."""
    from sqlalchemy import or_

    from radguard.db.models.inventory import Asset

    pattern = f"%{q}%"
    sqlite = session.get_bind().dialect.name == "sqlite"  # type: ignore[attr-defined]
    cols = (Asset.name, Asset.vendor, Asset.product)
    return or_(*(c.like(pattern) if sqlite else c.ilike(pattern) for c in cols))


def timed(db: Database, q: str, match: Callable[..., object] | None) -> tuple[float, int]:
    """Seconds for one ``query_assets(q=q)`` (page and count), and the count; ``match`` replaces
    ``search_match`` for the call."""
    import radguard.inventory.queries as queries

    real = queries.search_match
    try:
        if match is not None:
            queries.search_match = match  # type: ignore[assignment]
        with db.read() as s:
            if match is not None and db.engine.dialect.name == "postgresql":
                # The old filter was the same ILIKE: keep the planner off the GIN indexes (it
                # can use them only through bitmap scans), as it was before migration 0039.
                s.execute(text("SET LOCAL enable_bitmapscan = off"))
            t = time.perf_counter()
            page = queries.query_assets(s, q=q)
            return time.perf_counter() - t, page.total
    finally:
        queries.search_match = real


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", type=Path, help="an existing SQLite database built by web_latency.py --db")
    ap.add_argument("--url", help="an existing database URL with a generated inventory")
    ap.add_argument("--postgres", action="store_true", help="a throwaway PostgreSQL server, filled first")
    ap.add_argument("--assets", type=int, default=100_000, help="with --postgres: how many assets to import")
    ap.add_argument("--rounds", type=int, default=21)
    args = ap.parse_args()
    with ExitStack() as stack:
        if args.postgres:
            sys.path.insert(0, str(ROOT))
            from tests.support.postgres import create_database, postgres_server
            from web_latency import build

            url = create_database(stack.enter_context(postgres_server()))
            build(url, args.assets, False)
        elif args.url:
            url = args.url
        elif args.db:
            url = f"sqlite:///{args.db}"
        else:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            from web_latency import build

            url = f"sqlite:///{tmp / 'bench.db'}"
            build(url, args.assets, False)
        from radguard.db.session import open_database

        db = open_database(url)
        stack.callback(db.dispose)
        with db.read() as s:  # a connection in the pool before the first timed call
            s.execute(text("SELECT 1"))
        print(f"{url.split('://')[0]}, {args.rounds} interleaved rounds, load average {os.getloadavg()[0]:.1f}")
        print("| search | matches | trigram index, median ms | LIKE scan, median ms | scan / index |")
        print("|---|---|---|---|---|")
        for label, q in TERMS.items():
            indexed: list[float] = []
            scanned: list[float] = []
            totals = set()
            for _ in range(args.rounds):
                t, n = timed(db, q, None)
                indexed.append(t)
                totals.add(n)
                t, n = timed(db, q, scan_match)
                scanned.append(t)
                totals.add(n)
            assert len(totals) == 1, f"the two searches disagree for {q!r}: {totals}"
            a, b = statistics.median(indexed) * 1000, statistics.median(scanned) * 1000
            print(f"| {label} (`{q}`) | {totals.pop():,} | {a:.1f} | {b:.1f} | {b / a:.1f}× |", flush=True)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
