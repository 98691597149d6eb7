"""Inventory pages: a server-side paged, filterable table and one page per asset."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, selectinload

from radguard.db.models.findings import Finding
from radguard.db.models.inventory import Asset, Site
from radguard.inventory.vocab import AssetClass
from radguard.web.app import render
from radguard.web.security import Principal, db_session, require

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50


@dataclass
class AssetPage:
    rows: list[Asset]
    total: int
    page: int
    pages: int


def query_assets(session: Session, q: str = "", site: str = "", asset_class: str = "", page: int = 1,
                 per_page: int = PAGE_SIZE) -> AssetPage:
    """Filter and page in the database (one COUNT and one page query), never in Python.

    Written for 100,000 assets: no join in the count, the site filter resolved to its ID first,
    and the page ordered by (site_id, name) — the unique index, so no sort — which lists sites
    in the order they were added and assets by name within each site.
    """
    conditions = []
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


@router.get("/inventory")
async def inventory(request: Request, q: str = "", site: str = "", asset_class: str = "", page: int = 1,
                    principal: Principal = Depends(require("viewer")),
                    session: Session = Depends(db_session)) -> Response:
    result = query_assets(session, q, site, asset_class, page)
    sites = list(session.scalars(select(Site.code).order_by(Site.code)))
    template = "_inventory_rows.html" if request.headers.get("hx-request") else "inventory.html"
    return render(request, template, {"result": result, "q": q, "site": site, "asset_class": asset_class,
                                      "sites": sites, "classes": [c.value for c in AssetClass]})


@router.get("/inventory/{asset_id}")
async def asset_page(request: Request, asset_id: int, principal: Principal = Depends(require("viewer")),
                     session: Session = Depends(db_session)) -> Response:
    asset = session.scalar(
        select(Asset).where(Asset.id == asset_id).options(
            selectinload(Asset.site), selectinload(Asset.endpoints), selectinload(Asset.ae_titles),
            selectinload(Asset.components))
    )
    if asset is None:
        raise HTTPException(status_code=404, detail="no such asset")
    findings = list(session.scalars(select(Finding).where(Finding.asset_id == asset_id)
                                    .order_by(Finding.risk_score.desc())))
    return render(request, "asset.html", {"asset": asset, "findings": findings})
