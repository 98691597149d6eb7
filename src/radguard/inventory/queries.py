"""Looking assets up by the names people use."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from radguard.db.models.inventory import Asset, Site
from radguard.errors import NotFoundError


def list_assets(session: Session, site: str | None = None, asset_class: str | None = None,
                limit: int | None = None) -> Sequence[Asset]:
    stmt = select(Asset).join(Site).options(selectinload(Asset.site), selectinload(Asset.endpoints))
    if site:
        stmt = stmt.where(Site.code == site)
    if asset_class:
        stmt = stmt.where(Asset.asset_class == asset_class)
    stmt = stmt.order_by(Site.code, Asset.name)
    if limit:
        stmt = stmt.limit(limit)
    return session.scalars(stmt).all()


def find_asset(session: Session, ref: str) -> Asset:
    """Find an asset by numeric ID, ``SITE/NAME`` or a name unique across sites."""
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
    matches = session.scalars(select(Asset).where(Asset.name == ref).options(*opts)).all()
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        names = ", ".join(f"{a.site.code}/{a.name}" for a in matches)
        raise NotFoundError(f"{ref!r} names more than one asset ({names}); use SITE/NAME or the ID")
    raise NotFoundError(f"no asset {ref!r}; see `radguard inventory list`")
