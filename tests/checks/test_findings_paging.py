"""#18: keyset (cursor) paging of the findings list gives exactly the rows offset paging gives.

Every order, on SQLite and PostgreSQL, over a register with ties in every sort column and
NULLs in the nullable ones (organisation-wide findings have no asset, some have no due date):
walking "Next" cursors must visit each finding once, in the same order as the offsets do.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from radguard.checks.findings import FINDING_SORTS, findings_cursor, findings_page, list_findings
from radguard.db.models.findings import Finding
from radguard.db.models.inventory import Asset, Site
from radguard.db.session import Database
from radguard.errors import InputError

SEVERITIES = ("critical", "high", "medium", "low", "info")


def _fill(db: Database, n: int = 230) -> None:
    with db.transaction() as s:
        s.execute(insert(Site), [{"code": "A", "name": "Site A"}, {"code": "B", "name": "Site B"}])
        sites = list(s.scalars(select(Site.id).order_by(Site.id)))
        s.execute(insert(Asset), [{"site_id": sites[i % 2], "name": f"dev-{i}", "asset_class": "modality"}
                                  for i in range(20)])
        assets = list(s.scalars(select(Asset.id).order_by(Asset.id)))
        s.execute(insert(Finding), [
            {"fingerprint": f"RG-T|{i}", "check_id": f"RG-C{i % 4}", "title": "t", "key": str(i),
             "severity": SEVERITIES[i % 5], "state": "open" if i % 3 else "mitigated", "risk_score": (i % 6) * 10,
             "asset_id": None if i % 9 == 0 else assets[i % 20],
             "due": None if i % 4 == 0 else date(2027, 1, 1) + timedelta(days=i % 3),
             "last_seen": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i % 5)} for i in range(n)])


@pytest.mark.parametrize("sort", list(FINDING_SORTS))
def test_cursor_pages_match_offset_pages(database: Database, sort: str) -> None:
    _fill(database)
    with database.read() as s:
        everything = [f.id for f in list_findings(s, sort=sort)]
        assert len(everything) == 230 and len(set(everything)) == 230
        walked: list[int] = []
        cursor: str | None = None
        page = 1
        while True:
            result = findings_page(s, sort=sort, after=cursor, page=page, per_page=40)
            assert [r.id for r in result.rows] == everything[(page - 1) * 40:page * 40]
            if not cursor:  # the same page by number
                assert [r.id for r in findings_page(s, sort=sort, page=page, per_page=40).rows] == \
                    everything[(page - 1) * 40:page * 40]
            walked += [r.id for r in result.rows]
            if result.next_cursor is None:
                break
            cursor, page = result.next_cursor, page + 1
        assert walked == everything and result.total == 230 and result.pages == 6
        # the API's cursor (from ORM objects) is the web's (from rows)
        tenth = list_findings(s, sort=sort, limit=10)
        api_next = [f.id for f in list_findings(s, sort=sort, after=findings_cursor(tenth[-1], sort), limit=10)]
        assert api_next == everything[10:20]


def test_filters_with_cursor_and_bad_cursors(database: Database) -> None:
    _fill(database)
    with database.read() as s:
        open_b = [f.id for f in list_findings(s, states=["open"], site="B", sort="due")]
        first = findings_page(s, states=["open"], site="B", sort="due", per_page=25)
        second = findings_page(s, states=["open"], site="B", sort="due", after=first.next_cursor, page=2,
                               per_page=25)
        assert [r.id for r in first.rows + second.rows] == open_b[:50]
        assert all(r.state == "open" for r in first.rows)
        assert {r.site_code for r in first.rows + second.rows} <= {"B", None}
        overdue = findings_page(s, due_before=date(2027, 1, 2), per_page=500)
        assert overdue.rows and all(r.due is not None and r.due < date(2027, 1, 2) for r in overdue.rows)
        with pytest.raises(InputError, match="does not belong to the 'risk' order"):
            findings_page(s, sort="risk", after=first.next_cursor)
        with pytest.raises(InputError, match="not one this list produced"):
            findings_page(s, after="%%%")
        with pytest.raises(InputError, match="is not one of"):
            findings_page(s, sort="colour")
