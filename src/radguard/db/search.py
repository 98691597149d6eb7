"""The inventory search's index structures, which live in the migrations and not in the models.

Migration 0039 builds a trigram index for ``query_assets(q=...)``: on SQLite an FTS5 table
(``asset_search`` and its shadow tables) kept by triggers, on PostgreSQL pg_trgm GIN indexes
named ``ix_asset_<column>_trgm``. SQLAlchemy models cannot describe either, so the schema
comparison (tests/db/test_schema.py) and Alembic autogenerate skip them by name with
:func:`include_name` rather than proposing to drop them.

Large writes to ``asset`` on SQLite go through :func:`bulk_asset_writes`: the triggers update
the FTS5 index one row at a time, which made a 100,000-row insert about 7× slower than the same
insert followed by one FTS5 ``rebuild`` (measured with the stdlib sqlite3 module on the
reference machine: 1.4 s plain, 2.2 s plain + rebuild, 10.3 s through the triggers).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from alembic.runtime.environment import NameFilterParentNames, NameFilterType

SEARCH_TABLE = "asset_search"
"""The SQLite FTS5 table over ``asset`` (external content: rowid is ``asset.id``)."""

TRIGGERS = ("asset_search_insert", "asset_search_update", "asset_search_delete")
"""The SQLite triggers on ``asset`` that keep :data:`SEARCH_TABLE` current (migration 0039)."""

BULK_MIN_ROWS = 5_000
"""Below this many written rows the triggers cost under about half a second: keep them."""

TRIGGER_COST_RATIO = 8
"""A row through the triggers costs about this many rows of a ``rebuild`` (which reads every
asset): 10.3 s against 0.8 s per 100,000 rows in the measurement above, rounded down so a
rebuild is chosen only when it clearly wins."""


def is_search_object(name: str | None, type_: str) -> bool:
    """Whether a reflected table or index belongs to the search index (see the module doc)."""
    if not name:
        return False
    if type_ == "table":
        return name == SEARCH_TABLE or name.startswith(SEARCH_TABLE + "_")
    return type_ == "index" and name.startswith("ix_asset_") and name.endswith("_trgm")


def include_name(name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames) -> bool:
    """Alembic ``include_name`` hook: compare everything except the search index."""
    return not is_search_object(name, type_)


def rebuild_pays(rows: int, table_rows: int) -> bool:
    """Whether writing ``rows`` asset rows is cheaper as one rebuild than through the triggers.

    :param rows: asset rows this write inserts or updates.
    :param table_rows: asset rows already in the table (a rebuild reads them all again).
    """
    return rows >= BULK_MIN_ROWS and rows * TRIGGER_COST_RATIO >= table_rows


class BulkAssetWrites:
    """The triggers of :data:`TRIGGERS` set aside for one transaction, and put back (see below).

    :meth:`suspend` drops the triggers inside the caller's transaction (SQLite DDL is
    transactional, and radguard's write transactions take the write lock at BEGIN, so no other
    writer can insert an asset unindexed meanwhile); :meth:`resume` runs the FTS5 ``rebuild``
    and creates the triggers again from the SQL SQLite stored for them, so they stay exactly
    what the migration made. A rollback undoes all of it. On PostgreSQL both do nothing: the
    GIN indexes' pending list already batches their upkeep.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self._saved: list[tuple[str, str]] | None = None

    @property
    def suspended(self) -> bool:
        return self._saved is not None

    def suspend(self) -> None:
        if self._saved is not None or self.session.get_bind().dialect.name != "sqlite":
            return
        rows = self.session.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'asset'"))
        self._saved = [(name, sql) for name, sql in rows if name in TRIGGERS]
        for name, _ in self._saved:
            self.session.execute(text(f'DROP TRIGGER "{name}"'))

    def resume(self) -> None:
        if self._saved is None:
            return
        saved, self._saved = self._saved, None
        self.session.execute(text(f"INSERT INTO {SEARCH_TABLE} ({SEARCH_TABLE}) VALUES ('rebuild')"))
        for _, sql in saved:
            self.session.execute(text(sql))


@contextmanager
def bulk_asset_writes(session: Session) -> Iterator[None]:
    """Write many ``asset`` rows in ``session`` with the search index rebuilt once at the end.

    Use it for loads of thousands of rows (:func:`rebuild_pays` says when it is worth it); the
    index is current again when the block ends. On an error the caller must roll back (as
    :meth:`radguard.db.session.Database.transaction` does), which restores the triggers; the
    triggers are put back here too, so a caller that commits anyway keeps a current index.
    """
    bulk = BulkAssetWrites(session)
    bulk.suspend()
    try:
        yield
    except BaseException:
        with suppress(SQLAlchemyError):  # a failed flush leaves the session unusable until rollback
            bulk.resume()
        raise
    bulk.resume()
