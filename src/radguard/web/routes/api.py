"""The JSON API under /api/v1 (OpenAPI document at /api/v1/openapi.json)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.db.models.findings import ALL_STATES, Finding
from radguard.errors import NotFoundError
from radguard.inventory.exporter import asset_record
from radguard.inventory.queries import find_asset
from radguard.web.audit import recent
from radguard.web.routes.inventory import query_assets
from radguard.web.security import Principal, db_session, require

router = APIRouter(prefix="/api/v1", tags=["api"])


class Me(BaseModel):
    username: str
    role: str
    full_name: str | None


class AssetSummary(BaseModel):
    id: int
    site: str
    name: str
    asset_class: str
    vendor: str | None
    product: str | None
    software_version: str | None
    criticality: int | None
    confirmed: bool


class AssetList(BaseModel):
    total: int
    page: int
    pages: int
    items: list[AssetSummary]


class FindingOut(BaseModel):
    id: int
    check_id: str
    title: str
    asset_id: int | None
    subject: str | None
    state: str
    severity: str
    risk_score: int
    due: str | None
    first_seen: datetime
    last_seen: datetime


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    via: str
    ip: str | None


@router.get("/me", response_model=Me)
def me(principal: Principal = Depends(require("viewer"))) -> Me:
    return Me(username=principal.username, role=principal.role, full_name=principal.full_name)


@router.get("/assets", response_model=AssetList)
def list_assets(q: str = "", site: str = "", asset_class: str = "", page: int = Query(1, ge=1, le=1_000_000),
                per_page: int = Query(50, ge=1, le=500), principal: Principal = Depends(require("viewer")),
                session: Session = Depends(db_session)) -> AssetList:
    r = query_assets(session, q, site, asset_class, page, per_page)
    return AssetList(total=r.total, page=r.page, pages=r.pages, items=[
        AssetSummary(id=a.id, site=a.site.code, name=a.name, asset_class=a.asset_class, vendor=a.vendor,
                     product=a.product, software_version=a.software_version, criticality=a.criticality,
                     confirmed=a.confirmed) for a in r.rows])


@router.get("/assets/{asset_id}")
def get_asset(asset_id: int, principal: Principal = Depends(require("viewer")),
              session: Session = Depends(db_session)) -> dict[str, Any]:
    try:
        asset = find_asset(session, str(asset_id))
    except NotFoundError:
        raise HTTPException(status_code=404, detail="no such asset") from None
    return {"id": asset.id, **asset_record(asset).model_dump(by_alias=True, mode="json")}


@router.get("/findings", response_model=list[FindingOut])
def list_findings(state: str | None = Query(None, pattern="^(" + "|".join(ALL_STATES) + ")$"),
                  severity: str | None = None, limit: int = Query(100, ge=1, le=1000),
                  offset: int = Query(0, ge=0, le=10_000_000),
                  principal: Principal = Depends(require("viewer")),
                  session: Session = Depends(db_session)) -> list[FindingOut]:
    stmt = select(Finding)
    if state:
        stmt = stmt.where(Finding.state == state)
    if severity:
        stmt = stmt.where(Finding.severity == severity)
    rows = session.scalars(stmt.order_by(Finding.risk_score.desc(), Finding.id).limit(limit).offset(offset))
    return [FindingOut(id=f.id, check_id=f.check_id, title=f.title, asset_id=f.asset_id, subject=f.subject,
                       state=f.state, severity=f.severity, risk_score=f.risk_score,
                       due=f.due.isoformat() if f.due else None, first_seen=f.first_seen, last_seen=f.last_seen)
            for f in rows]


@router.get("/audit", response_model=list[AuditOut])
def audit(limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10_000_000),
          principal: Principal = Depends(require("admin")),
          session: Session = Depends(db_session)) -> list[AuditOut]:
    return [AuditOut(id=e.id, at=e.at, actor=e.actor, action=e.action, target=e.target, via=e.via, ip=e.ip)
            for e in recent(session, limit, offset)]
