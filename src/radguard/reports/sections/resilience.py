"""Backups and drills: recovery time demonstrated in drills against what each service requires.

Demonstrated recovery is the response stage's one definition
(``radguard.response.drills.demonstrated_recovery``): the fastest detection → systems restored
among completed functional and full-scale drills of the service — a tabletop restores nothing.
The dashboard, the services page and ``radguard services`` call the same function, so the
report cannot show another figure. Backup verification comes from the backup stage's tables
when they exist; until one is recorded the report says so rather than guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from radguard.reports.scope import Scope
from radguard.response.drills import demonstrated_recovery, load_drills, recovery_hours
from radguard.response.services import load_services
from radguard.wording import hours, recovery_point, restore_status, rto_words


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
    protects: str
    protections: str
    last_verified: str | None
    result: str
    detail: str
    restore: str = ""  # what a restore would bring back (wording.restore_status)
    rto: str = ""  # the RTO verdict in words; never "met" for an incomplete copy
    rpo: str = ""  # the achieved recovery point in words (wording.recovery_point)


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
    from radguard.db.models.response import ImagingService

    session = scope.session
    site_id = scope.site_id()
    if scope.limited:  # the reader's sites' services and drills, through their owners' scope
        services = sorted(load_services(session, scope=scope.visible), key=lambda s: s.name)
    else:
        services = list(session.scalars(select(ImagingService).order_by(ImagingService.name)))
    if site_id is not None:
        services = [s for s in services if s.site_id in (site_id, None)]
    sites = dict(session.execute(select(Site.id, Site.code)).all())
    drills = list(reversed(load_drills(session, scope=scope.visible)))  # newest first
    by_key = {d.key: d for d in drills}
    best = {service: (round(took, 2), by_key[key]) for service, (took, key) in demonstrated_recovery(drills).items()}
    for d in drills:
        drill_hours = recovery_hours(d)
        out.drills.append(
            DrillRow(
                d.key,
                d.title,
                d.kind,
                d.status,
                d.scheduled_on.isoformat(),
                [ds.service.name for ds in d.services],
                None if drill_hours is None else round(drill_hours, 2),
                sum(1 for a in d.actions if a.status != "done"),
                [lesson.text for lesson in d.lessons],
            )
        )
    for s in services:
        hours_drill = best.get(s.key)
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
    """Each backup set with its protections and its newest verification (none: say so)."""
    if not scope.has_table("backup_set"):
        return
    from radguard.backup.sets import scope_condition, verification_record, verification_rto
    from radguard.db.models.backup import BackupSet

    stmt = (select(BackupSet).options(selectinload(BackupSet.verifications), selectinload(BackupSet.asset))
            .order_by(BackupSet.name))
    limit = scope_condition(scope.session, scope.visible)  # the backup stage's site rule
    if limit is not None:
        stmt = stmt.where(limit)
    sets = list(scope.session.scalars(stmt))
    site_id = scope.site_id()
    if site_id is not None:
        sets = [b for b in sets if b.asset is None or b.asset.site_id == site_id]
    if not sets:
        out.backup_note = "No backup verification recorded: no backup set is registered yet."
        return
    for b in sets:
        flags = [
            name
            for name, on in (
                ("offsite", b.offsite),
                ("immutable", b.immutable),
                ("offline", b.offline),
                ("encrypted", b.encrypted),
            )
            if on
        ]
        last = max(b.verifications, key=lambda v: v.finished_at, default=None)
        if last is None:
            out.backups.append(BackupRow(b.name, b.protects, ", ".join(flags) or "none", None, "never verified", ""))
            continue
        record = verification_record(last)
        notes = ", ".join(n["name"] + (f" ({n['files']} copies)" if n["files"] > 1 else "")
                          for n in record["ransom_notes"])
        # A ransom note is named first: it is the strongest sign that the copy is compromised.
        result = (f"RANSOM NOTE found ({notes}): copy compromised" if notes
                  else "all checks passed" if last.all_ok else "restore incomplete")
        verdict = verification_rto(last)
        rto = ""
        if last.projected_restore_hours is not None:
            took = hours(last.projected_restore_hours)
            rto = f"restore {took}" if took.startswith("<") else f"restore ≈ {took}"
        if verdict is not None:
            rto += f"{' ' if rto else ''}vs RTO {hours(verdict.rto_hours)} ({verdict.label()})"
        detail = (restore_status(int(record["counts"].get("ok", 0)), last.expected_instances, record["problems"])
                  + (f"; {rto}" if rto else ""))
        out.backups.append(
            BackupRow(
                b.name,
                b.protects,
                ", ".join(flags) or "none",
                last.finished_at.strftime("%Y-%m-%d %H:%M UTC"),
                result,
                detail,
                restore=record["restore_status"],
                rto=rto_words(record["rto_label"], record["rto_hours"]),
                rpo=recovery_point(record["rpo_achieved_hours"], record["rpo_since_last_backup_hours"],
                                   record["rpo_hours"]),
            )
        )
    out.backups_available = True
    verified = [r for r in out.backups if r.last_verified]
    out.backup_note = (
        ""
        if verified
        else "No backup verification recorded yet: none of the registered backup sets has been test-restored."
    )
