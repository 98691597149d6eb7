"""Inventory pages: a server-side paged, filterable table and one page per asset."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.checks.findings import list_findings
from radguard.db.models.inventory import Site
from radguard.discovery.probes import endpoint_states
from radguard.errors import NotFoundError
from radguard.inventory.queries import find_asset_by_id, query_assets
from radguard.inventory.vocab import AssetClass
from radguard.web.app import render
from radguard.web.security import Principal, db_session, require

router = APIRouter(include_in_schema=False)


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
    try:
        asset = find_asset_by_id(session, asset_id)
    except NotFoundError:
        raise HTTPException(status_code=404, detail="no such asset") from None
    findings = list(list_findings(session, asset_ref=str(asset.id)))
    probes = endpoint_states(session, asset_id=asset.id)
    return render(request, "asset.html", {"asset": asset, "findings": findings, "probes": probes})
