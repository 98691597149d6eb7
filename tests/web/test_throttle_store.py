"""The sign-in throttle kept in the database: one count for every server process (issue 18).

Two ``LoginThrottle`` objects over one database stand for two ``radguard serve --workers``
processes (tests/web/test_serve_workers.py runs the real ones). Both engines.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from radguard.db.models.web import LoginStrike
from radguard.db.session import Database
from radguard.web.throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def _rows(database: Database) -> int:
    with database.read() as s:
        return s.scalar(select(func.count()).select_from(LoginStrike)) or 0


def test_two_processes_share_one_count(database: Database) -> None:
    clock = Clock()
    one, two = (LoginThrottle(database, free_per_account=3, free_per_address=100, clock=clock) for _ in range(2))
    assert [t.attempt("Alice", "198.51.100.1").wait for t in (one, two, one)] == [0, 0, 0]
    held = two.attempt("alice ", "198.51.100.2")  # the same account, typed differently, on the other process
    assert held.wait > 0 and held.key == "account" and held.audit
    again = one.attempt("alice", "198.51.100.3")
    assert again.wait > 0 and not again.audit  # the period was audited once, by the other process
    clock.now += held.wait
    assert one.attempt("alice", "198.51.100.1").wait == 0
    assert two.attempt("alice", "198.51.100.1").wait == 2  # the delay doubles, whoever counted
    two.succeeded("alice", "198.51.100.1")
    assert one.attempt("alice", "198.51.100.1").wait == 0  # cleared on both


def test_a_burst_on_two_processes_gets_only_the_free_attempts(database: Database) -> None:
    clock = Clock()
    throttles = [LoginThrottle(database, free_per_account=5, free_per_address=1000, clock=clock) for _ in range(2)]
    waits: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def attempt(i: int) -> None:
        start.wait()
        verdict = throttles[i % 2].attempt("bob", f"203.0.113.{i}")
        with lock:
            waits.append(verdict.wait)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(waits) == 12
    assert sum(1 for w in waits if w == 0) == 5  # the free ones; the fifth set the first delay


def test_forgotten_keys_are_deleted(database: Database) -> None:
    clock = Clock()
    throttle = LoginThrottle(database, forget_after=3600, clock=clock)
    for i in range(5):
        throttle.attempt(f"user{i}", "192.0.2.1")
    assert _rows(database) == 6
    clock.now += 3601 + 60
    throttle.attempt("later", "192.0.2.2")
    assert _rows(database) == 2  # only the keys of the last attempt are left


def test_at_most_max_keys_are_kept(database: Database) -> None:
    clock = Clock()
    throttle = LoginThrottle(database, max_keys=4, clock=clock)
    for i in range(4):
        clock.now += 61
        throttle.attempt(f"user{i}", f"192.0.2.{i}")
    assert _rows(database) <= 5  # pruned at most once a minute: 4 kept after the last prune, + this one's
    with database.read() as s:
        names = set(s.scalars(select(LoginStrike.name)))
    assert "user3" in names and "192.0.2.3" in names and "user0" not in names
