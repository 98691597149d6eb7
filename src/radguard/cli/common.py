"""What every command shares: the database option, JSON output and error reporting."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from types import FrameType
from typing import Any

import typer
from rich.console import Console

from radguard.config import resolve_db_wait
from radguard.db.session import Database, open_database
from radguard.errors import ConfigError

console = Console()
err_console = Console(stderr=True)


@dataclass
class AppState:
    db_url: str | None = None
    db_wait: float | None = None  # --db-wait; None for RADGUARD_DB_WAIT or the default
    _db: Database | None = None

    def database(self, *, require_schema: bool = True) -> Database:
        if self._db is None:
            self._db = open_database(self.db_url, wait=resolve_db_wait(self.db_wait))
        if require_schema:
            from radguard.db.migrate import is_up_to_date  # alembic is slow to import; only when needed

            if not self._db.is_initialised():
                raise ConfigError(
                    f"the database at {self._db.safe_url} has no radguard schema yet; run `radguard init` first"
                )
            if not is_up_to_date(self._db):
                raise ConfigError(
                    f"the database at {self._db.safe_url} was made by an older radguard; run `radguard db upgrade`"
                )
        return self._db


def state(ctx: typer.Context) -> AppState:
    root = ctx.find_root()
    if not isinstance(root.obj, AppState):
        root.obj = AppState()
    return root.obj


def db(ctx: typer.Context) -> Database:
    return state(ctx).database()


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, default=_default, ensure_ascii=False)


def print_json(data: Any) -> None:
    """JSON on stdout, nothing else, so it can be piped into jq or a SIEM."""
    sys.stdout.write(dumps(data) + "\n")


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM and SIGINT both raise ``KeyboardInterrupt``, so clean-up runs (stopping the demo's
    network, closing a backup scan's side file).

    SIGINT is set explicitly too: a process started in the background by a non-interactive shell
    inherits "ignore SIGINT", and the demo should still stop on Ctrl-C or ``kill -INT``.
    """

    def handler(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    try:
        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread (e.g. a test runner's worker): nothing to install
        yield
        return
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
