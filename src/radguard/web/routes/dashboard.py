"""The dashboard: the state of the program at a glance.

Every card is computed by the same stage functions the CLI uses (checklist scoring, the
roadmap, service continuity and drills, backup verification runs); this module only gathers
their results. Each card carries its own "no data yet" state, so a fresh installation shows
what to do next instead of zeros that look like a result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from radguard.checks.loader import default_catalog
from radguard.db.base import utcnow
from radguard.db.models.backup import BackupSet, BackupVerification
from radguard.db.models.checklists import ChecklistAssessment
from radguard.db.models.findings import OPEN_STATES, Finding
from radguard.db.models.inventory import Asset
from radguard.db.models.response import Drill
from radguard.readiness.checklists.report import score_document
from radguard.readiness.continuity import continuity
from radguard.readiness.drills import demonstrated_recovery, load_drills
from radguard.readiness.roadmap import build_roadmap
from radguard.readiness.services import load_services
from radguard.web.app import render
from radguard.web.security import Principal, db_session, require

router = APIRouter(include_in_schema=False)
SEVERITIES = ("critical", "high", "medium", "low", "info")
TOP_ACTIONS = 5
NEXT_DRILLS = 5
# The outage the RTO card imagines; only the RTO status (demonstrated or not) is shown, which
# does not depend on the outage length.
CARD_OUTAGE_HOURS = 72.0


@dataclass
class TrendPoint:
    assessment_id: int
    version: int
    assessed_on: date
    status: str
    score: float | None
    percent: float | None


@dataclass
class Readiness:
    """The latest assessment's overall maturity and the versions before it (oldest first)."""

    label: str | None = None
    assessment_id: int | None = None
    score: float | None = None
    percent: float | None = None
    challenged: int = 0
    unanswered: int = 0
    trend: list[TrendPoint] = field(default_factory=list)

    @property
    def available(self) -> bool:
        return self.assessment_id is not None

    def sparkline(self, width: int = 240, height: int = 48) -> str:
        """SVG polyline points for the trend (scores 0–4), drawn without any script or inline style."""
        points = [p for p in self.trend if p.score is not None]
        if len(points) < 2:
            return ""
        step = width / (len(points) - 1)
        return " ".join(f"{i * step:.1f},{height - (p.score or 0) / 4 * height:.1f}" for i, p in enumerate(points))


def readiness_card(session: Session) -> Readiness:
    latest = session.scalar(select(ChecklistAssessment).order_by(ChecklistAssessment.id.desc()).limit(1))
    if latest is None:
        return Readiness()
    versions = list(session.scalars(
        select(ChecklistAssessment).where(ChecklistAssessment.organization == latest.organization,
                                          ChecklistAssessment.site_code == latest.site_code)
        .order_by(ChecklistAssessment.version)))
    trend = []
    current: dict[str, Any] = {}
    for a in versions:
        doc = score_document(session, a)
        trend.append(TrendPoint(a.id, a.version, a.assessed_on, a.status, doc["overall"]["score"],
                                doc["overall"]["percent"]))
        if a.id == latest.id:
            current = doc
    label = latest.organization + (f" / {latest.site_code}" if latest.site_code else "")
    return Readiness(label=f"{label} v{latest.version}", assessment_id=latest.id,
                     score=current["overall"]["score"], percent=current["overall"]["percent"],
                     challenged=len(current.get("challenged", [])), unanswered=len(current.get("unanswered", [])),
                     trend=trend)


def findings_by_layer(session: Session) -> list[tuple[str, int]]:
    """Open findings per defense layer; the layer comes from each check's catalog entry."""
    catalog = default_catalog()
    counts: dict[str, int] = {}
    rows = session.execute(select(Finding.check_id, func.count()).where(Finding.state.in_(OPEN_STATES))
                           .group_by(Finding.check_id)).all()
    for check_id, n in rows:
        spec = catalog.spec(check_id)
        layer = spec.defense_layer if spec else "unmapped"
        counts[layer] = counts.get(layer, 0) + n
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def unproven_services(session: Session) -> tuple[int, list[dict[str, Any]]]:
    """(services recorded, those whose RTO no completed drill has demonstrated in time)."""
    services = load_services(session)
    if not services:
        return 0, []
    results = continuity(services, CARD_OUTAGE_HOURS, demonstrated_recovery(load_drills(session)))
    return len(services), [
        {"key": r.key, "name": r.name, "rto_hours": r.rto_hours, "status": r.rto_status,
         "demonstrated_hours": None if r.demonstrated_hours is None else round(r.demonstrated_hours, 2)}
        for r in results if r.rto_status != "demonstrated"
    ]


def last_verification(session: Session) -> dict[str, Any] | None:
    row = session.execute(
        select(BackupVerification, BackupSet.name).join(BackupSet)
        .order_by(BackupVerification.finished_at.desc(), BackupVerification.id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    run, name = row
    return {"set": name, "finished_at": run.finished_at, "all_ok": run.all_ok, "complete": run.complete,
            "files_checked": run.files_checked, "expected_instances": run.expected_instances,
            "counts": dict(run.counts or {}), "projected_restore_hours": run.projected_restore_hours,
            "rto_hours": run.rto_hours, "rto_met": run.rto_met, "rpo_achieved_hours": run.rpo_achieved_hours}


def next_drills(session: Session) -> list[Drill]:
    """Planned drills, the overdue ones (date passed, never recorded) first."""
    return list(session.scalars(select(Drill).where(Drill.status == "planned")
                                .order_by(Drill.scheduled_on, Drill.key).limit(NEXT_DRILLS)))


def dashboard_data(session: Session) -> dict[str, Any]:
    by_class = dict(session.execute(select(Asset.asset_class, func.count()).group_by(Asset.asset_class)).all())
    by_sev = dict(
        session.execute(
            select(Finding.severity, func.count()).where(Finding.state.in_(OPEN_STATES)).group_by(Finding.severity)
        ).all()
    )
    unconfirmed = session.scalar(select(func.count()).select_from(Asset).where(Asset.confirmed.is_(False))) or 0
    today = utcnow().date()
    services_total, unproven = unproven_services(session)
    roadmap = build_roadmap(session, today=today)
    backup_sets = session.scalar(select(func.count()).select_from(BackupSet)) or 0
    return {
        "assets_total": sum(by_class.values()),
        "assets_by_class": sorted(by_class.items()),
        "unconfirmed": unconfirmed,
        "findings_by_severity": [(s, by_sev.get(s, 0)) for s in SEVERITIES],
        "findings_open": sum(by_sev.values()),
        "findings_by_layer": findings_by_layer(session),
        "readiness": readiness_card(session),
        "services_total": services_total,
        "unproven_services": unproven,
        "backup_sets": backup_sets,
        "last_verification": last_verification(session),
        "next_drills": next_drills(session),
        "today": today,
        "roadmap_actions": roadmap["actions"][:TOP_ACTIONS],
        "roadmap_total": roadmap["summary"]["actions"],
    }


@router.get("/")
def dashboard(request: Request, principal: Principal = Depends(require("viewer")),
              session: Session = Depends(db_session)) -> Response:
    # A plain function: FastAPI runs it in the thread pool, so a slow card never stalls other requests.
    return render(request, "dashboard.html", dashboard_data(session))
