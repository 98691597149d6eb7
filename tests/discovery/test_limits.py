"""Per-host caps hold under concurrency, and host bookkeeping does not grow with the range."""

from __future__ import annotations

import asyncio

from radguard.discovery.limits import Limits


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
