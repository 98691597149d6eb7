"""Keyset (cursor) paging: the next page starts after the last row shown, not after N skipped rows.

An OFFSET makes the database walk and discard every row before the page, so page 2,000 of the
findings register cost 2,000 pages of work. A cursor carries the last row's sort values
instead; the next page's query seeks straight to them in the index that matches the order
(issue 18). Page numbers still work (they use an offset, bounded by the index walk), and a
cursor is opaque to users: base64url JSON of the last row's sort values, checked on decode.

NULLs sort where each database puts them (SQLite: smallest; PostgreSQL: largest), so the
condition that means "after this row" is built per dialect; the order itself is left to the
index, which is what makes it cheap.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import TypeDecorator, and_, false, or_, true
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from radguard.errors import InputError


@dataclass(frozen=True)
class SortKey:
    """One column (or indexed expression) of a list's order.

    :param expr: what is ordered by; must match an index's column or expression exactly.
    :param descending: highest first.
    :param nullable: the column may be NULL (the "after" condition then places NULLs).
    """

    expr: ColumnElement[Any] | QueryableAttribute[Any]
    descending: bool = False
    nullable: bool = False

    def order(self) -> ColumnElement[Any]:
        return self.expr.desc() if self.descending else self.expr.asc()


def _nulls_first(key: SortKey, dialect: str) -> bool:
    # SQLite treats NULL as the smallest value, PostgreSQL as the largest.
    smallest = dialect == "sqlite"
    return smallest != key.descending


def _strictly_after(key: SortKey, value: Any, dialect: str) -> ColumnElement[bool]:
    nulls_first = key.nullable and _nulls_first(key, dialect)
    if value is None:
        return key.expr.is_not(None) if nulls_first else false()
    beyond = key.expr < value if key.descending else key.expr > value
    if key.nullable and not nulls_first:
        return or_(beyond, key.expr.is_(None))
    return beyond


def _equal(key: SortKey, value: Any) -> ColumnElement[bool]:
    return key.expr.is_(None) if value is None else key.expr == value


def after(keys: Sequence[SortKey], values: Sequence[Any], dialect: str) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the order ``keys`` (the last key must be unique).

    Besides the lexicographic condition, a plain range on the first key lets the planner seek
    into the index rather than test every row from the start.
    """
    cond: ColumnElement[bool] = false()
    for key, value in reversed(list(zip(keys, values, strict=True))):
        cond = or_(_strictly_after(key, value, dialect), and_(_equal(key, value), cond))
    first, v0 = keys[0], values[0]
    if v0 is not None and not first.nullable:
        seek = first.expr <= v0 if first.descending else first.expr >= v0
        return and_(seek, cond)
    return and_(true(), cond)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def encode_cursor(sort: str, values: Sequence[Any]) -> str:
    """An opaque cursor naming the sort (a cursor is only valid for the order it came from)."""
    raw = json.dumps([sort, *[_plain(v) for v in values]], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, keys: Sequence[SortKey], *, source: str) -> list[Any]:
    """The sort values in ``cursor``, converted back to each key's type; InputError if it is not one."""
    def bad(why: str) -> InputError:
        return InputError(source, None, "after", f"{why}; start again from the first page")

    try:
        doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad("the cursor is not one this list produced") from None
    if not isinstance(doc, list) or len(doc) != len(keys) + 1 or doc[0] != sort:
        raise bad(f"the cursor does not belong to the {sort!r} order")
    out: list[Any] = []
    for key, value in zip(keys, doc[1:], strict=True):
        if value is None:
            if not key.nullable:
                raise bad("the cursor is missing a value")
            out.append(None)
            continue
        sql_type = key.expr.type
        while isinstance(sql_type, TypeDecorator):
            sql_type = sql_type.impl_instance
        try:
            kind = sql_type.python_type
        except NotImplementedError:
            kind = str
        try:
            if kind is datetime:
                out.append(datetime.fromisoformat(value))
            elif kind is date:
                out.append(date.fromisoformat(value))
            elif kind is int:
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ValueError(value)
                out.append(value)
            else:
                if not isinstance(value, str):
                    raise ValueError(value)
                out.append(value)
        except (TypeError, ValueError):
            raise bad("the cursor holds a value of the wrong kind") from None
    return out
