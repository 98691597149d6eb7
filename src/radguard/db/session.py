"""Opening a database: engine, sessions and the one-transaction-per-command rule.

Every command that writes does so in a single transaction (:meth:`Database.transaction`), so
a failure part-way leaves the database exactly as it was.

Writers take the database's write lock when their transaction starts (SQLite ``BEGIN
IMMEDIATE``; PostgreSQL a transaction-scoped advisory lock), so two radguard processes that
write at once — two ``assess`` runs, an import during an assessment — run one after the other
instead of one failing with a unique-constraint error half-way. A writer waits at most
``wait`` seconds (``--db-wait``/``RADGUARD_DB_WAIT``) and then stops with
:class:`~radguard.errors.DatabaseBusyError`. Readers never take the lock.

:func:`database_error` turns any error the database driver raised into a message without SQL
text or parameters; the command line uses it for everything that escapes a command.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from radguard.config import DEFAULT_DB_WAIT, ENV_DB_WAIT, resolve_db_url
from radguard.errors import ConfigError, DatabaseBusyError, DatabaseError

_WRITE = "radguard_write"  # execution option: this connection's transaction takes the write lock
_READ_ONLY = "radguard_read_only"  # connection info: SQLite opened the file read-only

# The PostgreSQL advisory lock every radguard writer takes: "radguard" in ASCII, as a bigint.
WRITE_LOCK_KEY = 0x7261646775617264

_SQLITE_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")
_PG_BUSY = ("55P03", "40P01", "40001", "57014")  # lock timeout, deadlock, serialisation, cancelled


def _sqlite_file(engine: Engine) -> Path | None:
    """The database file of a SQLite engine, or None for an in-memory or URI database."""
    name = engine.url.database
    if engine.dialect.name != "sqlite" or not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def _create_private(path: Path) -> None:
    """Create a new database file readable by its owner only, before SQLite opens it.

    Why before: SQLite gives the ``-wal`` and ``-shm`` side files the mode of the database file,
    so a file made 0600 here keeps all three private. An existing file keeps the mode its owner
    gave it.
    """
    if path.exists():
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
    except FileExistsError:
        return
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            reason = f"the folder {path.parent} does not exist"
        elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            reason = f"this user may not create files in {path.parent}"
        else:
            reason = exc.strerror or str(exc)
        raise DatabaseError(f"cannot create the database file {path}: {reason}") from None


def _readable(conn: sqlite3.Connection) -> bool:
    """False when a WAL database cannot be read because its folder is read-only.

    Reading a WAL database needs its ``-shm`` file; in a folder nobody may write to, SQLite
    cannot create it and refuses even a SELECT.
    """
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
    except sqlite3.OperationalError as exc:
        return getattr(exc, "sqlite_errorname", "") not in ("SQLITE_READONLY_DIRECTORY", "SQLITE_CANTOPEN")
    except sqlite3.DatabaseError:  # not a database at all: the normal error path says so
        return True
    return True


def _sqlite_listeners(engine: Engine, wait: float) -> None:
    path = _sqlite_file(engine)

    @event.listens_for(engine, "do_connect")
    def connect(dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]) -> Any:
        if path is None:
            return None  # SQLAlchemy connects as usual
        _create_private(path)
        conn = dialect.loaded_dbapi.connect(*cargs, **cparams)
        # SQLite silently opens a file it may not write read-only; a writer must know at once,
        # not at its first changed row (an import that changes nothing would "succeed").
        record.info[_READ_ONLY] = not os.access(path, os.W_OK)
        if _readable(conn):
            return conn
        record.info[_READ_ONLY] = True
        # A read-only folder: open the file read-only and immutable (nobody can write it without
        # creating a -wal file there), so read-only commands still work; writes fail cleanly.
        conn.close()
        return dialect.loaded_dbapi.connect(f"file:{quote(str(path))}?mode=ro&immutable=1",
                                            **{**cparams, "uri": True})

    @event.listens_for(engine, "connect")
    def pragmas(dbapi_conn: Any, _record: Any) -> None:
        # radguard emits BEGIN itself (below), so a writer can ask for BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={max(1, int(wait * 1000))}")
        cur.execute("PRAGMA foreign_keys=ON")
        with suppress(sqlite3.OperationalError):  # a read-only database keeps its journal mode
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def begin(conn: Connection) -> None:
        # IMMEDIATE takes the write lock now, waiting up to busy_timeout. A deferred transaction
        # that reads first and writes later cannot wait: SQLite fails it at once if another
        # writer committed in between.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")


def write_lock_sqlite(session: Session) -> None:
    """Begin ``session``'s transaction with SQLite's write lock (``BEGIN IMMEDIATE``); nothing on
    PostgreSQL, where the caller locks the rows it changes.

    For short writes that must read and then change a row atomically without taking radguard's
    writer lock on PostgreSQL (the sign-in throttle): a running assessment must not hold them up.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={_WRITE: True})


@dataclass
class Database:
    """A configured database: its URL, engine and session factory.

    ``wait`` is how many seconds a writer waits for another writer's lock.
    """

    url: str
    engine: Engine
    sessions: sessionmaker[Session]
    wait: float = field(default=DEFAULT_DB_WAIT)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work is committed at the end, or rolled back entirely on error.

        It holds the write lock from the start, so concurrent writers run one after the other.

        :raises DatabaseBusyError: another process held the lock for more than ``wait`` seconds.
        """
        session = self.sessions()
        try:
            self._lock(session)
            yield session
            session.commit()
        except BaseException:
            with suppress(SQLAlchemyError):  # the original error is the one to report
                session.rollback()
            raise
        finally:
            session.close()

    def _lock(self, session: Session) -> None:
        started = time.monotonic()
        try:
            if self.engine.dialect.name == "sqlite":
                conn = session.connection(execution_options={_WRITE: True})
                if conn.connection.info.get(_READ_ONLY):
                    raise DatabaseError(_read_only_message(self.safe_url, "the file or its folder is not writable"))
            elif self.engine.dialect.name == "postgresql":
                # lock_timeout bounds this wait and every later lock wait in the transaction.
                timeout = f"{max(1, int(self.wait * 1000))}ms"
                session.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": timeout})
                session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})
        except OperationalError as exc:
            if _is_busy(exc):
                raise DatabaseBusyError(_busy_message(self.safe_url, time.monotonic() - started)) from None
            raise

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for reading; nothing it does is committed."""
        session = self.sessions()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    def is_initialised(self) -> bool:
        try:
            return inspect(self.engine).has_table("alembic_version")
        except OperationalError as exc:
            raise database_error(exc, self.safe_url, self.wait) from None

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden, for messages and logs."""
        return self.engine.url.render_as_string(hide_password=True)

    def dispose(self) -> None:
        self.engine.dispose()


def open_database(url: str | None = None, *, echo: bool = False, wait: float = DEFAULT_DB_WAIT) -> Database:
    """Open (not create) the database named by ``url``, ``RADGUARD_DB`` or the default.

    :param url: a SQLAlchemy URL or a SQLite file path; None for ``RADGUARD_DB`` or the default.
    :param echo: log every SQL statement (debugging only).
    :param wait: seconds a writer waits for another writer before :class:`DatabaseBusyError`.
    """
    resolved = resolve_db_url(url)
    try:
        engine = create_engine(resolved, echo=echo, future=True)
    except Exception as exc:  # invalid URL or missing driver
        raise ConfigError(f"cannot use database URL {resolved!r}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _sqlite_listeners(engine, wait)
    sessions = sessionmaker(engine, expire_on_commit=False)
    return Database(url=resolved, engine=engine, sessions=sessions, wait=wait)


# --- turning driver errors into messages ------------------------------------------------------


def _codes(exc: DBAPIError) -> tuple[str, str]:
    """(SQLite error name, PostgreSQL SQLSTATE) of the driver error; either may be empty."""
    orig = exc.orig
    return str(getattr(orig, "sqlite_errorname", "") or ""), str(getattr(orig, "sqlstate", "") or "")


def _is_busy(exc: DBAPIError) -> bool:
    name, state = _codes(exc)
    return name.startswith(_SQLITE_BUSY) or state in _PG_BUSY


def _driver_message(exc: SQLAlchemyError) -> str:
    """The driver's own first line: never the statement, never the parameters.

    For PostgreSQL only the primary message: its DETAIL line can quote the values of a row.
    """
    orig = getattr(exc, "orig", None)
    if orig is None:
        return type(exc).__name__
    diag = getattr(orig, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    text_ = str(primary or orig).strip()
    return text_.splitlines()[0] if text_ else type(orig).__name__


def _busy_message(where: str, waited: float) -> str:
    return (f"another radguard process is writing to the database at {where}; waited {waited:.1f} s "
            f"for it to finish and gave up. Nothing was changed: run the command again when the other "
            f"one has finished, or wait longer with --db-wait SECONDS (or {ENV_DB_WAIT}).")


def _read_only_message(where: str, detail: str) -> str:
    return (f"the database at {where} is read-only for this user ({detail}); this command writes to it. "
            f"The command's transaction was rolled back: nothing was changed. Read-only commands (list, "
            f"show, report) still work.")


def database_error(exc: SQLAlchemyError, where: str | None = None, wait: float = DEFAULT_DB_WAIT) -> DatabaseError:
    """The message for an error from the database, without SQL text or parameters.

    :param exc: what SQLAlchemy raised.
    :param where: the database's URL without password, to name it in the message.
    :param wait: the configured wait, reported when a lock wait ran out.
    """
    where = where or "(the configured database)"
    if not isinstance(exc, DBAPIError):
        return DatabaseError(f"the database at {where} could not be used ({type(exc).__name__}); "
                             f"the command's changes were rolled back")
    name, state = _codes(exc)
    detail = _driver_message(exc)
    undone = "The command's transaction was rolled back: nothing was changed."
    if _is_busy(exc):
        return DatabaseBusyError(_busy_message(where, wait))
    # A WAL database on a full disk may fail already when SQLite sizes its -shm file.
    if name == "SQLITE_FULL" or name.startswith("SQLITE_IOERR_SHM") or state.startswith("53"):
        return DatabaseError(f"the disk holding the database at {where} is full ({detail}). {undone} "
                             f"Free some space and run the command again.")
    if name.startswith("SQLITE_READONLY") or state in ("25006", "42501"):
        return DatabaseError(_read_only_message(where, detail))
    if name.startswith("SQLITE_CANTOPEN") or state.startswith("08") or (
            isinstance(exc, OperationalError) and not name and not state):
        return DatabaseError(f"cannot open the database at {where}: {detail}")
    if isinstance(exc, IntegrityError):
        return DatabaseError(f"the database refused a change that conflicts with what it holds ({detail}); "
                             f"another radguard process may have written the same record at the same "
                             f"moment. {undone} Run the command again.")
    return DatabaseError(f"the database at {where} reported an error: {detail}. {undone}")
