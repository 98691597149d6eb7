"""Benchmark: p50/p95/p99 latency of web pages at 100,000 assets under concurrent load.

Run:  .venv/bin/python benchmarks/web_latency.py --assets 100000 --assess --concurrency 8 --requests 200
      [--postgres | --url postgresql+psycopg://…] [--workers N] [--only roadmap --only findings …]

1. A fresh database (SQLite, or with ``--postgres`` a throwaway PostgreSQL server started as the
   test suite starts it, or ``--url`` an existing one) with N generated assets
   (``benchmarks/inventory_import.py``'s generator: 20 sites, an endpoint, an AE title and a
   software component each), imported with ``import_inventory``; with ``--assess`` also a full
   ``radguard assess`` (``readiness.dashboard.assess``: the findings, then the stored dashboard
   cards and roadmap) so the lists, the dashboard and the roadmap have real work to do.
2. ``radguard serve [--workers N]`` started as its own process on a free loopback port.
3. This process is the load: an httpx async client with ``--concurrency`` requests in flight,
   signed in with a real session cookie, fetching each URL ``--requests`` times after a
   warm-up. Latency is measured per request, from send to the last byte.

``--db PATH`` (SQLite) or ``--url`` keeps the generated database and reuses it on the next run
(generation is the slow part). The finding and asset pages are those of the open finding in the
middle of the ID range and its asset. Everything stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from inventory_import import generate_csv

ROOT = Path(__file__).resolve().parent.parent

URLS = {
    "dashboard": "/",
    "findings, first page": "/findings",
    "API findings, first page": "/api/v1/findings",
    "inventory, first page": "/inventory",
    "inventory, page 1,000": "/inventory?page=1000",
    "inventory, site + class, page 1": "/inventory?site=S07&asset_class=workstation",
    "inventory, site + class, page 1,000": "/inventory?site=S07&asset_class=workstation&page=1000",
    "API assets, first page": "/api/v1/assets",
    "inventory, search 2% of assets": "/inventory?q=product%2017",
    "inventory, search a name": "/inventory?q=asset-01234",
    "API assets, search 2% of assets": "/api/v1/assets?q=product%2017",
    "roadmap": "/roadmap",
    "roadmap, one site": "/roadmap?site=S07",
    "finding page": "/findings/{finding}",
    "asset page": "/inventory/{asset}",
}


def has_assets(url: str) -> bool:
    """Whether ``url`` already holds a generated inventory (then it is reused, not rebuilt)."""
    from sqlalchemy import func, inspect, select

    from radguard.db.models.inventory import Asset
    from radguard.db.session import open_database

    db = open_database(url)
    try:
        with db.engine.connect() as conn:
            if not inspect(conn).has_table("asset"):
                return False
        with db.read() as s:
            return bool(s.scalar(select(func.count()).select_from(Asset)))
    finally:
        db.dispose()


def build(url: str, assets: int, run_assess: bool) -> None:
    from radguard.db.migrate import upgrade
    from radguard.db.session import open_database
    from radguard.inventory.importer import import_inventory

    db = open_database(url)
    upgrade(db)
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp) / "inventory.csv"
        generate_csv(csv_path, assets)
        t = time.perf_counter()
        with db.transaction() as s:
            import_inventory(s, csv_path)
        print(f"imported {assets} assets in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    if run_assess:
        from radguard.readiness.dashboard import assess

        t = time.perf_counter()
        with db.transaction() as s:
            assess(s)
        print(f"assessed in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    db.dispose()


def sample_ids(url: str) -> dict[str, str]:
    """The finding page and asset page to fetch: the open finding in the middle of the ID range."""
    from sqlalchemy import func, select

    from radguard.db.models.findings import Finding
    from radguard.db.models.inventory import Asset
    from radguard.db.session import open_database

    db = open_database(url)
    with db.read() as s:
        top = s.scalar(select(func.max(Finding.id))) or 0
        row = s.execute(select(Finding.id, Finding.asset_id)
                        .where(Finding.id >= top // 2, Finding.asset_id.is_not(None))
                        .order_by(Finding.id).limit(1)).first()
        asset = row[1] if row else s.scalar(select(func.min(Asset.id)))
    db.dispose()
    return {"finding": str(row[0]) if row else "1", "asset": str(asset or 1)}


def session_cookie(url: str) -> str:
    """An admin account and a real server-side session for it (as a sign-in would create)."""
    from sqlalchemy import select

    from radguard.db.models.web import User
    from radguard.db.session import open_database
    from radguard.web.accounts import create_user, open_session

    db = open_database(url)
    with db.transaction() as s:
        user = s.scalar(select(User).where(User.username == "bench"))
        if user is None:
            user = create_user(s, "bench", "seven latency probes at once", "admin", "Benchmark")
        token = open_session(s, user, "127.0.0.1").token
    db.dispose()
    return token


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def load(base: str, cookie: str, path: str, total: int, concurrency: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, headers={"Cookie": f"rg_session={cookie}"}, limits=limits,
                                 timeout=120) as client:
        for _ in range(min(concurrency, 4)):  # warm-up
            (await client.get(path)).raise_for_status()

        async def worker() -> None:
            while True:
                try:
                    queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                t = time.perf_counter()
                r = await client.get(path)
                r.raise_for_status()
                _ = r.content
                latencies.append(time.perf_counter() - t)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, time.perf_counter() - start


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--assets", type=int, default=100_000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--requests", type=int, default=400, help="Requests per URL (after warm-up).")
    ap.add_argument("--assess", action="store_true", help="Also run a full assessment (findings, roadmap).")
    ap.add_argument("--db", type=Path, help="SQLite: keep the generated database here and reuse it.")
    ap.add_argument("--postgres", action="store_true",
                    help="a throwaway PostgreSQL server (as the test suite starts it) instead of SQLite")
    ap.add_argument("--url", help="an existing database URL (e.g. PostgreSQL); built if empty, else reused")
    ap.add_argument("--workers", type=int, default=1, help="server processes (radguard serve --workers)")
    ap.add_argument("--only", action="append", default=[], metavar="TEXT",
                    help="measure only the pages whose label contains TEXT (repeatable)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="radguard-web-bench-"))
    with ExitStack() as stack:
        if args.postgres:
            sys.path.insert(0, str(ROOT))
            from tests.support.postgres import create_database, postgres_server

            url = create_database(stack.enter_context(postgres_server()))
        else:
            url = args.url or f"sqlite:///{args.db or tmp / 'bench.db'}"
        try:
            if not has_assets(url):
                build(url, args.assets, args.assess)
            serve_and_load(args, url)
        finally:
            if args.db is None:
                shutil.rmtree(tmp, ignore_errors=True)


def serve_and_load(args: argparse.Namespace, url: str) -> None:
    """Start ``radguard serve`` on ``url`` and measure each page under load."""
    cookie = session_cookie(url)
    ids = sample_ids(url)
    urls = {label: path.format(**ids) for label, path in URLS.items()
            if not args.only or any(t in label for t in args.only)}
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # The server's log goes to a file: a pipe nobody reads fills up with access lines and stalls it.
    log = Path(tempfile.mkstemp(prefix="radguard-web-bench-", suffix=".log")[1])
    with log.open("wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "radguard.cli.main", "--db", url, "serve",
                                   "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers)],
                                  env=env, stdout=subprocess.DEVNULL, stderr=out)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60 + 60 * args.workers
        while True:
            started = log.read_text(errors="replace").count("Application startup complete")
            try:
                if started >= args.workers and httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("the server did not start: " + log.read_text(errors="replace"))
            time.sleep(0.2)
        print(f"{url.split('://')[0]}, {args.assets} assets, {args.concurrency} concurrent requests, "
              f"{args.requests} requests per URL, {args.workers} server process(es)")
        print("| page | p50 ms | p95 ms | p99 ms | requests/s | load average |\n|---|---|---|---|---|---|")
        for label, path in urls.items():
            latencies, wall = asyncio.run(load(base, cookie, path, args.requests, args.concurrency))
            print(f"| {label} (`{path}`) | {statistics.median(latencies) * 1000:.0f} | {pct(latencies, 0.95):.0f} | "
                  f"{pct(latencies, 0.99):.0f} | {len(latencies) / wall:.1f} | {os.getloadavg()[0]:.1f} |",
                  flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
