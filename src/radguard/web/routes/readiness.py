"""Readiness pages: the response team, services and continuity, playbooks and the offline
binder, drills (with a live timeline recorder), backup sets and their verification runs.

Everything is read and written through the readiness and backup stages — ``team_gaps``,
``continuity``, ``export_binder``, ``plan_drill``/``record_drill`` — so the browser applies the
same validation (milestone order, known roles, nothing after the drill ended) as the CLI.
"""

from __future__ import annotations

import tempfile
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from radguard.backup.sets import list_sets, set_record, verification_record
from radguard.db.base import utcnow
from radguard.db.models.response import ResponsePerson, ResponseRole
from radguard.errors import InputError, NotFoundError, RadguardError
from radguard.inventory.scope import SiteScope
from radguard.readiness.binder import DEFAULT_OUTAGE_HOURS, BinderOptions, export_binder
from radguard.readiness.continuity import ServiceContinuity, continuity
from radguard.response.drills import (
    ActionDoc,
    DrillDoc,
    EventDoc,
    ParticipantDoc,
    Recording,
    drill_report,
    load_drill,
    load_drills,
    plan_drill,
    record_drill,
)
from radguard.response.drills import demonstrated_recovery as demonstrated
from radguard.response.playbooks import MILESTONE_LABELS, MILESTONES, load_catalog
from radguard.response.services import load_services
from radguard.response.team import holders, load_people, load_roles, role_keys, team_gaps
from radguard.validate import local_moment
from radguard.web.app import local_zone, render
from radguard.web.audit import record
from radguard.web.routes._forms import attachment, http_error, is_htmx
from radguard.web.routes.dashboard import invalidate
from radguard.web.security import Principal, client_ip, db_session, require

router = APIRouter(include_in_schema=False)
DRILL_KINDS = ("tabletop", "functional", "full-scale")


@router.get("/readiness")
async def overview(request: Request, principal: Principal = Depends(require("viewer")),
                   session: Session = Depends(db_session)) -> Response:
    def count(model: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)

    # The team is the organisation's; services, drills and backup sets are counted in the caller's sites.
    sets = list_sets(session, scope=principal.scope, verifications=True)
    return render(request, "readiness.html", {
        "roles": count(ResponseRole), "people": count(ResponsePerson),
        "services": len(load_services(session, scope=principal.scope)),
        "drills": len(load_drills(session, scope=principal.scope)), "backup_sets": len(sets),
        "verifications": sum(len(s.verifications) for s in sets), "playbooks": len(load_catalog()),
    })


@router.get("/readiness/team")
async def team_page(request: Request, principal: Principal = Depends(require("viewer")),
                    session: Session = Depends(db_session)) -> Response:
    roles, people = load_roles(session), load_people(session)
    rows = [{"role": r, "primary": holders(r, "primary"), "alternates": holders(r, "alternate")} for r in roles]
    return render(request, "readiness_team.html", {
        "rows": rows, "people": people, "gaps": team_gaps(roles, people, utcnow().date())})


def services_continuity(session: Session, outage_hours: float, scope: SiteScope = None) -> list[ServiceContinuity]:
    """What ``radguard services continuity --outage H`` computes, for every service (in ``scope``)."""
    return continuity(load_services(session, scope=scope), outage_hours,
                      demonstrated(load_drills(session, scope=scope)))


@router.get("/readiness/services")
async def services_page(request: Request, outage: float = Query(DEFAULT_OUTAGE_HOURS, gt=0, le=24 * 90),
                        principal: Principal = Depends(require("viewer")),
                        session: Session = Depends(db_session)) -> Response:
    results = [r.as_dict() for r in services_continuity(session, outage, principal.scope)]
    return render(request, "readiness_services.html", {"results": results, "outage": outage})


@router.get("/readiness/playbooks")
async def playbooks_page(request: Request, principal: Principal = Depends(require("viewer")),
                         session: Session = Depends(db_session)) -> Response:
    drills = load_drills(session, scope=principal.scope)
    last = {}
    for d in drills:
        if d.status == "completed":
            last[d.playbook] = d
    return render(request, "readiness_playbooks.html", {
        "playbooks": load_catalog(), "last": last, "labels": MILESTONE_LABELS, "outage": DEFAULT_OUTAGE_HOURS})


@router.post("/readiness/binder")
def binder_download(request: Request, fmt: str = Form("html"), outage: float = Form(DEFAULT_OUTAGE_HOURS),
                    principal: Principal = Depends(require("viewer", organisation=True)),
                    session: Session = Depends(db_session)) -> Response:
    """The offline binder (``radguard playbook export``) as a download; it lists staff contacts, so it is audited."""
    if fmt not in ("html", "pdf"):
        raise HTTPException(status_code=400, detail=f"{fmt!r} is not a binder format; use html or pdf")
    if not 0 < outage <= 24 * 90:
        raise HTTPException(status_code=400, detail="the outage must be between 0 and 2160 hours")
    options = BinderOptions(generated_at=utcnow(), outage_hours=outage)
    with tempfile.TemporaryDirectory(prefix="radguard-binder-") as tmp:
        target = Path(tmp) / f"binder.{fmt}"
        try:
            summary = export_binder(session, options, fmt, target)
        except RadguardError as exc:
            raise http_error(exc) from None
        body = target.read_bytes()
    record(session, principal.name, "binder.download", detail={"format": fmt, "outage_hours": outage,
                                                                "bytes": summary["bytes"]}, ip=client_ip(request))
    session.commit()
    media = "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8"
    stamp = options.generated_at.strftime("%Y%m%d")
    return Response(body, media_type=media, headers=attachment(f"radguard-binder-{stamp}.{fmt}"))


@router.get("/readiness/drills")
async def drills_page(request: Request, principal: Principal = Depends(require("viewer")),
                      session: Session = Depends(db_session)) -> Response:
    drills = load_drills(session, scope=principal.scope)
    return render(request, "readiness_drills.html", {
        "drills": list(reversed(drills)), "playbooks": load_catalog(), "kinds": DRILL_KINDS,
        "services": load_services(session, scope=principal.scope), "can_record": principal.role != "viewer",
        "today": utcnow().date()})


def _first_error(exc: ValidationError) -> InputError:
    err = exc.errors()[0]
    return InputError("drill", None, ".".join(str(p) for p in err.get("loc", ())) or None, err["msg"])


@router.post("/readiness/drills")
async def plan(request: Request, key: str = Form(...), playbook: str = Form(...), kind: str = Form("tabletop"),
               on: str = Form(...), title: str = Form(""), facilitator: str = Form(""),
               principal: Principal = Depends(require("contributor")),
               session: Session = Depends(db_session)) -> Response:
    form = await request.form()
    services = [v for v in form.getlist("services") if isinstance(v, str) and v]
    try:
        try:
            rec = DrillDoc.model_validate({"key": key.strip(), "playbook": playbook, "kind": kind, "date": on,
                                           "services": services, "title": title or None,
                                           "facilitator": facilitator or None})
        except ValidationError as exc:
            raise _first_error(exc) from None
        drill = plan_drill(session, rec, scope=principal.scope)
    except RadguardError as exc:
        raise http_error(exc) from None
    record(session, principal.name, "drill.plan", target=f"drill:{drill.key}",
           detail={"playbook": drill.playbook, "kind": drill.kind, "date": drill.scheduled_on.isoformat()},
           ip=client_ip(request))
    session.commit()
    invalidate(request)
    return RedirectResponse(f"/readiness/drills/{drill.key}", status_code=303)


def _drill_context(session: Session, key: str, scope: SiteScope) -> dict[str, Any]:
    try:
        drill = load_drill(session, key, scope=scope)
    except RadguardError as exc:
        raise http_error(exc) from None
    report = drill_report(drill)
    measured = {m["milestone"]: m for m in report["timeline"]}
    recorded = {e.milestone for e in drill.events}
    events = [{"milestone": e.milestone, "label": MILESTONE_LABELS.get(e.milestone, e.milestone), "at": e.at,
               "role": e.role, "note": e.note, "measured": measured.get(e.milestone)}
              for e in sorted(drill.events, key=lambda e: MILESTONES.index(e.milestone)
                              if e.milestone in MILESTONES else len(MILESTONES))]
    return {"drill": drill, "report": report, "events": events,
            "milestones": [(m, MILESTONE_LABELS[m]) for m in MILESTONES],
            "next_milestone": next((m for m in MILESTONES if m not in recorded), None),
            "roles": sorted(role_keys(session))}


@router.get("/readiness/drills/{key}")
async def drill_page(request: Request, key: str, saved: str = "", principal: Principal = Depends(require("viewer")),
                     session: Session = Depends(db_session)) -> Response:
    """The drill; ``?saved=1`` is the one-time confirmation after a plain (non-htmx) form post."""
    return render(request, "readiness_drill.html", {**_drill_context(session, key, principal.scope),
                                                    "can_record": principal.role != "viewer",
                                                    "saved": saved == "1"})


def _drill_refused(request: Request, session: Session, principal: Principal, key: str, error: str,
                   typed: dict[str, str]) -> Response:
    """A refused recording: the fragment for htmx (200, which htmx swaps in), or the whole page
    with the error and what was typed (400) for a plain form post — never a bare error page.
    Another site's drill (or none) is a 404 before anything else."""
    context = {**_drill_context(session, key, principal.scope), "error": error, "typed": typed,
               "can_record": True}
    if is_htmx(request):
        return render(request, "_drill_record.html", context)
    return render(request, "readiness_drill.html", context, status_code=400)


def _at(value: str, tz: tzinfo) -> datetime:
    """A time typed in the page's local zone (stored as UTC), or now when left blank — the live-recording case."""
    if not value.strip():
        return utcnow().replace(microsecond=0)
    try:
        return local_moment(value, tz)
    except ValueError as exc:
        raise InputError("drill", None, "at", str(exc)) from None


def _recorded(request: Request, session: Session, principal: Principal, key: str, rec: Recording,
              action: str, detail: dict[str, Any], typed: dict[str, str]) -> Response:
    """Apply a recording with the stage's rules, audit it, and answer with the fresh timeline."""
    try:
        record_drill(session, key, rec, utcnow().date(), scope=principal.scope)
        record(session, principal.name, action, target=f"drill:{key}", detail=detail, ip=client_ip(request))
        session.commit()
        invalidate(request)
    except NotFoundError:
        session.rollback()
        raise HTTPException(status_code=404, detail=f"no drill {key!r}") from None
    except RadguardError as exc:
        session.rollback()
        session.expire_all()
        return _drill_refused(request, session, principal, key, str(exc), typed)
    if not is_htmx(request):
        return RedirectResponse(f"/readiness/drills/{key}?saved=1", status_code=303)
    session.expire_all()
    return render(request, "_drill_record.html", {**_drill_context(session, key, principal.scope), "saved": True,
                                                  "can_record": True})


@router.post("/readiness/drills/{key}/events")
async def add_event(request: Request, key: str, milestone: str = Form(...), at: str = Form(""),
                    role: str = Form(""), note: str = Form(""),
                    principal: Principal = Depends(require("contributor")),
                    session: Session = Depends(db_session)) -> Response:
    typed = {"milestone": milestone, "at": at, "role": role, "note": note}
    try:
        event = EventDoc(milestone=milestone, at=_at(at, local_zone(request)), role=role or None,
                         note=note.strip() or None)
    except RadguardError as exc:
        return _drill_refused(request, session, principal, key, str(exc), typed)
    return _recorded(request, session, principal, key, Recording(events=[event]), "drill.event",
                     {"milestone": milestone, "at": event.at.isoformat(), "role": event.role}, typed)


@router.post("/readiness/drills/{key}/record")
async def add_details(request: Request, key: str, participant: str = Form(""), participant_role: str = Form(""),
                      lesson: str = Form(""), action_title: str = Form(""), action_role: str = Form(""),
                      action_due: str = Form(""), done: str = Form(""), complete: str = Form(""),
                      principal: Principal = Depends(require("contributor")),
                      session: Session = Depends(db_session)) -> Response:
    typed = {"participant": participant, "participant_role": participant_role, "lesson": lesson,
             "action_title": action_title, "action_role": action_role, "action_due": action_due, "done": done}
    try:
        rec = Recording(
            participants=[ParticipantDoc(name=participant.strip(), role=participant_role or None)]
            if participant.strip() else [],
            lessons=[lesson.strip()] if lesson.strip() else [],
            actions=[ActionDoc(title=action_title.strip(), owner_role=action_role or None,
                               due=date.fromisoformat(action_due) if action_due else None)]
            if action_title.strip() else [],
            done=[int(done)] if done.strip().isdigit() else [],
            complete=bool(complete), ended_at=utcnow().replace(microsecond=0) if complete else None,
        )
    except (ValidationError, ValueError) as exc:
        problem = _first_error(exc) if isinstance(exc, ValidationError) else InputError("drill", None, "due", str(exc))
        return _drill_refused(request, session, principal, key, str(problem), typed)
    detail = {"participants": len(rec.participants), "lessons": len(rec.lessons), "actions": len(rec.actions),
              "done": rec.done, "complete": rec.complete}
    return _recorded(request, session, principal, key, rec, "drill.record", detail, typed)


@router.get("/readiness/backup")
async def backup_page(request: Request, principal: Principal = Depends(require("viewer")),
                      session: Session = Depends(db_session)) -> Response:
    sets = list_sets(session, scope=principal.scope, verifications=True)
    rows = [{"set": s, "record": set_record(s),
             "runs": [verification_record(v) for v in list(reversed(s.verifications))[:10]]} for s in sets]
    return render(request, "readiness_backup.html", {"rows": rows})
