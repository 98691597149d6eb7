"""What every command shares: the database option, JSON output and error reporting."""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from radguard.config import resolve_db_wait
from radguard.errors import ConfigError

if TYPE_CHECKING:  # SQLAlchemy is imported by the commands that open the database, not by --version
    from radguard.db.session import Database

console = Console()
err_console = Console(stderr=True)


@contextmanager
def progress_bar(description: str, total: int | None = None, *, delay: float = 1.0,
                 to: Console | None = None) -> Iterator[Callable[[str], None]]:
    """A progress bar on standard error for work that may take a while (issue #19).

    It appears only once the work has run ``delay`` seconds, so quick commands stay quiet; it
    goes to standard error and is removed when done, so ``--json`` output on standard output stays
    clean; and Rich draws nothing when standard error is not a terminal (logs, pipes, cron).

    :param description: what is being done, shown beside the bar.
    :param total: the number of steps, or None for a spinner with the elapsed time.
    :param delay: seconds of work before the bar is shown.
    :param to: the console to draw on (default: standard error).
    :returns: a function to call after each step with the next step's description.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = [SpinnerColumn(), TextColumn("{task.description}")]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    bar = Progress(*columns, TimeElapsedColumn(), console=to or err_console, transient=True)
    task = bar.add_task(description, total=total)
    timer = threading.Timer(delay, bar.start)
    timer.daemon = True
    timer.start()

    def step(next_description: str) -> None:
        bar.update(task, advance=1, description=next_description)

    try:
        yield step
    finally:
        timer.cancel()
        timer.join()
        if bar.live.is_started:
            bar.stop()


@dataclass
class AppState:
    db_url: str | None = None
    db_wait: float | None = None  # --db-wait; None for RADGUARD_DB_WAIT or the default
    _db: Database | None = None

    def database(self, *, require_schema: bool = True) -> Database:
        if self._db is None:
            from radguard.db.session import open_database

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

    def opened_database(self) -> Database | None:
        """The database if this command opened it, else ``None`` (used by the CLI's audit hook)."""
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
