"""Drills: planning exercises, recording what happened, and measuring it against targets.

A drill exercises one playbook (tabletop: people talk it through; functional: teams carry out
their parts, e.g. really switch to downtime reading; full-scale: systems are actually isolated
and restored). Its timeline is a set of milestones with times. The timeline must be
plausible — milestones in incident order, roles that exist, nothing after the drill ended —
and anything that is not is refused with the field named, because a wrong timeline would
make the department believe it recovers faster than it does.

A drill has a lifecycle, derived in one place (:func:`lifecycle_status`) and shown the same
everywhere: ``planned`` (nothing recorded yet) → ``in_progress`` (a milestone or a start time
is recorded) → ``completed`` (ended explicitly — an end time, ``--complete``, "the drill is
over", ``status: completed`` in a file — or its final milestone, ``back_to_normal``, is
recorded). Recording a first milestone no longer completes a drill.

Only completed functional and full-scale drills that reached ``systems_restored`` demonstrate
a recovery time; a tabletop's clock is imagined.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from radguard.db.models.response import (
    Drill,
    DrillAction,
    DrillEvent,
    DrillLesson,
    DrillParticipant,
    DrillService,
    ImagingService,
)
from radguard.errors import InputError, NotFoundError
from radguard.inventory.scope import SiteScope, scope_site_ids
from radguard.response.playbooks import MILESTONE_LABELS, MILESTONES, load_catalog
from radguard.response.playbooks.yamldoc import YamlDoc, dotted
from radguard.response.team import role_keys

DrillKind = Literal["tabletop", "functional", "full-scale"]
DrillStatus = Literal["planned", "in_progress", "completed"]
DRILL_STATUSES: tuple[DrillStatus, ...] = ("planned", "in_progress", "completed")
DEMONSTRATING_KINDS = ("functional", "full-scale")
FINAL_MILESTONE = MILESTONES[-1]  # back_to_normal: recording it ends the drill


class EventDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    milestone: str
    at: datetime
    role: str | None = None
    note: str | None = None


class ParticipantDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    role: str | None = None


class ActionDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=5, max_length=300)
    owner_role: str | None = None
    due: date | None = None
    status: Literal["open", "done"] = "open"
    closed_on: date | None = None


class DrillDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=64)
    title: str | None = Field(None, max_length=200)
    kind: DrillKind
    playbook: str
    date: date
    # Only "completed" is a claim (the drill was ended); otherwise the status is derived from
    # what is recorded, and "planned" with recorded milestones is refused.
    status: DrillStatus | None = None
    services: list[str] = Field(default_factory=list)
    facilitator: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    notes: str | None = None
    participants: list[ParticipantDoc] = Field(default_factory=list)
    timeline: list[EventDoc] = Field(default_factory=list)
    lessons: list[str] = Field(default_factory=list)
    actions: list[ActionDoc] = Field(default_factory=list)


class DrillsDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["radguard-drills"] = "radguard-drills"
    version: Literal[1] = 1
    drills: list[DrillDoc] = Field(min_length=1)


Loc = list[str | int]


class DrillValidator:
    """Checks one drill against the catalog, the team and the services; errors name the field.

    ``fail(loc, problem)`` is supplied by the caller, so the same rules produce file-and-line
    errors for ``drill import`` and option-named errors for ``drill record``.
    """

    def __init__(self, session: Session, fail: Callable[[Loc, str], InputError], scope: SiteScope = None) -> None:
        self.fail = fail
        self.playbooks = {pb.id: pb for pb in load_catalog()}
        self.roles = role_keys(session)
        # A caller limited to sites knows only its sites' services: another site's is "no service".
        ids = scope_site_ids(session, scope)
        stmt = select(ImagingService)
        if ids is not None:
            stmt = stmt.where(ImagingService.site_id.in_(ids))
        self.services = {s.key: s for s in session.scalars(stmt)}

    def role(self, loc: Loc, role: str | None) -> None:
        if role is not None and role not in self.roles:
            raise self.fail(loc, f"unknown role {role!r}; known roles: {', '.join(sorted(self.roles))}")

    def check(self, rec: DrillDoc, base: Loc) -> None:
        if rec.playbook not in self.playbooks:
            raise self.fail([*base, "playbook"],
                            f"no playbook {rec.playbook!r}; known: {', '.join(self.playbooks)}")
        for i, key in enumerate(rec.services):
            if key not in self.services:
                raise self.fail([*base, "services", i],
                                f"no service {key!r}; import it with `radguard services import`")
        started, ended = _utc(rec.started_at), _utc(rec.ended_at)
        if rec.status is not None and rec.status != "completed" and lifecycle_status(rec) != rec.status:
            raise self.fail([*base, "status"],
                            f"the drill is {lifecycle_status(rec)} by what is recorded, not {rec.status}: "
                            "planned means nothing recorded yet, in_progress means milestones but no end "
                            f"(give ended_at, or record {FINAL_MILESTONE!r}, to complete it)")
        if started and ended and ended < started:
            raise self.fail([*base, "ended_at"], f"the drill ends ({ended.isoformat()}) before it starts "
                                                 f"({started.isoformat()})")
        for i, person in enumerate(rec.participants):
            self.role([*base, "participants", i, "role"], person.role)
        for i, action in enumerate(rec.actions):
            self.role([*base, "actions", i, "owner_role"], action.owner_role)
        self.timeline(rec.timeline, [*base, "timeline"], started, ended)

    def timeline(self, events: Sequence[EventDoc], base: Loc, started: datetime | None,
                 ended: datetime | None) -> None:
        seen: dict[str, int] = {}
        for i, ev in enumerate(events):
            if ev.milestone not in MILESTONES:
                raise self.fail([*base, i, "milestone"],
                                f"unknown milestone {ev.milestone!r}; use one of {', '.join(MILESTONES)}")
            if ev.milestone in seen:
                raise self.fail([*base, i, "milestone"],
                                f"{ev.milestone!r} appears twice (also {dotted([*base, seen[ev.milestone]])})")
            seen[ev.milestone] = i
            self.role([*base, i, "role"], ev.role)
            at = _utc(ev.at)
            assert at is not None
            if started and at < started:
                raise self.fail([*base, i, "at"], f"{ev.milestone!r} at {at.isoformat()} is before the drill started "
                                                  f"({started.isoformat()})")
            if ended and at > ended:
                raise self.fail([*base, i, "at"], f"{ev.milestone!r} at {at.isoformat()} is after the drill ended "
                                                  f"({ended.isoformat()})")
        ordered = sorted(seen, key=MILESTONES.index)
        for earlier, later in itertools.pairwise(ordered):
            t_earlier, t_later = _utc(events[seen[earlier]].at), _utc(events[seen[later]].at)
            assert t_earlier is not None and t_later is not None
            if t_later < t_earlier:
                raise self.fail([*base, seen[later], "at"],
                                f"{later!r} ({t_later.isoformat()}) is before {earlier!r} ({t_earlier.isoformat()}); "
                                f"milestones happen in this order: {', '.join(MILESTONES)}")


def lifecycle_status(rec: DrillDoc) -> DrillStatus:
    """planned → in_progress → completed, from what the drill records (the one rule)."""
    milestones = {e.milestone for e in rec.timeline}
    if rec.status == "completed" or rec.ended_at is not None or FINAL_MILESTONE in milestones:
        return "completed"
    if milestones or rec.started_at is not None:
        return "in_progress"
    return "planned"


def _utc(value: datetime | None) -> datetime | None:
    """Times without an offset are taken as UTC (documented in docs/response.md)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@dataclass
class DrillImportResult:
    file: str
    created: int = 0
    updated: int = 0
    events: int = 0
    actions: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def import_drills(session: Session, path: Path) -> DrillImportResult:
    """Create or replace each drill in the file (matched by key), all or nothing."""
    doc = YamlDoc.read(path)
    parsed = doc.validate(DrillsDoc)
    validator = DrillValidator(session, doc.error)
    result = DrillImportResult(file=str(path))
    keys: set[str] = set()
    for i, rec in enumerate(parsed.drills):
        if rec.key in keys:
            raise doc.error(["drills", i, "key"], f"drill {rec.key!r} is listed twice")
        keys.add(rec.key)
        validator.check(rec, ["drills", i])
        drill = session.scalar(select(Drill).where(Drill.key == rec.key))
        if drill is None:
            drill = Drill(key=rec.key)
            result.created += 1
        else:
            result.updated += 1
        session.add(drill)
        _apply(session, drill, rec, validator)
        result.events += len(rec.timeline)
        result.actions += len(rec.actions)
    return result


def _apply(session: Session, drill: Drill, rec: DrillDoc, validator: DrillValidator) -> None:
    if drill.id is not None:
        # Remove the old child rows first: their unique keys (milestone, action number) come back.
        for children in (drill.services, drill.events, drill.participants, drill.lessons, drill.actions):
            children.clear()
        session.flush()
    playbook = validator.playbooks[rec.playbook]
    drill.title = rec.title or f"{playbook.title} ({rec.kind})"
    drill.kind, drill.playbook, drill.scheduled_on = rec.kind, rec.playbook, rec.date
    drill.status = lifecycle_status(rec)
    drill.facilitator, drill.notes = rec.facilitator, rec.notes
    drill.started_at, drill.ended_at = _utc(rec.started_at), _utc(rec.ended_at)
    drill.services = [DrillService(service_id=validator.services[k].id) for k in rec.services]
    drill.events = [DrillEvent(milestone=e.milestone, at=_utc(e.at), role=e.role, note=e.note)
                    for e in sorted(rec.timeline, key=lambda e: MILESTONES.index(e.milestone))]
    drill.participants = [DrillParticipant(name=p.name, role=p.role) for p in rec.participants]
    drill.lessons = [DrillLesson(text=text) for text in rec.lessons]
    drill.actions = [DrillAction(number=n, title=a.title, owner_role=a.owner_role, due=a.due, status=a.status,
                                 closed_on=a.closed_on)
                     for n, a in enumerate(rec.actions, start=1)]
    session.flush()


def drill_doc(drill: Drill) -> DrillDoc:
    """The stored drill in its file form, so ``record`` can re-validate the whole drill."""
    return DrillDoc(
        key=drill.key, title=drill.title, kind=drill.kind, playbook=drill.playbook,
        date=drill.scheduled_on, status=drill.status,
        services=[ds.service.key for ds in drill.services], facilitator=drill.facilitator,
        started_at=drill.started_at, ended_at=drill.ended_at, notes=drill.notes,
        participants=[ParticipantDoc(name=p.name, role=p.role) for p in drill.participants],
        timeline=[EventDoc(milestone=e.milestone, at=e.at, role=e.role, note=e.note) for e in drill.events],
        lessons=[lesson.text for lesson in drill.lessons],
        actions=[ActionDoc(title=a.title, owner_role=a.owner_role, due=a.due, status=a.status,
                           closed_on=a.closed_on) for a in drill.actions],
    )


def plan_drill(session: Session, rec: DrillDoc, *, scope: SiteScope = None) -> Drill:
    """Create a planned drill from command-line options; refuses a key already in use.

    :param scope: the sites the planner may see (:mod:`radguard.inventory.scope`): a planner
        limited to sites must name at least one service, all of them at its sites (a drill of
        no service is the whole organisation's).
    """
    validator = DrillValidator(session, _option_error, scope)
    if session.scalar(select(Drill.id).where(Drill.key == rec.key)) is not None:
        raise InputError("drill plan", None, "KEY", f"a drill {rec.key!r} already exists; choose another key")
    if scope is not None:
        if not rec.services:
            raise _option_error(["services"], "name the services of your sites this drill exercises; a drill "
                                              "of no service is organisation-wide")
        outside = [key for key in rec.services if key not in validator.services]
        if outside:  # another site's service is as unknown as none: the same answer either way
            raise NotFoundError(f"no service {outside[0]!r} at your sites; see the services page")
    validator.check(rec, [])
    drill = Drill(key=rec.key)
    session.add(drill)
    _apply(session, drill, rec.model_copy(update={"status": "planned"}), validator)
    return drill


@dataclass
class Recording:
    """What ``drill record`` adds to a drill. Events replace a milestone already recorded."""

    events: list[EventDoc] = field(default_factory=list)
    participants: list[ParticipantDoc] = field(default_factory=list)
    lessons: list[str] = field(default_factory=list)
    actions: list[ActionDoc] = field(default_factory=list)
    done: list[int] = field(default_factory=list)
    complete: bool = False
    started_at: datetime | None = None
    ended_at: datetime | None = None


def record_drill(session: Session, key: str, rec: Recording, today: date, *, scope: SiteScope = None) -> Drill:
    """Add a recording to a drill with the catalog's rules (milestone order, known roles).

    :param scope: the sites the recorder may see: another site's drill is "not found".
    """
    drill = load_drill(session, key, scope=scope)
    doc = drill_doc(drill)
    events = {e.milestone: e for e in doc.timeline}
    for ev in rec.events:
        events[ev.milestone] = ev
    names = {p.name: p for p in doc.participants}
    for person in rec.participants:
        names[person.name] = person
    actions = list(doc.actions)
    for number in rec.done:
        if not 1 <= number <= len(actions):
            raise InputError("drill record", None, "--done",
                             f"drill {key!r} has no action {number} (it has {len(actions)})")
        actions[number - 1] = actions[number - 1].model_copy(update={"status": "done", "closed_on": today})
    actions += rec.actions
    updated = doc.model_copy(update={
        "timeline": list(events.values()), "participants": list(names.values()),
        "lessons": doc.lessons + rec.lessons, "actions": actions,
        "started_at": rec.started_at or doc.started_at, "ended_at": rec.ended_at or doc.ended_at,
        # Completed stays completed; otherwise lifecycle_status derives it from the new record.
        "status": "completed" if rec.complete or doc.status == "completed" else None,
    })
    validator = DrillValidator(session, _option_error, scope)
    validator.check(updated, [])
    _apply(session, drill, updated, validator)
    return drill


_OPTION_NAMES = {"timeline": "--event", "participants": "--participant", "actions": "--action",
                 "ended_at": "--ended", "started_at": "--started", "services": "--service",
                 "playbook": "--playbook"}


def _option_error(loc: Loc, problem: str) -> InputError:
    option = _OPTION_NAMES.get(str(loc[0]), str(loc[0])) if loc else None
    return InputError("drill", None, f"{option} ({dotted(loc)})" if option else None, problem)


def scope_condition(session: Session, scope: SiteScope) -> ColumnElement[bool] | None:
    """The drills a caller limited to ``scope`` may see (None: no limit).

    A drill is a site's when it exercises services and every one of them is at a site in the
    scope; a drill of no service (a tabletop for the whole organisation) or of a service of no
    site is organisation-wide, hidden like organisation-wide findings, and one that also
    exercises another site's service would show that site's service.
    """
    ids = scope_site_ids(session, scope)
    if ids is None:
        return None
    outside = (select(DrillService.id).join(ImagingService, DrillService.service_id == ImagingService.id)
               .where(DrillService.drill_id == Drill.id,
                      or_(ImagingService.site_id.is_(None), ImagingService.site_id.not_in(ids))))
    return and_(exists(select(DrillService.id).where(DrillService.drill_id == Drill.id)), ~exists(outside))


def _scoped(session: Session, stmt: Any, scope: SiteScope) -> Any:
    cond = scope_condition(session, scope)
    return stmt if cond is None else stmt.where(cond)


def load_drills(session: Session, *, scope: SiteScope = None) -> list[Drill]:
    """Every drill with what was recorded, by date and key.

    :param scope: the sites the caller may see (:func:`scope_condition`); None: all.
    """
    return list(session.scalars(_scoped(session,
        select(Drill).options(
            selectinload(Drill.services).selectinload(DrillService.service), selectinload(Drill.events),
            selectinload(Drill.participants), selectinload(Drill.lessons), selectinload(Drill.actions),
        ).order_by(Drill.scheduled_on, Drill.key), scope)
    ))


def planned_drills(session: Session, limit: int | None = None, *, scope: SiteScope = None) -> list[Drill]:
    """Drills still planned, earliest first (a date that passed without a record comes first).

    :param session: the database session.
    :param limit: at most this many.
    :param scope: the sites the caller may see; None: all.
    """
    stmt = (select(Drill).where(Drill.status == "planned").options(selectinload(Drill.actions))
            .order_by(Drill.scheduled_on, Drill.key))
    stmt = _scoped(session, stmt, scope)
    return list(session.scalars(stmt if limit is None else stmt.limit(limit)))


def load_drill(session: Session, key: str, *, scope: SiteScope = None) -> Drill:
    """One drill by key; another site's (for a caller limited to ``scope``) is "not found"."""
    drill = session.scalar(_scoped(session,
        select(Drill).where(Drill.key == key).options(
            selectinload(Drill.services).selectinload(DrillService.service), selectinload(Drill.events),
            selectinload(Drill.participants), selectinload(Drill.lessons), selectinload(Drill.actions),
        ), scope)
    )
    if drill is None:
        raise NotFoundError(f"no drill {key!r}; see `radguard drill list`")
    return drill


@dataclass(frozen=True)
class MilestoneResult:
    milestone: str
    at: datetime
    role: str | None
    minutes: float  # since detection
    target_minutes: int | None

    @property
    def met(self) -> bool | None:
        return None if self.target_minutes is None else self.minutes <= self.target_minutes

    def as_dict(self) -> dict[str, Any]:
        return {"milestone": self.milestone, "label": MILESTONE_LABELS[self.milestone], "at": self.at,
                "role": self.role, "minutes_from_detection": round(self.minutes, 1),
                "target_minutes": self.target_minutes, "met": self.met}


def measure(drill: Drill) -> list[MilestoneResult]:
    """Minutes from detection to each milestone, beside the playbook's target for it."""
    events = {e.milestone: e for e in drill.events}
    if "detected" not in events:
        return []
    zero = events["detected"].at
    playbooks = {pb.id: pb for pb in load_catalog()}
    targets = playbooks[drill.playbook].targets if drill.playbook in playbooks else {}
    return [
        MilestoneResult(m, events[m].at, events[m].role, (events[m].at - zero).total_seconds() / 60, targets.get(m))
        for m in MILESTONES if m in events
    ]


def recovery_hours(drill: Drill) -> float | None:
    """Detection to systems restored, in hours, when the drill could demonstrate it."""
    if drill.status != "completed" or drill.kind not in DEMONSTRATING_KINDS:
        return None
    events = {e.milestone: e.at for e in drill.events}
    if "detected" not in events or "systems_restored" not in events:
        return None
    return (events["systems_restored"] - events["detected"]).total_seconds() / 3600


def demonstrated_recovery(drills: Sequence[Drill]) -> dict[str, tuple[float, str]]:
    """Fastest recovery demonstrated per service key, with the drill that showed it."""
    best: dict[str, tuple[float, str]] = {}
    for drill in drills:
        hours = recovery_hours(drill)
        if hours is None:
            continue
        for ds in drill.services:
            if ds.service.key not in best or hours < best[ds.service.key][0]:
                best[ds.service.key] = (hours, drill.key)
    return best


def drill_report(drill: Drill) -> dict[str, Any]:
    results = measure(drill)
    hours = recovery_hours(drill)
    return {
        "key": drill.key, "title": drill.title, "kind": drill.kind, "playbook": drill.playbook,
        "date": drill.scheduled_on, "status": drill.status, "facilitator": drill.facilitator,
        "services": [
            {"key": ds.service.key, "name": ds.service.name, "rto_hours": ds.service.rto_hours,
             "rto_met": None if hours is None else hours <= ds.service.rto_hours}
            for ds in drill.services
        ],
        "participants": [{"name": p.name, "role": p.role} for p in drill.participants],
        "timeline": [r.as_dict() for r in results],
        "targets_met": sum(1 for r in results if r.met), "targets_missed": sum(1 for r in results if r.met is False),
        "recovery_hours": None if hours is None else round(hours, 2),
        "lessons": [lesson.text for lesson in drill.lessons],
        "actions": [
            {"number": a.number, "title": a.title, "owner_role": a.owner_role, "due": a.due, "status": a.status,
             "closed_on": a.closed_on}
            for a in drill.actions
        ],
    }
