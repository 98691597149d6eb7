"""A per-application cache of dashboard cards, computed in the background.

Some cards call stage functions whose cost grows with the data: the roadmap reads every open
finding, and at 100,000 assets with half a million findings it takes minutes. A page must not
wait for that, and eight people opening the dashboard must not start eight computations. So:

* each card is computed by one background thread at a time, in its own database session;
* a page shows the last computed value at once, with the time it was computed, and a value
  older than its refresh interval is recomputed in the background (stale-while-revalidate);
* the refresh interval is at least :data:`REFRESH_SECONDS` and at least ten times the card's
  own computing time, so a slow card never keeps a core busy all the time;
* a page or API call that changes data calls :meth:`CardCache.invalidate`, and the next view
  waits (briefly) for fresh values; changes made with the CLI appear within the interval.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from radguard.db.base import utcnow

log = logging.getLogger(__name__)
REFRESH_SECONDS = 60.0


@dataclass(frozen=True)
class CardValue:
    value: Any
    computed_at: datetime
    seconds: float
    error: str | None
    generation: int
    monotonic: float

    @property
    def refresh_after(self) -> float:
        return max(REFRESH_SECONDS, 10 * self.seconds)


class CardCache:
    def __init__(self, sessions: Callable[[], Session], cards: dict[str, Callable[[Session], Any]]) -> None:
        self._sessions = sessions
        self._cards = cards
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._values: dict[str, CardValue] = {}
        self._running: set[str] = set()
        self._generation = 0

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1

    def _fresh(self, name: str) -> bool:
        value = self._values.get(name)
        return (value is not None and value.generation == self._generation
                and time.monotonic() - value.monotonic < value.refresh_after)

    def get_all(self, wait: float, only: Iterable[str] | None = None,
                wait_running: bool = False) -> dict[str, CardValue]:
        """The cards' latest values. Stale ones are recomputed; those this call starts computing
        are waited for up to ``wait`` seconds in all (older values, if any, are returned after that).
        ``wait_running`` also waits for computations already under way (a placeholder's poll)."""
        names = list(only or self._cards)
        deadline = time.monotonic() + wait
        with self._lock:
            started = []
            for name in names:
                if not self._fresh(name) and name not in self._running:
                    self._running.add(name)
                    started.append(name)
                    threading.Thread(target=self._compute, args=(name,), daemon=True,
                                     name=f"dashboard-card-{name}").start()
            if wait_running:
                started = [n for n in names if n in self._running]

            # Only the computations this call started are waited for: when a slow card is already
            # being computed for someone else, every further view gets its placeholder at once.
            def settled() -> bool:
                return all(n in self._values and self._values[n].generation == self._generation for n in started)

            self._changed.wait_for(settled, timeout=max(0.0, deadline - time.monotonic()))
            return {n: self._values[n] for n in names if n in self._values}

    def _compute(self, name: str) -> None:
        with self._lock:
            generation = self._generation
        start = time.perf_counter()
        value: Any = None
        error = None
        session = self._sessions()
        try:
            value = self._cards[name](session)
        except Exception as exc:  # a card that fails must not take the dashboard down
            log.exception("dashboard card %s failed", name)
            error = f"{type(exc).__name__}: {exc}"
        finally:
            session.rollback()
            session.close()
        elapsed = time.perf_counter() - start
        with self._lock:
            self._values[name] = CardValue(value, utcnow(), elapsed, error, generation, time.monotonic())
            self._running.discard(name)
            if generation != self._generation:
                # Invalidated while computing: go again so the next view sees the change.
                self._running.add(name)
                threading.Thread(target=self._compute, args=(name,), daemon=True).start()
            self._changed.notify_all()
