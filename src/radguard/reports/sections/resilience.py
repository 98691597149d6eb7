"""Backups and drills: recovery time demonstrated in drills against what each service requires.

A drill's demonstrated recovery time for a service is the time from its first recorded milestone
(detected or declared) to ``back_to_normal``. Backup verification comes from the backup stage's
tables when they exist; until one is recorded the report says so rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import selectinload

from radguard.db.base import Base
from radguard.reports.scope import Scope

RECOVERED = "back_to_normal"


@dataclass
class ServiceRecovery:
    service: str
    site: str | None
    rto_hours: float
    rpo_hours: float
    demonstrated_hours: float | None
    drill: str | None
    drilled_on: str | None

    @property
    def verdict(self) -> str:
        if self.demonstrated_hours is None:
            return "not demonstrated"
        return "meets RTO" if self.demonstrated_hours <= self.rto_hours else "exceeds RTO"


@dataclass
class DrillRow:
    key: str
    title: str
    kind: str
    status: str
    scheduled_on: str
    services: list[str]
    duration_hours: float | None
    open_actions: int
    lessons: list[str]


@dataclass
class BackupRow:
    name: str
    last_verified: str | None
    result: str
    detail: str


@dataclass
class ResilienceSection:
    services_available: bool
    services: list[ServiceRecovery] = field(default_factory=list)
    drills: list[DrillRow] = field(default_factory=list)
    backups_available: bool = False
    backups: list[BackupRow] = field(default_factory=list)
    backup_note: str = "No backup verification recorded."
    services_note: str = ""
    drills_note: str = ""


def _hours(events: list[Any]) -> float | None:
    end = next((e.at for e in events if e.milestone == RECOVERED), None)
    if end is None or not events:
        return None
    start = min(e.at for e in events)
    return round((end - start).total_seconds() / 3600, 2)


def resilience_section(scope: Scope) -> ResilienceSection:
    out = ResilienceSection(services_available=False)
    if scope.has_table("imaging_service"):
        _services_and_drills(scope, out)
    else:
        out.services_note = "No imaging services recorded."
    _backups(scope, out)
    return out


def _services_and_drills(scope: Scope, out: ResilienceSection) -> None:
    from radguard.db.models.inventory import Site
    from radguard.db.models.response import Drill, DrillService, ImagingService

    session = scope.session
    site_id = scope.site_id()
    services = list(session.scalars(select(ImagingService).order_by(ImagingService.name)))
    if site_id is not None:
        services = [s for s in services if s.site_id in (site_id, None)]
    sites = dict(session.execute(select(Site.id, Site.code)).all())
    drills = list(
        session.scalars(
            select(Drill)
            .options(
                selectinload(Drill.services).selectinload(DrillService.service),
                selectinload(Drill.events),
                selectinload(Drill.actions),
                selectinload(Drill.lessons),
            )
            .order_by(Drill.scheduled_on.desc())
        )
    )
    best: dict[int, tuple[float, Drill]] = {}
    for d in drills:
        hours = _hours(list(d.events)) if d.status == "completed" else None
        for ds in d.services:
            if hours is not None and ds.service_id not in best:  # newest completed drill wins
                best[ds.service_id] = (hours, d)
        out.drills.append(
            DrillRow(
                d.key,
                d.title,
                d.kind,
                d.status,
                d.scheduled_on.isoformat(),
                [ds.service.name for ds in d.services],
                hours,
                sum(1 for a in d.actions if a.status != "done"),
                [lesson.text for lesson in d.lessons],
            )
        )
    for s in services:
        hours_drill = best.get(s.id)
        out.services.append(
            ServiceRecovery(
                s.name,
                sites.get(s.site_id) if s.site_id else None,
                s.rto_hours,
                s.rpo_hours,
                hours_drill[0] if hours_drill else None,
                hours_drill[1].title if hours_drill else None,
                hours_drill[1].scheduled_on.isoformat() if hours_drill else None,
            )
        )
    out.services_available = bool(services)
    out.services_note = "" if services else "No imaging services recorded, so recovery targets are unknown."
    out.drills_note = "" if drills else "No drill recorded."


def _backups(scope: Scope, out: ResilienceSection) -> None:
    """Read backup verifications generically: the backup stage's schema is its own."""
    if not scope.has_table("backup_verification"):
        return
    table: Table | None = Base.metadata.tables.get("backup_verification")
    if table is None:
        return
    rows = scope.session.execute(select(table)).mappings().all()
    if not rows:
        return
    latest: dict[str, dict[str, Any]] = {}
    for r in rows:
        name = str(r.get("backup_set_id") or r.get("name") or r.get("id"))
        when = r.get("verified_at") or r.get("finished_at") or r.get("started_at")
        if name not in latest or (when and str(when) > str(latest[name].get("_when"))):
            latest[name] = {**r, "_when": when}
    for name, rec in sorted(latest.items()):
        when = rec["_when"]
        out.backups.append(
            BackupRow(
                name,
                str(when)[:16] if when else None,
                str(rec.get("result") or rec.get("status") or "?"),
                str(rec.get("summary") or rec.get("detail") or ""),
            )
        )
    out.backups_available = True
    out.backup_note = ""
