"""The inventory's read side: looking assets up by the names people use, and the paged search.

The web pages, the API, the CLI and the reports read assets through these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from radguard.db.models.inventory import Asset, Site
from radguard.errors import NotFoundError
from radguard.inventory.scope import SiteScope, scope_site_ids, site_visible


def list_assets(session: Session, site: str | None = None, asset_class: str | None = None,
                limit: int | None = None, *, scope: SiteScope = None) -> Sequence[Asset]:
    """Assets by site code and name.

    :param site: only this site's (by code).
    :param asset_class: only this class.
    :param limit: at most this many.
    :param scope: the sites the caller may see (:mod:`radguard.inventory.scope`); None: all.
    """
    stmt = select(Asset).join(Site).options(selectinload(Asset.site), selectinload(Asset.endpoints))
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
    stmt = select(func.count(Asset.id))
    ids = scope_site_ids(session, scope)
    if ids is not None:
        stmt = stmt.where(Asset.site_id.in_(ids))
    if site:
        stmt = stmt.join(Site).where(Site.code == site)
    return int(session.scalar(stmt) or 0)


@dataclass
class AssetPage:
    rows: list[Asset]
    total: int
    page: int
    pages: int


def query_assets(session: Session, q: str = "", site: str = "", asset_class: str = "", page: int = 1,
                 per_page: int = 50, *, scope: SiteScope = None) -> AssetPage:
    """Filter and page in the database (one COUNT and one page query), never in Python.

    Written for 100,000 assets: no join in the count, the site filter resolved to its ID first,
    and the page ordered by (site_id, name) — the unique index, so no sort — which lists sites
    in the order they were added and assets by name within each site. ``scope`` (the sites the
    caller may see, :mod:`radguard.inventory.scope`) limits every row and the count; a ``site``
    outside it lists nothing.
    """
    conditions: list[ColumnElement[bool]] = []
    allowed = scope_site_ids(session, scope)
    if allowed is not None:
        conditions.append(Asset.site_id.in_(allowed))
    if q:
        like = f"%{q}%"
        # SQLite's LIKE already ignores ASCII case; ILIKE would wrap every row in lower().
        sqlite = session.get_bind().dialect.name == "sqlite"
        cols = (Asset.name, Asset.vendor, Asset.product)
        conditions.append(or_(*(c.like(like) if sqlite else c.ilike(like) for c in cols)))
    if site:
        site_id = session.scalar(select(Site.id).where(Site.code == site))
        if site_id is None:
            return AssetPage([], 0, 1, 1)
        conditions.append(Asset.site_id == site_id)
    if asset_class:
        conditions.append(Asset.asset_class == asset_class)
    total = session.scalar(select(func.count(Asset.id)).where(*conditions)) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = list(session.scalars(
        select(Asset).where(*conditions).options(selectinload(Asset.site))
        .order_by(Asset.site_id, Asset.name).limit(per_page).offset((page - 1) * per_page)
    ))
    return AssetPage(rows, total, page, pages)
