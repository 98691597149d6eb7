"""Findings triage: a filterable queue, bulk decisions, and one page per finding with its history.

Decisions go through ``radguard.checks.findings.transition`` — the same rule the CLI uses —
and each one is also written to the audit log.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from radguard.checks.executive import plain_action, wording_for
from radguard.checks.findings import ACTIONS, FINDING_SORTS, BeyondMaximumTerm, finding_record, get_finding, transition
from radguard.checks.findings import findings_page as findings_page_rows
from radguard.checks.loader import default_catalog
from radguard.checks.sla import SEVERITIES
from radguard.db.base import utcnow
from radguard.db.models.findings import ALL_STATES, OPEN_STATES
from radguard.errors import InputError, NotFoundError, OutOfScopeError, RadguardError
from radguard.inventory.queries import site_codes
from radguard.readiness.dashboard import stored_action_for
from radguard.validate import local_day_end
from radguard.web.app import local_zone, render
from radguard.web.audit import record
from radguard.web.routes._forms import http_error
from radguard.web.routes.dashboard import invalidate
from radguard.web.security import Principal, client_ip, db_session, require

router = APIRouter(include_in_schema=False)
PER_PAGE = 50


def _until(value: str, tz: tzinfo) -> datetime | None:
    """The "accepted until" date as the last minute of that day in the page's zone (stored as UTC)."""
    if not value:
        return None
    try:
        return local_day_end(value, tz)
    except ValueError as exc:
        raise InputError("findings", None, "until", str(exc)) from None


@router.get("/findings")
async def findings_page(request: Request, state: str = "open", severity: str = "", check: str = "",
                        site: str = "", asset: str = "", overdue: str = "", sort: str = "risk",
                        after: str = "", page: int = Query(1, ge=1, le=1_000_000),
                        decided: int = Query(0, ge=0, le=1_000_000),
                        principal: Principal = Depends(require("viewer")),
                        session: Session = Depends(db_session)) -> Response:
    """The triage queue: filters, every sortable column, and 50 rows a page (keyset-paged forward).

    ``after`` is the cursor of the previous page's last row (its "Next" link); ``page`` is then the
    number shown. Without ``after``, ``page`` is an offset (page links, going back).
    """
    try:
        result = findings_page_rows(session, states=[state] if state else [],
                                    severities=[severity] if severity else [], check_ids=[check] if check else [],
                                    site=site or None, asset_ref=asset or None,
                                    due_before=utcnow().date() if overdue else None, sort=sort,
                                    after=after or None, page=page, per_page=PER_PAGE, scope=principal.scope)
    except RadguardError as exc:
        raise http_error(exc) from None  # a site or asset outside the caller's sites is a 404
    filters = {"state": state, "severity": severity, "check": check, "site": site, "asset": asset,
               "overdue": overdue}
    query = urlencode({k: v for k, v in filters.items() if v})
    sites = site_codes(session, scope=principal.scope)
    return render(request, "findings.html", {
        "result": result, "rows": result.rows, **filters, "sort": sort, "query": query,
        "sorts": list(FINDING_SORTS), "sites": sites, "checks": sorted(e.spec.id for e in default_catalog()),
        "states": ALL_STATES, "severities": SEVERITIES, "actions": list(ACTIONS),
        "back": "/findings?" + urlencode({**{k: v for k, v in filters.items() if v}, "sort": sort}),
        "can_decide": principal.role in ("assessor", "admin"),
        "site_limited": principal.scope is not None,
        "decided": decided,
    })


@router.get("/findings/{finding_id}")
async def finding_page(request: Request, finding_id: int, saved: str = "",
                       principal: Principal = Depends(require("viewer")),
                       session: Session = Depends(db_session)) -> Response:
    """The finding; ``?saved=1`` is the one-time confirmation after a decision was recorded."""
    return _finding_view(request, session, principal, finding_id, saved=saved == "1")


def _finding_view(request: Request, session: Session, principal: Principal, finding_id: int, *,
                  status_code: int = 200, error: str | None = None,
                  typed: dict[str, str] | None = None, beyond_maximum: bool = False,
                  saved: bool = False) -> Response:
    """The finding page; after a refused decision, with the error and the values the user typed."""
    try:
        finding = get_finding(session, finding_id, scope=principal.scope)
    except RadguardError:
        raise HTTPException(status_code=404, detail="no such finding") from None
    rec = finding_record(finding, default_catalog(), events=True)
    # An organisation-wide finding is shown to a site-limited account, read-only (transition refuses it).
    read_only = principal.scope is not None and rec["organisation_wide"]
    # The roadmap action whose work closes it, at its place in the ranking stored by the last
    # assessment (ranking the register here would cost seconds at 100k assets); only for an
    # open finding, as a closed one is in no action.
    action = stored_action_for(session, finding.check_id) if finding.state in OPEN_STATES else None
    return render(request, "finding.html", {"f": rec, "actions": list(ACTIONS),
                                            "action": action,
                                            "action_title": plain_action(action)["title"] if action else "",
                                            "plain": wording_for(finding.check_id),
                                            "can_decide": principal.role in ("assessor", "admin") and not read_only,
                                            "read_only": read_only,
                                            "error": error, "typed": typed or {},
                                            "beyond_maximum": beyond_maximum,
                                            "saved": saved,
                                            "max_days": request.app.state.settings.sla.max_acceptance_days},
                  status_code=status_code)


@router.post("/findings/decide")
async def decide(request: Request, action: str = Form(...), reason: str = Form(""), until: str = Form(""),
                 beyond_reason: str = Form(""),
                 principal: Principal = Depends(require("assessor")),
                 session: Session = Depends(db_session)) -> Response:
    form = await request.form()
    ids = [int(v) for v in form.getlist("ids") if isinstance(v, str) and v.isdigit()]
    if not ids:
        raise HTTPException(status_code=400, detail="select at least one finding")
    back = form.get("back")
    try:
        ends = _until(until, local_zone(request))
        for fid in ids:
            f = transition(session, fid, action, by=principal.name, reason=reason, until=ends,
                           sla=request.app.state.settings.sla, beyond_maximum_reason=beyond_reason or None,
                           scope=principal.scope)
            beyond = f.events[-1].evidence.get("beyond_maximum") if f.events else None
            record(session, principal.name, f"finding.{action}", target=f"finding:{fid}",
                   detail={"check": f.check_id, "reason": reason, "until": until or None, "to": f.state,
                           **({"beyond_maximum_reason": beyond["reason"]} if beyond else {})},
                   ip=client_ip(request))
    except NotFoundError:
        session.rollback()  # another site's finding (or none at all): the same answer either way
        raise HTTPException(status_code=404, detail="no such finding") from None
    except OutOfScopeError as exc:
        session.rollback()  # an organisation-wide finding, which a site-limited account only reads
        raise HTTPException(status_code=403, detail=str(exc)) from None
    except RadguardError as exc:
        session.rollback()
        if len(ids) == 1 and back == f"/findings/{ids[0]}":
            # From the finding's own page: show the form again with what was typed and the
            # stage's message beside it, instead of a bare error page (issue #19).
            return _finding_view(request, session, principal, ids[0], status_code=400, error=str(exc),
                                 typed={"action": action, "reason": reason, "until": until,
                                        "beyond_reason": beyond_reason},
                                 beyond_maximum=isinstance(exc, BeyondMaximumTerm))
        raise HTTPException(status_code=400, detail=str(exc)) from None
    session.commit()
    invalidate(request)  # the stored dashboard counts moved with the decision
    target = back if isinstance(back, str) and back.startswith("/findings") else "/findings"
    # A one-time confirmation on the page the user comes back to (a query parameter: works the
    # same with and without htmx, and a reload of the bare page no longer shows it).
    if target == f"/findings/{ids[0]}":
        target += "?saved=1"
    else:
        target += ("&" if "?" in target else "?") + f"decided={len(ids)}"
    return RedirectResponse(target, status_code=303)
