"""Findings triage: a filterable queue, bulk decisions, and one page per finding with its history.

Decisions go through ``radguard.checks.findings.transition`` — the same rule the CLI uses —
and each one is also written to the audit log.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from radguard.checks.findings import ACTIONS, finding_record, get_finding, list_findings, transition
from radguard.checks.loader import default_catalog
from radguard.checks.sla import SEVERITIES
from radguard.db.models.findings import ALL_STATES
from radguard.errors import RadguardError
from radguard.web.app import render
from radguard.web.audit import record
from radguard.web.security import Principal, client_ip, db_session, require

router = APIRouter(include_in_schema=False)


def _until(value: str) -> datetime | None:
    if not value:
        return None
    try:
        day = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise HTTPException(status_code=400, detail=f"{value!r} is not a date (YYYY-MM-DD)") from None
    return datetime.combine(day, time(23, 59), tzinfo=UTC)


@router.get("/findings")
async def findings_page(request: Request, state: str = "open", severity: str = "", check: str = "",
                        principal: Principal = Depends(require("viewer")),
                        session: Session = Depends(db_session)) -> Response:
    try:
        rows = list_findings(session, states=[state] if state else [], severities=[severity] if severity else [],
                             check_ids=[check] if check else [], limit=500)
    except RadguardError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    checks = sorted({f.check_id for f in rows} | ({check} if check else set()))
    return render(request, "findings.html", {
        "rows": rows, "state": state, "severity": severity, "check": check, "checks": checks,
        "states": ALL_STATES, "severities": SEVERITIES, "actions": list(ACTIONS),
        "can_decide": principal.role in ("assessor", "admin"),
    })


@router.get("/findings/{finding_id}")
async def finding_page(request: Request, finding_id: int, principal: Principal = Depends(require("viewer")),
                       session: Session = Depends(db_session)) -> Response:
    try:
        finding = get_finding(session, finding_id)
    except RadguardError:
        raise HTTPException(status_code=404, detail="no such finding") from None
    rec = finding_record(finding, default_catalog(), events=True)
    return render(request, "finding.html", {"f": rec, "actions": list(ACTIONS),
                                            "can_decide": principal.role in ("assessor", "admin")})


@router.post("/findings/decide")
async def decide(request: Request, action: str = Form(...), reason: str = Form(""), until: str = Form(""),
                 principal: Principal = Depends(require("assessor")),
                 session: Session = Depends(db_session)) -> Response:
    form = await request.form()
    ids = [int(v) for v in form.getlist("ids") if isinstance(v, str) and v.isdigit()]
    if not ids:
        raise HTTPException(status_code=400, detail="select at least one finding")
    try:
        for fid in ids:
            f = transition(session, fid, action, by=principal.name, reason=reason, until=_until(until),
                           sla=request.app.state.settings.sla)
            record(session, principal.name, f"finding.{action}", target=f"finding:{fid}",
                   detail={"check": f.check_id, "reason": reason, "until": until or None, "to": f.state},
                   ip=client_ip(request))
    except RadguardError as exc:
        session.rollback()
        raise HTTPException(status_code=400, detail=str(exc)) from None
    session.commit()
    back = form.get("back")
    target = back if isinstance(back, str) and back.startswith("/findings") else "/findings"
    return RedirectResponse(target, status_code=303)
