"""The inventory's read side: looking assets up by the names people use, and the paged search.

The web pages, the API, the CLI and the reports read assets through these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import column, func, literal_column, or_, select, table
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from radguard.db.keyset import SortKey, decode_cursor, encode_cursor
from radguard.db.keyset import after as keyset_after
from radguard.db.models.inventory import Asset, Site
from radguard.db.search import SEARCH_TABLE
from radguard.errors import InputError, NotFoundError
from radguard.inventory.scope import SiteScope, scope_site_ids, site_visible


def list_assets(session: Session, site: str | None = None, asset_class: str | None = None,
                limit: int | None = None, *, scope: SiteScope = None, q: str = "") -> Sequence[Asset]:
    """Assets by site code and name.

    :param site: only this site's (by code).
    :param asset_class: only this class.
    :param limit: at most this many.
    :param scope: the sites the caller may see (:mod:`radguard.inventory.scope`); None: all.
    :param q: only those whose name, vendor or product contains it, any case (:func:`search_match`,
        the same search as the web list and the API).
    """
    stmt = select(Asset).join(Site).options(selectinload(Asset.site), selectinload(Asset.endpoints))
    if q:
        stmt = stmt.where(search_match(session, q))
    if scope is not None:
        stmt = stmt.where(Site.code.in_(sorted(scope)))
    if site:
        stmt = stmt.where(Site.code == site)
    if asset_class:
        stmt = stmt.where(Asset.asset_class == asset_class)
    stmt = stmt.order_by(Site.code, Asset.name)
    if limit:
        stmt = stmt.limit(limit)
    return session.scalars(stmt).all()


def site_codes(session: Session, *, scope: SiteScope = None) -> list[str]:
    """The site codes, sorted (the site pickers of the pages): only those in ``scope``."""
    stmt = select(Site.code).order_by(Site.code)
    if scope is not None:
        stmt = stmt.where(Site.code.in_(sorted(scope)))
    return list(session.scalars(stmt))


def asset_sites(session: Session) -> dict[int, int]:
    """Asset ID → site ID for every asset (two integer columns: a tenth of a second at 100,000)."""
    return {int(a): int(s) for a, s in session.execute(select(Asset.id, Asset.site_id))}


def site_id_for(session: Session, code: str, *, scope: SiteScope = None) -> int:
    """The ID of the site with this code; NotFoundError for an unknown one or one outside ``scope``
    (another site is as unknown as no site)."""
    sid = session.scalar(select(Site.id).where(Site.code == code))
    if sid is None or not site_visible(code, scope):
        raise NotFoundError(f"no site with code {code!r}; see `radguard inventory sites`")
    return int(sid)


def find_asset(session: Session, ref: str, *, scope: SiteScope = None) -> Asset:
    """Find an asset by numeric ID, ``SITE/NAME`` or a name unique across sites.

    :param ref: the ID, ``SITE/NAME`` or name.
    :param scope: the sites the caller may see; an asset elsewhere is "not found", exactly as
        one that does not exist, so a site-scoped caller learns nothing about other sites.
    """
    asset = _find_asset(session, ref, scope)
    if not site_visible(asset.site.code, scope):
        raise NotFoundError(f"no asset {ref!r}; see `radguard inventory list`")
    return asset


def _find_asset(session: Session, ref: str, scope: SiteScope) -> Asset:
    opts = (selectinload(Asset.site), selectinload(Asset.endpoints), selectinload(Asset.ae_titles),
            selectinload(Asset.components))
    if ref.isdigit():
        asset = session.scalar(select(Asset).where(Asset.id == int(ref)).options(*opts))
        if asset:
            return asset
    if "/" in ref:
        code, name = ref.split("/", 1)
        asset = session.scalar(
            select(Asset).join(Site).where(Site.code == code, Asset.name == name).options(*opts)
        )
        if asset:
            return asset
    matches = [a for a in session.scalars(select(Asset).where(Asset.name == ref).options(*opts)).all()
               if site_visible(a.site.code, scope)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        names = ", ".join(f"{a.site.code}/{a.name}" for a in matches)
        raise NotFoundError(f"{ref!r} names more than one asset ({names}); use SITE/NAME or the ID")
    raise NotFoundError(f"no asset {ref!r}; see `radguard inventory list`")


def find_asset_by_id(session: Session, asset_id: int, *, scope: SiteScope = None) -> Asset:
    """The asset with this ID (site, endpoints, AE titles and components loaded).

    :param asset_id: the ID.
    :param scope: the sites the caller may see; an asset elsewhere is "not found".
    """
    asset = session.scalar(select(Asset).where(Asset.id == asset_id).options(
        selectinload(Asset.site), selectinload(Asset.endpoints), selectinload(Asset.ae_titles),
        selectinload(Asset.components)))
    if asset is None or not site_visible(asset.site.code, scope):
        raise NotFoundError(f"no asset {asset_id}; see `radguard inventory list`")
    return asset


def count_assets(session: Session, site: str | None = None, *, scope: SiteScope = None) -> int:
    """How many assets (at one site, by code); an unknown site has none.

    :param site: only this site's (by code).
    :param scope: the sites the caller may see; None: all.
    """
    stmt = select(func.count()).select_from(Asset)  # count(*): see query_assets
    ids = scope_site_ids(session, scope)
    if ids is not None:
        stmt = stmt.where(Asset.site_id.in_(ids))
    if site:
        stmt = stmt.join(Site).where(Site.code == site)
    return int(session.scalar(stmt) or 0)


def class_counts(session: Session, *, scope: SiteScope = None) -> tuple[dict[str, int], int]:
    """(assets per class, assets not yet confirmed): the dashboard's inventory card.

    :param scope: the sites the caller may see; None: all.
    """
    ids = scope_site_ids(session, scope)
    by_class_q = select(Asset.asset_class, func.count()).group_by(Asset.asset_class)
    unconfirmed_q = select(func.count()).select_from(Asset).where(Asset.confirmed.is_(False))
    if ids is not None:
        by_class_q = by_class_q.where(Asset.site_id.in_(ids))
        unconfirmed_q = unconfirmed_q.where(Asset.site_id.in_(ids))
    counts = {str(cls): int(n) for cls, n in session.execute(by_class_q)}
    return counts, int(session.scalar(unconfirmed_q) or 0)


# Each order ends in a unique column (or column set) and matches one index of migration 0031
# column for column (the site order: the unique (site_id, name)), so no page sorts the
# inventory and a cursor seeks to its first row. Sites are listed in the order they were added.
_ID = SortKey(Asset.id)
_RISK = SortKey(Asset.risk_score, descending=True)
ASSET_SORTS: dict[str, tuple[SortKey, ...]] = {
    "site": (SortKey(Asset.site_id), SortKey(Asset.name)),
    "risk": (_RISK, _ID),
    "open_findings": (SortKey(Asset.open_findings, descending=True), _RISK, _ID),
    "criticality": (SortKey(Asset.criticality, descending=True, nullable=True), _RISK, _ID),
    "class": (SortKey(Asset.asset_class), SortKey(Asset.site_id), SortKey(Asset.name)),
    "last_seen": (SortKey(Asset.last_seen, descending=True, nullable=True), _ID),
}


class AssetRow(NamedTuple):
    """An inventory list row: the columns the list shows, nothing else."""

    id: int
    site_id: int
    name: str
    asset_class: str
    modality_type: str | None
    vendor: str | None
    product: str | None
    software_version: str | None
    criticality: int | None
    confirmed: bool
    risk_score: int
    open_findings: int
    last_seen: datetime | None
    site_code: str = ""


_ROW_COLUMNS = (Asset.id, Asset.site_id, Asset.name, Asset.asset_class, Asset.modality_type, Asset.vendor,
                Asset.product, Asset.software_version, Asset.criticality, Asset.confirmed, Asset.risk_score,
                Asset.open_findings, Asset.last_seen)


@dataclass
class AssetPage:
    """One page of the inventory list; ``next_cursor`` is None on the last page.

    ``more``: a search's count stopped at :data:`SEARCH_COUNT_CAP`, so ``total`` is that cap
    and more assets than it match (:func:`radguard.wording.count_of` words it); ``pages`` is
    then only as far as the cap reaches.
    """

    rows: list[AssetRow]
    total: int
    page: int
    pages: int
    next_cursor: str | None = None
    sort: str = "site"
    more: bool = False


def _sort_keys(sort: str) -> tuple[SortKey, ...]:
    if sort not in ASSET_SORTS:
        raise InputError("inventory", None, "sort", f"{sort!r} is not one of {', '.join(ASSET_SORTS)}")
    return ASSET_SORTS[sort]


def asset_cursor(row: AssetRow, sort: str = "site") -> str:
    """The cursor for the rows after ``row`` in ``sort``."""
    return encode_cursor(sort, [getattr(row, str(k.expr.key)) for k in _sort_keys(sort)])


SEARCHED = (Asset.name, Asset.vendor, Asset.product)
"""The columns ``q`` searches; migration 0039 indexes exactly these."""

_fts = table(SEARCH_TABLE, column("rowid"))


WALK_MATCHES = 5_000
"""Past this many matches a search's page walks its order's index testing each row (SQLite:
with ``LIKE``) instead of collecting every match from the trigram index and sorting them: 50
matches then lie within about 50 × assets / matches rows of the walk (1,000 rows at 100,000
assets), while collecting reads and sorts all of them (100,000 rows for a word in every
product: 376 against 92 ms on SQLite, benchmarks/inventory_search.py). Up to it, PostgreSQL is
made to collect and sort too (see :func:`query_assets`). The count (:data:`SEARCH_COUNT_CAP`)
tells which side of it a search is."""


SEARCH_COUNT_CAP = WALK_MATCHES
"""A search's count stops here: beyond it the list says "more than 5,000 assets". Counting
every match of a word most assets contain read the whole table on every request (PostgreSQL
362 ms, SQLite 81 ms at 100,000 assets for ``product``), for a number nobody pages through;
counting to the cap is what chooses the page's route (:data:`WALK_MATCHES`), so it must not
be lower than that. The plain list (no ``q``) still counts exactly."""


def _fts_phrase(q: str) -> str:
    return '"' + q.replace('"', '""') + '"'


def _uses_fts(session: Session, q: str) -> bool:
    """Whether ``q`` is answered from SQLite's FTS5 table (three or more characters on SQLite)."""
    return len(q) >= 3 and session.get_bind().dialect.name == "sqlite"


def search_match(session: Session, q: str, *, scan: bool = False) -> ColumnElement[bool]:
    """Assets whose name, vendor or product contains ``q`` (any case; ``%`` and ``_`` are literal).

    Answered from migration 0039's trigram index, not by reading every asset: on SQLite the
    FTS5 table's phrase match (a trigram phrase is a substring), on PostgreSQL ``ILIKE`` over
    the pg_trgm GIN indexes. A trigram index cannot look up fewer than three characters, so a
    one- or two-character ``q`` is a plain ``LIKE`` (the same matches, read from every row).

    :param scan: SQLite: the plain ``LIKE`` form even for three or more characters (for a page
        that walks an index, see :data:`WALK_MATCHES`); the same matches for an ASCII ``q``.
    """
    pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if session.get_bind().dialect.name != "sqlite":
        # Backslash is PostgreSQL's default LIKE escape, and a bare ILIKE is what pg_trgm indexes.
        return or_(*(c.ilike(pattern) for c in SEARCHED))
    if len(q) < 3 or scan:
        # SQLite's LIKE already ignores ASCII case; ILIKE would wrap every row in lower().
        return or_(*(c.like(pattern, escape="\\") for c in SEARCHED))
    return Asset.id.in_(select(_fts.c.rowid).where(_fts_matches(q)))


def _fts_matches(q: str) -> ColumnElement[bool]:
    return literal_column(SEARCH_TABLE).op("MATCH")(_fts_phrase(q))


def _search_count(session: Session, q: str, match: ColumnElement[bool], others: list[ColumnElement[bool]]) -> int:
    """How many assets match, counted to one past :data:`SEARCH_COUNT_CAP` (the caller caps it).

    On SQLite the FTS5 table's rowids are counted directly (joined to ``asset`` only for the
    other filters): it holds one row per asset, and ``asset.id IN (…)`` first collected every
    matching rowid into a temporary index (a word in every asset: 81 against 0.4 ms capped).
    """
    if _uses_fts(session, q):
        inner = select(_fts.c.rowid).where(_fts_matches(q))
        if others:
            inner = inner.join(Asset, Asset.id == _fts.c.rowid).where(*others)
    else:
        inner = select(Asset.id).where(match, *others)
    return int(session.scalar(select(func.count()).select_from(inner.limit(SEARCH_COUNT_CAP + 1).subquery())) or 0)


def query_assets(session: Session, q: str = "", site: str = "", asset_class: str = "", page: int = 1,
                 per_page: int = 50, *, sort: str = "site", after: str | None = None,
                 criticality: int | None = None, scope: SiteScope = None) -> AssetPage:
    """Filter, order and page in the database (one COUNT and one page query), never in Python.

    Written for 100,000 assets: the page walks the index of its order (:data:`ASSET_SORTS`)
    and tests each row against the filters, so it reads only its own rows; a filter on a
    column other than the order's is written so that no index matches it (``site_id + 0``),
    else a planner may collect the filtered rows by that index and sort them. The count uses
    the plain, indexable filters.

    :param q: a substring of the name, vendor or product, any case (:func:`search_match`).
    :param site: a site code; an unknown site lists nothing.
    :param asset_class: one asset class.
    :param page: with ``after``, only the number shown; without it, the page by offset.
    :param sort: one of :data:`ASSET_SORTS`.
    :param after: a cursor from :func:`asset_cursor` (the previous page's "next").
    :param criticality: only assets of this clinical criticality (1-5).
    :param scope: the sites the caller may see (:mod:`radguard.inventory.scope`); it limits every
        row and the count, and a ``site`` outside it lists nothing.
    """
    keys = _sort_keys(sort)
    plain: list[ColumnElement[bool]] = []
    walked: list[ColumnElement[bool]] = []
    allowed = scope_site_ids(session, scope)
    if allowed is not None:
        plain.append(Asset.site_id.in_(allowed))
        walked.append(Asset.site_id.in_(allowed) if sort == "site" else (Asset.site_id + 0).in_(allowed))
    match = search_match(session, q) if q else None
    if match is not None:
        walked.append(match)
    if site:
        site_id = session.scalar(select(Site.id).where(Site.code == site))
        if site_id is None:
            return AssetPage([], 0, 1, 1, None, sort)
        plain.append(Asset.site_id == site_id)
        walked.append(Asset.site_id == site_id if sort == "site" else (Asset.site_id + 0) == site_id)
    if asset_class:
        plain.append(Asset.asset_class == asset_class)
        walked.append(Asset.asset_class == asset_class if sort in ("site", "class")
                      else Asset.asset_class.concat("") == asset_class)
    if criticality is not None:
        plain.append(Asset.criticality == criticality)
        walked.append(Asset.criticality == criticality if sort == "criticality"
                      else (Asset.criticality + 0) == criticality)
    dialect = session.get_bind().dialect.name
    if match is None:
        # count(*), not count(asset.id): SQLite reads and tests every row's id for NULL in the
        # latter (29 ms against 1.7 ms for 100,000 assets, the larger part of the page's time).
        total = int(session.scalar(select(func.count()).select_from(Asset).where(*plain)) or 0)
        more = False
    else:
        counted = _search_count(session, q, match, plain)
        total, more = min(counted, SEARCH_COUNT_CAP), counted > SEARCH_COUNT_CAP
        plain.append(match)
    if dialect != "sqlite":
        # PostgreSQL either walks the order's index or sorts only the rows an index condition
        # selects; hiding the filters from its indexes made it scan the table instead.
        walked = plain
    elif match is not None and more and q.isascii():
        # Many matches: walking the order's index finds a page's worth at once (WALK_MATCHES).
        # ASCII only: SQLite's LIKE folds only ASCII case, the FTS5 index folds all letters.
        walked = [search_match(session, q, scan=True) if w is match else w for w in walked]
    pages = max(1, -(-total // per_page))
    page = max(page, 1) if after or more else min(max(page, 1), pages)
    stmt = select(*_ROW_COLUMNS).where(*walked)
    if after:
        values = decode_cursor(after, sort, keys, source="inventory")
        stmt = stmt.where(keyset_after(keys, values, dialect))
    order = keys
    if match is not None and not more and dialect != "sqlite":
        # Few matches (at most WALK_MATCHES): collect them from the trigram indexes and sort
        # them. Left to itself PostgreSQL may walk the order's index instead, expecting matches
        # spread evenly; a product found at two sites of twenty then read 35,000 rows (213 ms
        # against 58 ms this way). The OFFSET keeps the subquery from being merged into the
        # ordered query, so its rows are chosen without regard to the order.
        inner = stmt.offset(0).subquery()
        stmt = select(*inner.c)
        order = tuple(SortKey(inner.c[str(k.expr.key)], k.descending, k.nullable) for k in keys)
    if not after:
        stmt = stmt.offset((page - 1) * per_page)
    stmt = stmt.order_by(*(k.order() for k in order)).limit(per_page + 1)
    fetched = [AssetRow(*r) for r in session.execute(stmt)]  # type: ignore[call-arg]
    rows, has_next = fetched[:per_page], len(fetched) > per_page
    site_ids = sorted({r.site_id for r in rows})
    codes = {int(i): str(c) for i, c in session.execute(select(Site.id, Site.code).where(Site.id.in_(site_ids)))}
    rows = [r._replace(site_code=codes.get(r.site_id, "")) for r in rows]
    return AssetPage(rows, total, page, pages, asset_cursor(rows[-1], sort) if has_next and rows else None, sort,
                     more)
