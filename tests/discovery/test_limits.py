"""Per-host caps hold under concurrency, and host bookkeeping does not grow with the range."""

from __future__ import annotations

import asyncio
import time

import pytest

from radguard.discovery.engine import ScanOptions, run_scan
from radguard.discovery.limits import Limits
from tests.support.peers import recording_listener


def test_per_host_cap_and_forgetting_idle_hosts() -> None:
    limits = Limits(rate=0, per_host=2)
    active = {"a": 0, "b": 0}
    peak = {"a": 0, "b": 0}

    async def use(host: str) -> None:
        await limits.acquire(host)
        active[host] += 1
        peak[host] = max(peak[host], active[host])
        await asyncio.sleep(0.001)
        active[host] -= 1
        limits.release(host)

    async def main() -> None:
        await asyncio.gather(*(use(h) for h in ["a", "b"] * 20))

    asyncio.run(main())
    assert peak == {"a": 2, "b": 2}
    assert limits._hosts == {}  # idle, well-behaved hosts are forgotten


def test_failed_host_is_remembered_for_back_off() -> None:
    limits = Limits(rate=0, per_host=1)

    async def main() -> None:
        await limits.acquire("x")
        limits.release("x")
        limits.failed("x")
        await limits.acquire("x")  # waits for the back-off, then proceeds
        limits.release("x")

    asyncio.run(main())
    assert limits._hosts["x"].failures == 1 and limits._hosts["x"].users == 0


def _busiest_second(stamps: list[float]) -> int:
    """The most connections accepted in any one-second window (every window starting at an accept)."""
    stamps = sorted(stamps)
    return max((sum(1 for t in stamps[i:] if t - start < 1.0) for i, start in enumerate(stamps)), default=0)


@pytest.mark.parametrize("rate, connections", [(2, 6), (5, 12)])
def test_rate_cap_holds_in_every_second_on_the_wire(rate: int, connections: int) -> None:
    """The cap is a promise to fragile devices: measured where they see it, from the first second.

    A listener timestamps every connection it accepts; the scan reaches it ``connections``
    times (level 1: connect only) with nothing else holding it back.
    """
    with recording_listener() as server:
        endpoints = [(server.host, server.port)] * connections
        started = time.monotonic()
        run_scan(endpoints, ScanOptions(level=1, rate=rate, concurrency=connections, per_host=connections,
                                        timeout=2.0))
        elapsed = time.monotonic() - started
    assert server.connections == connections
    assert _busiest_second(server.accepted_at) <= rate, sorted(t - started for t in server.accepted_at)
    # …and the cap is a cap, not a crawl: the scan runs close to the allowed rate.
    assert elapsed < (connections / rate) + 1.5
