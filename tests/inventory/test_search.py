"""#18: the inventory's ``q`` finds the same assets on SQLite (FTS5 trigram) and PostgreSQL (pg_trgm).

``q`` is a case-insensitive substring of an asset's name, vendor or product; ``%``, ``_`` and
quotes are plain characters; a one- or two-character ``q`` still matches. The SQLite index is
kept by triggers, so renames and deletes by any writer are seen by the next search.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, event, select, text, update

from radguard.db import search
from radguard.db.models.inventory import Asset, Site
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.inventory import importer, queries
from radguard.inventory.importer import import_inventory
from radguard.inventory.queries import query_assets

ASSETS = [
    ("S1", "PACS-main", "Agfa", "Enterprise Imaging"),
    ("S1", "ct-scanner-2", "Siemens Healthineers", "SOMATOM go.Up"),
    ("S1", "mr_100%", "GE", "SIGNA \"Pioneer\""),
    ("S2", "us-cart", None, None),
    ("S2", "workstation-7", "Barco", "Coronis"),
    ("S2", "mr-100", "Philips", "Ingenia"),
]


def _seed(db: Database) -> None:
    with db.transaction() as s:
        sites = {code: Site(code=code, name=f"Site {code}") for code in ("S1", "S2")}
        s.add_all(sites.values())
        s.flush()
        s.add_all(Asset(site_id=sites[code].id, name=name, asset_class="other", vendor=vendor, product=product)
                  for code, name, vendor, product in ASSETS)


def _names(db: Database, q: str, **kw: object) -> list[str]:
    with db.read() as s:
        page = query_assets(s, q=q, per_page=100, **kw)  # type: ignore[arg-type]
        names = sorted(r.name for r in page.rows)
        assert page.total == len(names), (q, page.total, names)
        return names


@pytest.fixture(params=["index", "walk"])
def page_route(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways SQLite reads a search's page: rows from the FTS5 table, or (from WALK_MATCHES
    matches, here lowered to one) the order's index tested with LIKE. Same answers either way."""
    if request.param == "walk":
        monkeypatch.setattr(queries, "WALK_MATCHES", 1)
    return str(request.param)


def test_q_is_a_substring_of_name_vendor_or_product_in_any_case(database: Database, page_route: str) -> None:
    _seed(database)
    assert _names(database, "pacs") == ["PACS-main"]
    assert _names(database, "SIEMENS health") == ["ct-scanner-2"]  # vendor, with its space
    assert _names(database, "coronis") == ["workstation-7"]  # product
    assert _names(database, "go.up") == ["ct-scanner-2"]
    assert _names(database, "mr") == ["mr-100", "mr_100%"]  # two characters: still found
    assert _names(database, "r") == sorted(n for _, n, v, p in ASSETS
                                           if "r" in f"{n} {v or ''} {p or ''}".lower())
    assert _names(database, "nothing-like-this") == []
    assert _names(database, "pacs", site="S2") == []
    assert _names(database, "mr-", site="S2") == ["mr-100"]


def test_wildcards_and_quotes_in_q_are_plain_characters(database: Database, page_route: str) -> None:
    _seed(database)
    assert _names(database, "100%") == ["mr_100%"]
    assert _names(database, "r_1") == ["mr_100%"]  # not "any character": mr-100 does not match
    assert _names(database, "_") == ["mr_100%"]
    assert _names(database, "%") == ["mr_100%"]
    assert _names(database, '"Pioneer"') == ["mr_100%"]
    assert _names(database, 'A "P') == ["mr_100%"]
    assert _names(database, "a*") == []  # not an FTS prefix query


def test_renames_and_deletes_are_searched_at_once(database: Database) -> None:
    _seed(database)
    with database.transaction() as s:
        s.execute(update(Asset).where(Asset.name == "us-cart").values(name="ultrasound-cart", vendor="Esaote"))
        s.execute(update(Asset).where(Asset.name == "PACS-main").values(criticality=5))  # not a searched column
        s.execute(delete(Asset).where(Asset.name == "workstation-7"))
    assert _names(database, "ultrasound") == ["ultrasound-cart"]
    assert _names(database, "esaote") == ["ultrasound-cart"]
    assert _names(database, "us-cart") == []
    assert _names(database, "coronis") == []
    assert _names(database, "pacs-m") == ["PACS-main"]
    with database.transaction() as s:
        s.add(Asset(site_id=s.scalar(select(Site.id).where(Site.code == "S1")), name="new-pacs",
                    asset_class="pacs"))
    assert _names(database, "pacs") == ["PACS-main", "new-pacs"]


def test_the_search_index_is_there_at_head(database: Database) -> None:
    """A batch migration that rebuilds ``asset`` on SQLite drops its triggers: this notices."""
    with database.read() as s:
        if database.engine.dialect.name == "sqlite":
            triggers = set(s.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger' "
                                          "AND tbl_name = 'asset'")))
            assert {"asset_search_insert", "asset_search_update", "asset_search_delete"} <= triggers
        else:
            indexes = set(s.scalars(text("SELECT indexname FROM pg_indexes WHERE tablename = 'asset'")))
            assert {"ix_asset_name_trgm", "ix_asset_vendor_trgm", "ix_asset_product_trgm"} <= indexes


@contextmanager
def _statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def _import(db: Database, path: Path, rows: list[tuple[str, str, str, str]]) -> list[str]:
    """Import (site, name, vendor, product) rows as a CSV file; the SQL statements it sent."""
    path.write_text("site,site_name,name,class,vendor,product\n"
                    + "".join(f"{site},Site {site},{name},other,{vendor},{product}\n"
                              for site, name, vendor, product in rows))
    with _statements(db) as seen, db.transaction() as s:
        import_inventory(s, path)
    return seen


def _triggers(db: Database) -> set[str]:
    with db.read() as s:
        return set(s.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'asset'")))


def test_a_large_import_rebuilds_the_index_once_and_later_edits_keep_it_current(
        database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past BULK_MIN_ROWS (lowered here from 5,000 so the test stays small) SQLite drops the
    search triggers, writes, rebuilds the FTS5 index once and puts the triggers back."""
    sqlite = database.engine.dialect.name == "sqlite"
    monkeypatch.setattr(search, "BULK_MIN_ROWS", 20)
    scanners = [("S1", f"scanner-{i:03d}", "Acme", f"Model {i}") for i in range(60)]
    seen = _import(database, tmp_path / "first.csv", scanners)
    if sqlite:
        assert sum("DROP TRIGGER" in s for s in seen) == 3, seen
        assert sum("'rebuild'" in s for s in seen) == 1, seen
        assert sum(s.startswith("CREATE TRIGGER") for s in seen) == 3, seen
        assert set(search.TRIGGERS) <= _triggers(database)
    else:
        # PostgreSQL: the planner's statistics are written with the rows (radguard.db.bulk).
        assert [s for s in seen if s.startswith("ANALYZE")] == [
            'ANALYZE "asset", "endpoint", "ae_title", "software_component"'], seen
        assert sum("gin_clean_pending_list" in s for s in seen) == 1, seen
        with database.read() as s:
            assert s.scalar(text("SELECT count(*) FROM pg_stats WHERE tablename = 'asset'")), "no statistics"
    assert _names(database, "scanner-04") == [f"scanner-04{i}" for i in range(10)]
    assert _names(database, "ACME") == [name for _, name, _, _ in scanners]

    # A re-import updates the vendor of ten of them (another bulk write on SQLite).
    _import(database, tmp_path / "again.csv",
            [(site, name, "Zenith" if i < 10 else vendor, product)
             for i, (site, name, vendor, product) in enumerate(scanners)])
    assert _names(database, "zenith") == [f"scanner-00{i}" for i in range(10)]
    assert len(_names(database, "acme")) == 50

    # An edit by any writer afterwards goes through the restored triggers.
    with database.transaction() as s:
        s.execute(update(Asset).where(Asset.name == "scanner-005").values(name="ct-room-5"))
    assert _names(database, "ct-room") == ["ct-room-5"]
    assert _names(database, "scanner-005") == []
    assert "scanner-005" not in _names(database, "scanner")

    # A small import keeps the triggers and is searchable at once.
    monkeypatch.setattr(search, "BULK_MIN_ROWS", 5_000)
    seen = _import(database, tmp_path / "small.csv", [("S2", "mr-unit", "Bruker", "BioSpec")])
    assert not [s for s in seen if "TRIGGER" in s or "'rebuild'" in s or s.startswith("ANALYZE")], seen
    assert _names(database, "biospec") == ["mr-unit"]


def test_a_failed_large_import_leaves_the_index_and_its_triggers_as_they_were(
        database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _seed(database)
    monkeypatch.setattr(search, "BULK_MIN_ROWS", 20)
    monkeypatch.setattr(importer, "BATCH", 10)  # so rows are written (and triggers dropped) before the bad row
    path = tmp_path / "bad.csv"
    path.write_text("site,site_name,name,class,vendor,product\n"
                    + "".join(f"S1,Site S1,probe-{i:03d},other,Acme,Model\n" for i in range(40))
                    + "S1,Site S1,probe-bad,blender,Acme,Model\n")
    with pytest.raises(InputError, match="row 41"), _statements(database) as seen, database.transaction() as s:
        import_inventory(s, path)
    if database.engine.dialect.name == "sqlite":
        assert sum("DROP TRIGGER" in s for s in seen) == 3, seen  # the bulk path was taken
        assert set(search.TRIGGERS) <= _triggers(database)
    assert _names(database, "probe") == []
    with database.transaction() as s:
        s.execute(update(Asset).where(Asset.name == "us-cart").values(name="ultrasound-cart"))
    assert _names(database, "ultrasound") == ["ultrasound-cart"]
    assert _names(database, "us-cart") == []


def test_the_cli_list_searches_as_the_web_list_does(rg: Callable[..., Any], database: Database) -> None:
    """``radguard inventory list --search`` goes through the same search_match as ``query_assets``."""
    _seed(database)
    for q in ("PACS", "siemens health", "mr", "100%", "r_1", "nothing-like-this"):
        r = rg("--db", database.url, "inventory", "list", "--search", q, "--json")
        assert r.code == 0, r.err
        assert sorted(a["name"] for a in json.loads(r.out)) == _names(database, q), q
    r = rg("--db", database.url, "inventory", "list", "-q", "mr-", "--site", "S2", "--json")
    assert [a["name"] for a in json.loads(r.out)] == ["mr-100"]


def test_non_ascii_case_folds_on_sqlite_and_as_lc_ctype_says_on_postgresql(database: Database) -> None:
    """What docs/inventory.md says about letters outside ASCII."""
    with database.transaction() as s:
        site = Site(code="S1", name="Site S1")
        s.add(site)
        s.flush()
        s.add(Asset(site_id=site.id, name="ÄRZTE-CT", asset_class="modality"))
    assert _names(database, "ÄRZTE") == ["ÄRZTE-CT"]
    if database.engine.dialect.name == "sqlite":
        assert _names(database, "ärzte") == ["ÄRZTE-CT"]
        return
    with database.read() as s:
        ctype = s.scalar(text("SELECT datctype FROM pg_database WHERE datname = current_database()"))
    if ctype in ("C", "POSIX"):
        assert _names(database, "ärzte") == [], ctype
        assert _names(database, "Ärzte") == ["ÄRZTE-CT"], ctype
    else:
        assert _names(database, "ärzte") == ["ÄRZTE-CT"], ctype


def _fleet(db: Database) -> None:
    """Thirty assets at three sites, matches of "scan" unevenly spread (all at the last site but
    two), with criticality and vendor NULL on some, so every order has ties and NULLs to place."""
    with db.transaction() as s:
        sites = [Site(code=f"S{i}", name=f"Site {i}") for i in range(3)]
        s.add_all(sites)
        s.flush()
        for i in range(30):
            site = sites[2] if i % 10 else sites[i // 10]
            s.add(Asset(site_id=site.id, name=f"dev-{i:02d}", asset_class=("modality", "pacs", "other")[i % 3],
                        vendor=None if i % 4 == 0 else "Acme", product="Scanner" if i % 2 else "Viewer",
                        criticality=None if i % 5 == 0 else 1 + i % 5, risk_score=(i * 7) % 11,
                        open_findings=i % 4))


def _walk_pages(db: Database, q: str, sort: str, per_page: int) -> tuple[list[int], list[tuple[int, bool]]]:
    """Every page of a search by "Next" cursors: the IDs in order, and each page's (total, more)."""
    ids: list[int] = []
    counts: list[tuple[int, bool]] = []
    after: str | None = None
    with db.read() as s:
        while True:
            page = query_assets(s, q=q, sort=sort, per_page=per_page, after=after)
            ids += [r.id for r in page.rows]
            counts.append((page.total, page.more))
            if page.next_cursor is None:
                return ids, counts
            after = page.next_cursor


@pytest.mark.parametrize("cap", [1_000, 4])
def test_every_order_pages_through_exactly_the_matches_and_the_count_stops_at_the_cap(
        database: Database, monkeypatch: pytest.MonkeyPatch, cap: int) -> None:
    """The reference is the plain list (no ``q``) in the same order, filtered in Python: a search
    must list those assets, in that order, whichever route reads its page (few matches: collected
    and sorted; more than the cap: the order's index walked). With the cap lowered to 4 (below
    the 15 "scan" matches) the count says "more than 4" and the walk route is taken."""
    monkeypatch.setattr(queries, "SEARCH_COUNT_CAP", cap)
    _fleet(database)
    with database.read() as s:
        every = {r.id: r for r in query_assets(s, per_page=100).rows}
    for q in ("scan", "ACME", "dev-1", "nothing-like-this"):
        expected_n = sum(q.lower() in f"{r.name} {r.vendor or ''} {r.product or ''}".lower() for r in every.values())
        for sort in queries.ASSET_SORTS:
            with database.read() as s:
                order = [r.id for r in query_assets(s, sort=sort, per_page=100).rows]
            wanted = [i for i in order if q.lower() in
                      f"{every[i].name} {every[i].vendor or ''} {every[i].product or ''}".lower()]
            ids, counts = _walk_pages(database, q, sort, per_page=4)
            assert ids == wanted, (q, sort)
            assert set(counts) == {(min(expected_n, cap), expected_n > cap)}, (q, sort, counts)


def test_a_capped_count_still_numbers_pages_past_the_cap(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """Page links jump by offset: with "more than N" matches a page beyond N / per_page is not cut
    back to the last page the cap reaches."""
    monkeypatch.setattr(queries, "SEARCH_COUNT_CAP", 4)
    _fleet(database)
    with database.read() as s:
        third = query_assets(s, q="scan", per_page=2, page=3)
        all_rows = query_assets(s, q="scan", per_page=100)
        assert (third.total, third.more, third.page) == (4, True, 3)
        assert [r.id for r in third.rows] == [r.id for r in all_rows.rows][4:6]
        assert len(all_rows.rows) == 15 and all_rows.more
