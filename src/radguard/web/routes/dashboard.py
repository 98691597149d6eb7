"""The dashboard: the state of the program at a glance."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from radguard.db.models.findings import OPEN_STATES, Finding
from radguard.db.models.inventory import Asset
from radguard.web.app import render
from radguard.web.security import Principal, db_session, require

router = APIRouter(include_in_schema=False)
SEVERITIES = ("critical", "high", "medium", "low", "info")


def dashboard_data(session: Session) -> dict[str, object]:
    by_class = dict(session.execute(select(Asset.asset_class, func.count()).group_by(Asset.asset_class)).all())
    by_sev = dict(
        session.execute(
            select(Finding.severity, func.count()).where(Finding.state.in_(OPEN_STATES)).group_by(Finding.severity)
        ).all()
    )
    unconfirmed = session.scalar(select(func.count()).select_from(Asset).where(Asset.confirmed.is_(False))) or 0
    return {
        "assets_total": sum(by_class.values()),
        "assets_by_class": sorted(by_class.items()),
        "unconfirmed": unconfirmed,
        "findings_by_severity": [(s, by_sev.get(s, 0)) for s in SEVERITIES],
        "findings_open": sum(by_sev.values()),
    }


@router.get("/")
async def dashboard(request: Request, principal: Principal = Depends(require("viewer")),
                    session: Session = Depends(db_session)) -> Response:
    return render(request, "dashboard.html", dashboard_data(session))
