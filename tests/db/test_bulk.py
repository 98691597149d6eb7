"""radguard.db.bulk: rows written by COPY (PostgreSQL) read back exactly as an ORM insert's.

The inventory importer writes assets, endpoints, AE titles and software through
``bulk.insert_rows``; on PostgreSQL that is one ``COPY`` per table and batch, which bypasses
SQLAlchemy's statement compilation. These tests compare, on both databases, rows written that
way with the same rows inserted by SQLAlchemy: the Python-side defaults, JSON documents,
booleans, dates and NULLs must come back identical, and IDs taken with ``reserve_ids`` must
not collide with later ordinary inserts.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert, select

from radguard.db import bulk
from radguard.db.models.inventory import Asset, Endpoint, Site
from radguard.db.session import Database

ROWS: list[dict[str, Any]] = [
    {"name": "ct-1", "asset_class": "modality", "vendor": "Acme", "product": "Scan \"X\"\ttab\\slash",
     "criticality": 5, "stores_phi": True, "end_of_support": date(2027, 3, 1), "buffer_hours": 12.5,
     "tags": ["ed", "24/7"], "attributes": {"room": "B2", "nested": {"n": 1, "ok": False}}},
    {"name": "pacs-1", "asset_class": "pacs", "vendor": None, "product": None, "criticality": None,
     "stores_phi": False, "end_of_support": None, "buffer_hours": None, "tags": [], "attributes": {}},
    {"name": "ärzte-ws\nline", "asset_class": "workstation", "vendor": "Ünïcode", "product": "",
     "criticality": 1, "stores_phi": None, "end_of_support": None, "buffer_hours": 0.0,
     "tags": ["a"], "attributes": {"k": None}},
]

COMPARED = [c for c in Asset.__table__.columns if c.key not in ("id", "name", "site_id", "created_at",
                                                                "updated_at")]


def _site(db: Database) -> int:
    with db.transaction() as s:
        site = Site(code="S1", name="Site 1")
        s.add(site)
        s.flush()
        return site.id


def _read(db: Database, prefix: str) -> dict[str, tuple[Any, ...]]:
    with db.read() as s:
        rows = s.execute(select(Asset.name, *COMPARED).where(Asset.name.startswith(prefix)))
        return {name.removeprefix(prefix): tuple(rest) for name, *rest in rows}


def test_copied_rows_read_back_as_orm_inserted_rows(database: Database) -> None:
    sid = _site(database)
    started = datetime.now(UTC)
    with database.transaction() as s:
        s.execute(insert(Asset), [{**r, "name": "orm-" + r["name"], "site_id": sid} for r in ROWS])
        bulk.insert_rows(s, Asset, [{**r, "name": "bulk-" + r["name"], "site_id": sid} for r in ROWS])
    orm, copied = _read(database, "orm-"), _read(database, "bulk-")
    assert set(copied) == {r["name"] for r in ROWS}
    assert copied == orm
    by_name = {r["name"]: r for r in ROWS}
    for name, values in copied.items():  # and they are the values given, with the model's defaults
        row = dict(zip((c.key for c in COMPARED), values, strict=True))
        assert row["tags"] == by_name[name]["tags"] and row["attributes"] == by_name[name]["attributes"]
        assert (row["source"], row["confirmed"], row["risk_score"], row["open_findings"]) == ("import", True, 0, 0)
    with database.read() as s:
        stamps = s.execute(select(Asset.created_at, Asset.updated_at).where(Asset.name.startswith("bulk-"))).all()
    assert all(c >= started.replace(microsecond=0) and c.tzinfo is not None and u is not None for c, u in stamps)


def test_reserved_ids_are_written_and_later_inserts_continue_after_them(database: Database) -> None:
    sid = _site(database)
    with database.transaction() as s:
        first = s.scalar(insert(Asset).values(site_id=sid, name="before", asset_class="other").returning(Asset.id))
        assert first is not None
        if bulk.uses_copy(s):
            ids = bulk.reserve_ids(s, Asset, 3)
            assert ids == sorted(set(ids)) and len(ids) == 3 and ids[0] > first
        else:
            ids = [first + 1, first + 2, first + 3]  # SQLite: explicit IDs, as the importer never does
        bulk.insert_rows(s, Asset, [{"id": i, "site_id": sid, "name": f"r{i}", "asset_class": "other"}
                                    for i in ids])
        bulk.insert_rows(s, Endpoint, [{"asset_id": i, "host": "10.0.0.1", "port": 104, "protocol": "dicom"}
                                       for i in ids])
        after = s.scalar(insert(Asset).values(site_id=sid, name="after", asset_class="other").returning(Asset.id))
    assert after is not None and after > max(ids)
    with database.read() as s:
        assert sorted(s.scalars(select(Asset.id).where(Asset.name.startswith("r")))) == ids
        assert sorted(s.scalars(select(Endpoint.asset_id))) == ids
        assert set(s.scalars(select(Endpoint.source))) == {"import"}  # the model's default


def test_nothing_to_write_writes_nothing(database: Database) -> None:
    with database.transaction() as s:
        bulk.insert_rows(s, Asset, [])
        assert bulk.reserve_ids(s, Asset, 0) == []
    with database.read() as s:
        assert s.scalar(select(Asset.id)) is None
