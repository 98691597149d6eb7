"""How hard radguard may push: a global connection rate, per-host connection caps, back-off.

Clinical devices are often fragile (a single rejected association has been seen to stop a
DCMTK dcmqrscp started with ``--single-process``). So every new connection takes a token from a
global rate limiter and a slot from its host's semaphore, and a host that produced an error
is approached more slowly afterwards instead of being retried.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from dataclasses import dataclass, field


class RateLimiter:
    """At most ``rate`` new connections in *every* one-second window of the scan, the first included.

    A token bucket that starts full lets ``rate`` connections through at once and refills
    while they are made, so ``--rate 5`` opened 10 connections in the first second. This keeps
    the start times of the last ``n = floor(rate)`` connections instead and lets a new one start
    only when the oldest of them is a whole window old: never more than ``n`` in any window.
    Below one per second (``rate`` 0.5) the window is ``1/rate`` seconds with one connection
    in it. ``MARGIN`` covers the jitter between radguard's start and the peer's accept, so the
    cap also holds as the peer measures it.
    """

    MARGIN = 0.05

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(1, math.floor(rate)) if rate > 0 else 0
        self.window = (max(1.0, self.burst / rate) if rate > 0 else 0.0) + self.MARGIN
        self._starts: deque[float] = deque(maxlen=self.burst or None)
        self._lock = asyncio.Lock()

    async def take(self) -> None:
        """Wait until one more connection may start without breaking the cap, and count it."""
        if self.rate <= 0:
            return
        async with self._lock:
            if len(self._starts) == self.burst:
                wait = self._starts[0] + self.window - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            self._starts.append(time.monotonic())


class WindowClosed(Exception):
    """The scan's deadline (its authorized window's end) passed before this probe could start."""


@dataclass
class Deadline:
    """No new endpoint probe starts at or after ``at`` (seconds since the epoch, wall clock: a
    window in a scope file is a UTC time). A probe already under way finishes; the endpoints
    never started are counted in ``not_started``, so a caller can report the scan as partial."""

    at: float
    not_started: int = 0

    def passed(self) -> bool:
        return time.time() >= self.at


@dataclass
class HostState:
    semaphore: asyncio.Semaphore
    failures: int = 0
    users: int = 0  # connections open or waiting for a slot


@dataclass
class Limits:
    """Rate and concurrency caps for one scan."""

    rate: float = 200.0
    per_host: int = 2
    max_backoff: float = 5.0
    _limiter: RateLimiter | None = None
    _hosts: dict[str, HostState] = field(default_factory=dict)

    def _host(self, host: str) -> HostState:
        state = self._hosts.get(host)
        if state is None:
            state = self._hosts[host] = HostState(asyncio.Semaphore(self.per_host))
        return state

    async def acquire(self, host: str, deadline: Deadline | None = None) -> None:
        """Take a per-host slot (held for the life of one connection; give it back with
        :meth:`release`), after this host's back-off if it misbehaved, and a rate token.

        :param deadline: for an endpoint's first connection: raise :class:`WindowClosed` (holding
            nothing) when the wait for the slot and the token ended at or after it.
        """
        if deadline is None:
            return await self._acquire(host)
        left = deadline.at - time.time()
        if left <= 0:
            raise WindowClosed(host)
        try:  # the waits for a host slot and a rate token end at the deadline, not after it
            async with asyncio.timeout(left):
                await self._acquire(host)
        except TimeoutError:
            raise WindowClosed(host) from None
        if deadline.passed():
            self.release(host)
            raise WindowClosed(host)

    async def _acquire(self, host: str) -> None:
        if self._limiter is None:
            self._limiter = RateLimiter(self.rate)
        state = self._host(host)
        state.users += 1
        try:
            await state.semaphore.acquire()
        except BaseException:
            state.users -= 1
            raise
        try:
            if state.failures:
                await asyncio.sleep(min(self.max_backoff, 0.25 * 2 ** (state.failures - 1)))
            await self._limiter.take()
        except BaseException:
            self.release(host)
            raise

    def release(self, host: str) -> None:
        state = self._host(host)
        state.semaphore.release()
        state.users -= 1
        # Forget well-behaved idle hosts so memory does not grow with the size of the range.
        if state.users == 0 and not state.failures:
            self._hosts.pop(host, None)

    def failed(self, host: str) -> None:
        self._host(host).failures += 1
