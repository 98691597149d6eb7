"""The SQLite side file that makes a scan streaming, bounded in memory and resumable.

Why SQLite and not a list in memory: a million-file archive would need hundreds of megabytes
of Python objects to reconcile in RAM. Each batch of results is committed here in its own
transaction, so memory stays flat, a run stopped by Ctrl-C or ``kill -9`` loses at most the
batches in flight, and the next run skips every file already recorded. Reconciliation is a
handful of indexed SQL statements.

The side file holds path *keys* (hashes), never paths, unless the user asked for paths in the
report (``--paths``), and no study dates: only the newest one, as an aggregate.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from radguard.backup.inspect import FileResult

# Part of every side file's name: a side file left by a radguard with another schema is never resumed.
SCHEMA_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS files (
    key TEXT PRIMARY KEY, base TEXT NOT NULL, size INTEGER NOT NULL, kind TEXT NOT NULL,
    reason TEXT NOT NULL, sop TEXT NOT NULL, study TEXT NOT NULL, series TEXT NOT NULL,
    sop_class TEXT NOT NULL, ts TEXT NOT NULL, sha256 TEXT NOT NULL, path TEXT, name TEXT
);
CREATE INDEX IF NOT EXISTS ix_files_sop ON files(sop);
CREATE INDEX IF NOT EXISTS ix_files_base ON files(base);
CREATE TABLE IF NOT EXISTS bad_dirs (key TEXT PRIMARY KEY, reason TEXT NOT NULL, path TEXT);
CREATE TABLE IF NOT EXISTS manifest (
    sop TEXT PRIMARY KEY, key TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
    study TEXT NOT NULL, series TEXT NOT NULL, sop_class TEXT NOT NULL, line INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_manifest_key ON manifest(key);
"""


def _text(path: str) -> str:
    """A path as SQLite can store it: bytes that are not UTF-8 (kept by the walk as surrogates) as U+FFFD."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


class ScanState:
    """One scan's results on disk. Open it, add batches, query it, delete it when done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # It describes clinical data: readable by its owner only. The file is made 0600 before
        # SQLite opens it, because SQLite gives the -wal and -shm side files the mode the
        # database file has when they are created (a chmod afterwards would miss them).
        with contextlib.suppress(FileExistsError):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600))
        for side in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):  # a resumed run's side files too
            with contextlib.suppress(OSError):
                side.chmod(0o600)
        self.conn = sqlite3.connect(str(path), isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(SCHEMA)

    def close(self) -> None:
        self.conn.close()

    def discard(self) -> None:
        """Remove the side file and its WAL once the run has produced its result."""
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)

    # --- metadata and aggregates -------------------------------------------------------------
    def get(self, key: str, default: str = "") -> str:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row else default

    def put(self, key: str, value: str | int | float) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(value)))

    def number(self, key: str) -> float:
        try:
            return float(self.get(key, "0"))
        except ValueError:
            return 0.0

    # --- files --------------------------------------------------------------------------------
    def done(self, keys: Sequence[str]) -> set[str]:
        """Which of these path keys are already recorded (resume)."""
        if not keys:
            return set()
        marks = ",".join("?" * len(keys))
        return {r[0] for r in self.conn.execute(f"SELECT key FROM files WHERE key IN ({marks})", list(keys))}

    def add(self, results: Iterable[FileResult], elapsed: float, keep_paths: bool) -> None:
        """Record one batch and the run's aggregates in a single transaction."""
        rows = []
        bytes_read = 0
        newest = self.get("newest_study")
        for r in results:
            rows.append((r.key, r.base, r.size, r.kind, r.reason, r.sop, r.study, r.series, r.sop_class, r.ts,
                         r.sha256, _text(r.rel) if keep_paths else None, r.name or None))
            bytes_read += r.bytes_read
            if r.kind == "dicom" and r.study_dt and r.study_dt > newest:
                newest = r.study_dt
        with self.transaction():
            self.conn.executemany(
                "INSERT OR REPLACE INTO files (key, base, size, kind, reason, sop, study, series, sop_class, ts, "
                "sha256, path, name) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            self.put("bytes_read", int(self.number("bytes_read")) + bytes_read)
            self.put("elapsed", self.number("elapsed") + elapsed)
            if newest:
                self.put("newest_study", newest)

    def add_bad_dir(self, key: str, reason: str, path: str | None) -> None:
        self.conn.execute("INSERT OR REPLACE INTO bad_dirs (key, reason, path) VALUES (?, ?, ?)",
                          (key, reason, _text(path) if path else None))

    def count_files(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM files").fetchone()[0])

    def kinds(self) -> dict[str, int]:
        return {k: int(n) for k, n in self.conn.execute("SELECT kind, count(*) FROM files GROUP BY kind")}

    def bad_dirs(self) -> Iterator[tuple[str, str, str | None]]:
        yield from self.conn.execute("SELECT key, reason, path FROM bad_dirs ORDER BY key")

    def transaction(self) -> _Tx:
        return _Tx(self.conn)


class _Tx:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on any error (including KeyboardInterrupt)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
