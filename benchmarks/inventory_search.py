"""Benchmark: the inventory search against the ``LIKE '%…%'`` scan it replaced.

Run:  .venv/bin/python benchmarks/inventory_search.py --db /tmp/webbench/bench100k.db
      .venv/bin/python benchmarks/inventory_search.py --postgres --assets 100000

Each round times, interleaved, ``inventory.queries.query_assets(q=…)`` (the page of 50 and its
count, exactly what ``/inventory?q=`` and ``/api/v1/assets?q=`` run: SQLite FTS5 trigram table,
PostgreSQL pg_trgm GIN indexes, the count stopping at ``SEARCH_COUNT_CAP``) and the search as it
was before the index (:func:`scan_search`: an exact ``count(*)`` and the page of the site order,
both filtering ``name/vendor/product LIKE '%q%'`` — ILIKE on PostgreSQL — on every row). On
PostgreSQL that ILIKE is the SQL the index serves, so the scan's rounds run with
``enable_bitmapscan`` off: the GIN indexes are reachable only by bitmap scans, so the planner plans
as it did before the indexes existed. Medians of ``--rounds`` rounds per search term, and their
ratio. Every round checks the answers agree: the same first page of assets, and a count equal
to the scan's exact one, or the cap with ``more`` set when the scan counted more.

``--db`` reuses a SQLite database built by ``benchmarks/web_latency.py --db`` (the same
generated inventory); ``--url`` an existing database; ``--postgres`` starts a throwaway server
as the tests do and imports ``--assets`` generated assets into it first.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select, text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from radguard.db.session import Database

sys.path.insert(0, str(Path(__file__).resolve().parent))
ROOT = Path(__file__).resolve().parent.parent

TERMS = {
    "a name (10 matches)": "asset-01234",
    "a product (2% of assets)": "product 17",
    "a word in every product (100%)": "product",
}


def scan_search(session: Session, q: str, per_page: int = 50) -> tuple[list[int], int]:
    """The search before the trigram index: an exact count and the first page of the site order,
    both testing every row with a substring match. (The page IDs, the count.)"""
    from radguard.db.models.inventory import Asset

    pattern = f"%{q}%"
    sqlite = session.get_bind().dialect.name == "sqlite"
    match = or_(*(c.like(pattern) if sqlite else c.ilike(pattern) for c in (Asset.name, Asset.vendor, Asset.product)))
    total = int(session.scalar(select(func.count(Asset.id)).where(match)) or 0)
    ids = list(session.scalars(select(Asset.id).where(match).order_by(Asset.site_id, Asset.name).limit(per_page + 1)))
    return ids[:per_page], total


def timed(db: Database, q: str, scan: bool) -> tuple[float, list[int], int, bool]:
    """Seconds for one search (``query_assets``, or with ``scan`` :func:`scan_search`), its page's
    IDs, its count and whether the count stopped at the cap."""
    from radguard.inventory.queries import query_assets

    with db.read() as s:
        if scan and db.engine.dialect.name == "postgresql":
            # The old filter was the same ILIKE: keep the planner off the GIN indexes (it
            # can use them only through bitmap scans), as it was before migration 0039.
            s.execute(text("SET LOCAL enable_bitmapscan = off"))
        t = time.perf_counter()
        if scan:
            ids, total = scan_search(s, q)
            return time.perf_counter() - t, ids, total, False
        page = query_assets(s, q=q)
        return time.perf_counter() - t, [r.id for r in page.rows], page.total, page.more


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
        print("| search | matches | search, median ms | LIKE scan, median ms | scan / search |")
        print("|---|---|---|---|---|")
        from radguard.inventory.queries import SEARCH_COUNT_CAP

        for label, q in TERMS.items():
            indexed: list[float] = []
            scanned: list[float] = []
            for _ in range(args.rounds):
                t, ids, total, more = timed(db, q, scan=False)
                indexed.append(t)
                t, scan_ids, exact, _ = timed(db, q, scan=True)
                scanned.append(t)
                assert ids == scan_ids, f"the two searches list different assets for {q!r}"
                assert (total, more) == (min(exact, SEARCH_COUNT_CAP), exact > SEARCH_COUNT_CAP), \
                    f"the counts disagree for {q!r}: {total} (more: {more}) against {exact}"
            a, b = statistics.median(indexed) * 1000, statistics.median(scanned) * 1000
            shown = f"{exact:,}" + (f" (shown as more than {total:,})" if more else "")
            print(f"| {label} (`{q}`) | {shown} | {a:.1f} | {b:.1f} | {b / a:.1f}× |", flush=True)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
