"""Inserting thousands of rows at once: PostgreSQL ``COPY``, a plain multi-row insert elsewhere.

On PostgreSQL a 1,000-row ``INSERT`` through SQLAlchemy's "insertmanyvalues" is one huge
statement that psycopg must split and the server must parse (the inventory importer spent
about half its 100,000-asset import there, benchmarks/inventory_import.py); ``COPY`` streams
the same rows in the binary-free text format with no statement to parse. Rows keep the
meaning they have through the ORM: the columns' Python-side defaults (``default=``) are
applied and each value goes through its column type's bind processing (JSON documents, UTC
timestamps), so a row written here reads back exactly as one inserted by SQLAlchemy.

Everything runs on the session's own connection, inside the caller's transaction: a failure
rolls back with it. On SQLite :func:`insert_rows` is ``session.execute(insert(table), rows)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Table, insert, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from radguard.db.base import Base


def uses_copy(session: Session) -> bool:
    """Whether :func:`insert_rows` streams with ``COPY`` on this session's database."""
    return session.get_bind().dialect.name == "postgresql"


def reserve_ids(session: Session, model: type[Base], count: int) -> list[int]:
    """``count`` new values of ``model``'s integer ``id`` sequence (PostgreSQL only), ascending.

    Rows written with these IDs get the same IDs an ``INSERT`` would have given them, and a
    later ordinary insert continues after them (the sequence has moved on).
    """
    if count <= 0:
        return []
    ids = session.scalars(
        text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
        {"t": _table(model).name, "n": count},
    )
    return sorted(int(i) for i in ids)


def insert_rows(session: Session, model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (column name → value) into ``model``'s table in ``session``'s transaction.

    Every row must name the same columns; columns a row leaves out get their Python-side
    default (as an ORM insert would) or else the server's. On PostgreSQL this is one ``COPY``.

    :param model: the mapped class (its table is written; no ORM objects are made).
    :param rows: the rows; an empty sequence writes nothing.
    """
    if not rows:
        return
    table = _table(model)
    if not uses_copy(session):
        session.execute(insert(table), list(rows))
        return
    import psycopg
    from psycopg import sql

    dialect = session.get_bind().dialect
    named = [c for c in table.columns if c.key in rows[0]]
    defaulted = [c for c in table.columns if c.key not in rows[0] and c.default is not None
                 and not c.primary_key]
    columns = named + defaulted
    # Only the columns whose type processes values (booleans, JSON, UTC timestamps) are touched
    # per row; the rest go to the driver as they are.
    process = [(i, proc) for i, c in enumerate(columns) if (proc := _bind(c, dialect)) is not None]
    defaults = [_default(c) for c in defaulted]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table.name), sql.SQL(", ").join(sql.Identifier(c.name) for c in columns))
    raw = session.connection().connection.driver_connection
    assert raw is not None
    keys = [c.key for c in named]
    try:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                values = [row[k] for k in keys]
                values += [make() for make in defaults]
                for i, proc in process:
                    values[i] = proc(values[i])
                copy.write_row(values)
    except psycopg.Error as exc:
        # SQLAlchemy does not see a raw COPY: hand its error on as SQLAlchemy's own, so the
        # callers' handling applies (a lock wait that ran out is "another radguard process is
        # writing", a full disk says so) instead of a driver traceback. The statement named is
        # the COPY header only: no row's values.
        raise DBAPIError.instance(f"COPY {table.name}", None, exc, psycopg.Error,
                                  dialect=dialect) from None


def refresh_statistics(session: Session, models: Sequence[type[Base]]) -> None:
    """After a bulk load on PostgreSQL: ``ANALYZE`` the tables, inside the caller's transaction.

    A table filled in one transaction has no planner statistics until autovacuum gets to it
    (up to a minute or more after the commit). Meanwhile the planner takes every condition
    to match about one row: a search for a word in every one of 100,000 fresh assets collected
    and sorted all of them (166 ms) instead of walking the list's index (well under 1 ms). The
    statistics written here commit with the rows. SQLite: nothing (its planner needs none here).

    First the GIN indexes' pending lists (the search's pg_trgm indexes collect new entries
    there, up to 4 MB each, until a vacuum merges them) are merged: with them full, the
    planner rightly costs a trigram look-up high and, once it has statistics, chose to read
    every asset for a 2% search (230 ms) instead of the index (11 ms after the merge).
    """
    if not uses_copy(session):
        return
    names = [_table(m).name for m in models]
    session.execute(text(
        "SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "JOIN pg_am a ON a.oid = c.relam "
        "WHERE a.amname = 'gin' AND i.indrelid = ANY(CAST(CAST(:t AS text[]) AS regclass[]))"),
        {"t": names})
    session.execute(text("ANALYZE " + ", ".join(f'"{n}"' for n in names)))


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _bind(column: Column[Any], dialect: Any) -> Callable[[Any], Any] | None:
    processor: Callable[[Any], Any] | None = column.type.dialect_impl(dialect).bind_processor(dialect)
    return processor


def _default(column: Column[Any]) -> Callable[[], Any]:
    default = column.default
    assert default is not None
    if getattr(default, "is_callable", False):
        fn = default.arg  # type: ignore[attr-defined]
        return lambda: fn(None)  # SQLAlchemy wraps a column default to take the execution context
    value = default.arg  # type: ignore[attr-defined]
    return lambda: value
