"""The sign-in throttle: progressive delays per account name and per client address, no lockout.

The counts live in the database (table ``login_strike``) when the throttle is given one, as
the web app's is: ``radguard serve --workers N`` runs N processes, and counts kept in each
process's memory gave an attacker N times the free attempts and N separate delays. Without a
database (unit tests) they are kept in memory.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from radguard.db.models.web import LoginStrike
from radguard.db.session import Database, write_lock_sqlite

PRUNE_EVERY = 60.0  # seconds between two deletions of forgotten rows by one process


@dataclass
class _Strikes:
    failures: int = 0
    not_before: float = 0.0  # clock time before which this key may not try again
    last: float = 0.0
    audited: bool = False  # whether the current throttled period was written to the audit log


@dataclass(frozen=True)
class Verdict:
    """What the throttle says about one sign-in attempt."""

    wait: float  # seconds until this attempt would have been allowed; 0 when it may go ahead
    key: str | None = None  # "account" or "address": which limit held it back
    audit: bool = False  # the first throttled attempt of a period: write it to the audit log


Key = tuple[str, str]


class LoginThrottle:
    """Progressive delays per account name and per client address, with no lockout.

    Why not a lockout: "five failures lock the account for 15 minutes" let anyone lock any
    account — administrators included — and answering a locked account differently from an
    unknown one told an attacker which names exist. Here every name typed is tracked the
    same way whether or not the account exists, the answer never changes, and the delay
    after the free attempts doubles per failure up to a cap (a minute per account, so a
    stranger can slow an account's sign-in but never shut it out; 15 minutes per address).

    Attempts are counted when they start, before the password is checked, so a burst of
    concurrent requests cannot all pass the check before the first failure is recorded; a
    successful sign-in clears the account's strikes and refunds the address's attempt. With a
    database, each decision is one short transaction holding the two keys' rows (SQLite: its
    write lock; PostgreSQL: the rows, ``FOR UPDATE``, never radguard's global writer lock, so a
    running assessment does not hold sign-in up), so every server process sees the same counts.
    State is bounded: keys unused for ``forget_after`` seconds are forgotten, and at most
    ``max_keys`` are kept (least recently used first out).
    """

    def __init__(self, database: Database | None = None, *, free_per_account: int = 5,
                 free_per_address: int = 20, base_delay: float = 1.0, account_cap: float = 60.0,
                 address_cap: float = 900.0, forget_after: float = 3600.0, max_keys: int = 100_000,
                 clock: Callable[[], float] = time.time) -> None:
        """
        :param database: where the counts live (shared by every server process); None: in memory.
        :param clock: seconds; the wall clock by default, since several processes must agree on it.
        """
        self.database = database
        self.free = {"account": free_per_account, "address": free_per_address}
        self.cap = {"account": account_cap, "address": address_cap}
        self.base_delay = base_delay
        self.forget_after = forget_after
        self.max_keys = max_keys
        self.clock = clock
        self._strikes: OrderedDict[Key, _Strikes] = OrderedDict()
        self._memory_lock = threading.Lock()
        self._pruned = 0.0

    @staticmethod
    def _keys(username: str, ip: str | None) -> list[Key]:
        return [("account", username.strip().casefold()[:100]), ("address", (ip or "?")[:100])]

    def delay(self, kind: str, failures: int) -> float:
        """Seconds a key must wait after ``failures`` failures (0 while within the free attempts).

        :param kind: ``account`` or ``address``.
        :param failures: failures counted so far for the key.
        """
        over = failures - self.free[kind]
        if over < 0:
            return 0.0
        return float(min(self.cap[kind], self.base_delay * 2 ** min(over, 30)))

    def attempt(self, username: str, ip: str | None) -> Verdict:
        """Decide on one attempt and, when it may go ahead, count it as a failure in advance.

        :param username: the name typed, whether or not such an account exists.
        :param ip: the real client address (``web.security.client_ip``).
        """
        now = self.clock()
        with self._held(self._keys(username, ip), now) as entries:
            for key, entry in entries.items():
                if entry.not_before > now:
                    first = not entry.audited
                    entry.audited = True
                    return Verdict(entry.not_before - now, key[0], first)
            for (kind, _), entry in entries.items():
                entry.failures += 1
                entry.last = now
                entry.not_before = now + self.delay(kind, entry.failures)
                entry.audited = False
        self._prune(now)
        return Verdict(0.0)

    def succeeded(self, username: str, ip: str | None) -> None:
        """The attempt counted by :meth:`attempt` signed in: clear the account, refund the address.

        :param username: the account's name.
        :param ip: the client address.
        """
        account, address = self._keys(username, ip)
        with self._held([account, address], self.clock()) as entries:
            cleared = entries[account]
            cleared.failures, cleared.not_before, cleared.audited = 0, 0.0, False
            entry = entries[address]
            entry.failures = max(0, entry.failures - 1)
            entry.not_before = entry.last + self.delay("address", entry.failures)

    @contextmanager
    def _held(self, keys: list[Key], now: float) -> Iterator[dict[Key, _Strikes]]:
        """The keys' entries, held against every other attempt (in this process or, with a
        database, in any) until the block ends; what the block changed is then kept."""
        if self.database is None:
            with self._memory_lock:
                yield {key: self._entry(key, now) for key in keys}
            return
        session = self.database.sessions()
        try:
            write_lock_sqlite(session)  # SQLite: BEGIN IMMEDIATE; PostgreSQL: the row locks below
            insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
            session.execute(insert(LoginStrike).values(
                [{"kind": k, "name": n, "failures": 0, "not_before": 0.0, "last": now, "audited": False}
                 for k, n in keys]).on_conflict_do_nothing())
            rows = {(r.kind, r.name): r for r in session.scalars(
                select(LoginStrike).where(LoginStrike.kind.in_({k for k, _ in keys}),
                                          LoginStrike.name.in_({n for _, n in keys}))
                .order_by(LoginStrike.kind, LoginStrike.name).with_for_update())}
            entries = {}
            for key in keys:
                row = rows[key]
                fresh = now - row.last > self.forget_after
                entries[key] = _Strikes() if fresh else _Strikes(row.failures, row.not_before, row.last, row.audited)
            yield entries
            for key, entry in entries.items():
                row = rows[key]
                row.failures, row.not_before, row.audited = entry.failures, entry.not_before, entry.audited
                row.last = max(entry.last, now)
            session.commit()
        finally:
            session.rollback()
            session.close()

    def _entry(self, key: Key, now: float) -> _Strikes:
        entry = self._strikes.get(key)
        if entry is None or now - entry.last > self.forget_after:
            entry = _Strikes(last=now)
            self._strikes[key] = entry
        self._strikes.move_to_end(key)
        while len(self._strikes) > self.max_keys:
            self._strikes.popitem(last=False)
        return entry

    def _prune(self, now: float) -> None:
        """Forget keys unused for ``forget_after`` and those beyond ``max_keys`` (at most once a
        minute per process, in its own transaction, skipping rows another attempt holds)."""
        if self.database is None or now - self._pruned < PRUNE_EVERY:
            return
        self._pruned = now
        session = self.database.sessions()
        try:
            write_lock_sqlite(session)
            cutoff = now - self.forget_after
            if session.get_bind().dialect.name == "postgresql":
                # Rows an attempt holds are skipped, so this never waits on one (nor deadlocks with it).
                stale = (select(LoginStrike.kind, LoginStrike.name).where(LoginStrike.last < cutoff)
                         .with_for_update(skip_locked=True))
                session.execute(delete(LoginStrike).where(tuple_(LoginStrike.kind, LoginStrike.name).in_(stale)))
            else:
                session.execute(delete(LoginStrike).where(LoginStrike.last < cutoff))
            count = session.scalar(select(func.count()).select_from(LoginStrike)) or 0
            if count > self.max_keys:
                oldest = session.scalar(select(LoginStrike.last).order_by(LoginStrike.last.desc())
                                        .offset(self.max_keys).limit(1))
                if oldest is not None:
                    session.execute(delete(LoginStrike).where(LoginStrike.last <= oldest))
            session.commit()
        except SQLAlchemyError:  # a busy database: the next prune tries again
            pass
        finally:
            session.rollback()
            session.close()
