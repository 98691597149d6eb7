"""#18: the findings and inventory lists never sort the whole table (EXPLAIN at 100k rows).

Each list's first page is captured as the SQL the read side really sends, then explained on
SQLite (EXPLAIN QUERY PLAN: no "USE TEMP B-TREE FOR ORDER BY") and PostgreSQL (EXPLAIN after
ANALYZE: no Sort node), with 100,000 rows so the planners see a register of fleet size. Dropping
or mis-ordering migration 0018's index makes this fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import event, insert, text
from sqlalchemy.orm import Session

from radguard.checks.findings import FINDING_SORTS, findings_cursor, findings_page, list_findings
from radguard.db.models.findings import Finding
from radguard.db.models.inventory import Asset, Site
from radguard.db.session import Database
from radguard.inventory.queries import ASSET_SORTS, list_assets, query_assets
from radguard.inventory.vocab import AssetClass

ROWS = 100_000
SEVERITIES = ("critical", "high", "medium", "low", "info")
STATES = ("open", "open", "open", "reopened", "mitigated")
CLASSES = [c.value for c in AssetClass]


def _fill(db: Database) -> None:
    with db.transaction() as session:
        session.execute(insert(Site), [{"code": f"S{i:02d}", "name": f"Site {i}"} for i in range(10)])
        site_ids = [r[0] for r in session.execute(text("SELECT id FROM site ORDER BY id"))]
        session.execute(insert(Asset), [
            {"site_id": site_ids[i % 10], "name": f"asset-{i:06d}", "asset_class": CLASSES[i % len(CLASSES)],
             "criticality": None if i % 6 == 0 else i % 5 + 1, "risk_score": (i * 31) % 1000,
             "open_findings": i % 13, "vendor": f"Vendor {i % 97}", "product": f"Product {i % 89}",
             "last_seen": None if i % 9 == 0 else datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i)}
            for i in range(ROWS)])
        session.execute(insert(Finding), [
            {"fingerprint": f"RG-X|{i}", "check_id": f"RG-{i % 40:03d}", "title": "t", "key": "",
             "severity": SEVERITIES[i % 5], "state": STATES[i % 5], "risk_score": (i * 7919) % 1000,
             "asset_id": None if i % 50 == 0 else i + 1,
             "due": None if i % 7 == 0 else date(2027, 1, 1) + timedelta(days=i % 365),
             "last_seen": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=i)}
            for i in range(ROWS)])
    with db.engine.begin() as conn:
        conn.execute(text("ANALYZE"))


@contextmanager
def _captured(db: Database) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _plan(db: Database, read: Callable[[Session], object], table: str) -> str:
    with _captured(db) as seen, db.read() as session:
        read(session)
    # The list query itself: the first SELECT from its table that is not a count (the eager
    # loads follow it).
    statement, params = next((s, p) for s, p in seen if s.lstrip().upper().startswith("SELECT")
                             and f"FROM {table}" in s and "count(" not in s.lower())
    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        cur = raw.cursor()
        if db.engine.dialect.name == "sqlite":
            cur.execute("EXPLAIN QUERY PLAN " + statement, params)
            return "\n".join(str(row[-1]) for row in cur.fetchall())
        cur.execute("EXPLAIN " + statement, params)
        return "\n".join(str(row[0]) for row in cur.fetchall())


def _assert_no_full_sort(db: Database, plan: str, *, per_group: bool = False) -> None:
    """No sort of the whole result. ``per_group``: PostgreSQL may sort within each leading-key group.

    The inventory is ordered by site code, then asset name, across a join; PostgreSQL does not
    carry the inner index's order through a nested loop, so it sorts each site's assets
    (Incremental Sort, presorted by site) instead of the whole table. That is allowed there and
    nowhere else; a plain Sort node is a full sort and fails.
    """
    if db.engine.dialect.name == "sqlite":
        assert "TEMP B-TREE FOR ORDER BY" not in plan and "TEMP B-TREE FOR RIGHT PART OF ORDER BY" not in plan, plan
        return
    nodes = [line.strip().removeprefix("->").strip() for line in plan.splitlines()]
    assert not [n for n in nodes if n.startswith("Sort  (")], plan  # a node, not a "Sort Key:" detail
    if not per_group:
        assert not [n for n in nodes if n.startswith("Incremental Sort")], plan


def test_lists_do_not_sort_the_whole_table(database: Database) -> None:
    _fill(database)
    plans = {
        "findings": _plan(database, lambda s: list_findings(s, limit=50), "finding"),
        "open findings": _plan(database, lambda s: list_findings(s, states=["open"], limit=50), "finding"),
        "inventory": _plan(database, lambda s: list_assets(s, limit=50), "asset"),
    }
    for name, plan in plans.items():
        assert plan, name
        _assert_no_full_sort(database, plan, per_group=name == "inventory")
    if database.engine.dialect.name == "sqlite":
        assert "ix_finding_risk_order" in plans["findings"], plans["findings"]

    _every_findings_order(database)
    _every_inventory_order(database)


def _every_findings_order(database: Database) -> None:
    """Every sort of the findings list, first page and a cursor page, web rows and API objects."""
    with database.read() as session:
        cursors = {sort: findings_cursor(list_findings(session, sort=sort, offset=5000, limit=1)[0], sort)
                   for sort in FINDING_SORTS}
    plans: dict[str, str] = {}
    for sort in FINDING_SORTS:
        plans[sort] = _plan(database, lambda s, o=sort: list_findings(s, sort=o, limit=50), "finding")
        plans[f"{sort} after cursor"] = _plan(
            database, lambda s, o=sort: list_findings(s, sort=o, after=cursors[o], limit=50), "finding")
        plans[f"{sort} rows, open"] = _plan(
            database, lambda s, o=sort: findings_page(s, sort=o, states=["open"]), "finding")
    plans["site filter"] = _plan(database, lambda s: list_findings(s, site="S03", limit=50), "finding")
    for name, plan in plans.items():
        assert plan, name
        _assert_no_full_sort(database, plan)
    if database.engine.dialect.name == "sqlite":
        assert "ix_finding_severity_order" in plans["severity"], plans["severity"]
        assert "ix_finding_due_order" in plans["due after cursor"], plans["due after cursor"]


INVENTORY_FILTERS: dict[str, dict[str, Any]] = {
    "": {}, "site": {"site": "S03"}, "class": {"asset_class": "pacs"}, "criticality": {"criticality": 4},
    "site+class+criticality": {"site": "S03", "asset_class": "pacs", "criticality": 4},
}


def _every_inventory_order(database: Database) -> None:
    """Every sort of the inventory list with every filter, first page and a cursor page."""
    with database.read() as session:
        cursors = {sort: query_assets(session, sort=sort, page=101).next_cursor for sort in ASSET_SORTS}
    assert all(cursors.values()), cursors
    plans: dict[str, str] = {}
    for sort in ASSET_SORTS:
        for fname, filters in INVENTORY_FILTERS.items():
            plans[f"{sort} {fname}"] = _plan(
                database, lambda s, o=sort, f=filters: query_assets(s, sort=o, **f), "asset")
        plans[f"{sort} after cursor"] = _plan(
            database, lambda s, o=sort: query_assets(s, sort=o, after=cursors[o]), "asset")
        plans[f"{sort} site after cursor"] = _plan(
            database, lambda s, o=sort: query_assets(s, sort=o, site="S03", after=cursors[o]), "asset")
    for name, plan in plans.items():
        assert plan, name
        if database.engine.dialect.name == "postgresql" and "Sort  (" in plan and name.split(" ", 1)[1]:
            # PostgreSQL may pick an index condition for the filters and sort only the rows it
            # selects (e.g. one site's PACS): allowed only if no row outside the filter is read.
            assert "Seq Scan" not in plan and "Index Cond" in plan, (name, plan)
            continue
        _assert_no_full_sort(database, plan)
    if database.engine.dialect.name == "sqlite":
        assert "ix_asset_risk_order" in plans["risk "], plans["risk "]
        assert "ix_asset_open_order" in plans["open_findings after cursor"], plans["open_findings after cursor"]
