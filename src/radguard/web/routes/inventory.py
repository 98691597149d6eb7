"""Inventory pages: a server-side paged, filterable table and one page per asset.

The asset page also lets a contributor record an attestation ("record X on the asset") where the
finding says to, through the checks stage's ``record_attestation`` and the audit log (issue #19).
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from radguard.checks.attestations import KNOWN_SUBJECTS, list_attestations, record_attestation
from radguard.checks.findings import list_findings
from radguard.discovery.probes import endpoint_states
from radguard.errors import InputError, NotFoundError, RadguardError
from radguard.inventory.queries import ASSET_SORTS, find_asset_by_id, query_assets, site_codes
from radguard.inventory.vocab import AssetClass
from radguard.web.app import render
from radguard.web.audit import record
from radguard.web.routes._forms import http_error
from radguard.web.security import Principal, client_ip, db_session, require

router = APIRouter(include_in_schema=False)
PER_PAGE = 50


@router.get("/inventory")
async def inventory(request: Request, q: str = "", site: str = "", asset_class: str = "", criticality: str = "",
                    sort: str = "site", after: str = "", page: int = Query(1, ge=1, le=1_000_000),
                    principal: Principal = Depends(require("viewer")),
                    session: Session = Depends(db_session)) -> Response:
    """The inventory table: filters, every sortable column, 50 rows a page (keyset-paged forward).

    ``after`` is the cursor of the previous page's last row (its "Next" link); ``page`` is then
    the number shown. Without ``after``, ``page`` is an offset (page links, going back).
    """
    crit: int | None = None
    if criticality:
        if not criticality.isdigit() or not 1 <= int(criticality) <= 5:
            raise HTTPException(status_code=400, detail=f"criticality {criticality!r} is not 1-5")
        crit = int(criticality)
    try:
        result = query_assets(session, q, site, asset_class, page, PER_PAGE, sort=sort, after=after or None,
                              criticality=crit, scope=principal.scope)
    except RadguardError as exc:
        raise http_error(exc) from None
    sites = site_codes(session, scope=principal.scope)
    filters = {"q": q, "site": site, "asset_class": asset_class, "criticality": criticality}
    query = urlencode({k: v for k, v in filters.items() if v})
    template = "_inventory_rows.html" if request.headers.get("hx-request") else "inventory.html"
    return render(request, template, {"result": result, **filters, "sort": sort, "query": query,
                                      "sorts": list(ASSET_SORTS), "sites": sites,
                                      "classes": [c.value for c in AssetClass]})


ATTESTATION_VALUES = ("yes", "no")  # every subject a built-in check reads is a yes/no answer


@router.get("/inventory/{asset_id}")
async def asset_page(request: Request, asset_id: int, subject: str = "", saved: str = "",
                     principal: Principal = Depends(require("viewer")),
                     session: Session = Depends(db_session)) -> Response:
    """The asset; ``subject`` preselects the attestation a finding asks for, ``saved`` confirms one."""
    return _asset_view(request, session, principal, asset_id,
                       typed={"subject": subject} if subject in KNOWN_SUBJECTS else {},
                       saved=saved if saved in KNOWN_SUBJECTS else None)


def _asset_view(request: Request, session: Session, principal: Principal, asset_id: int, *,
                status_code: int = 200, error: str | None = None, typed: dict[str, str] | None = None,
                saved: str | None = None) -> Response:
    """The asset page; after a refused attestation, with the error and what the user typed."""
    try:
        asset = find_asset_by_id(session, asset_id, scope=principal.scope)
    except NotFoundError:
        raise HTTPException(status_code=404, detail="no such asset") from None
    findings = list(list_findings(session, asset_ref=str(asset.id), scope=principal.scope))
    probes = endpoint_states(session, asset_id=asset.id)
    attestations = list(list_attestations(session, asset_ref=str(asset.id)))
    # A finding whose evidence names an attestation subject is closed by answering it here.
    answers = {f.id: next((k for k in (f.evidence or {}) if k in KNOWN_SUBJECTS), None) for f in findings}
    return render(request, "asset.html", {
        "asset": asset, "findings": findings, "probes": probes, "attestations": attestations,
        "answers": answers,
        "subjects": KNOWN_SUBJECTS, "values": ATTESTATION_VALUES,
        "can_attest": principal.role in ("contributor", "assessor", "admin"),
        "error": error, "typed": typed or {}, "saved": saved,
    }, status_code=status_code)


def _expiry(value: str) -> datetime | None:
    """The form's date field as the end of that day (UTC), or an error naming the field."""
    if not value.strip():
        return None
    try:
        day = datetime.strptime(value.strip(), "%Y-%m-%d").date()
    except ValueError:
        raise InputError("attestation", None, "expires", f"{value!r} is not a date (YYYY-MM-DD)") from None
    return datetime.combine(day, time(23, 59), tzinfo=UTC)


@router.post("/inventory/{asset_id}/attest")
async def attest(request: Request, asset_id: int, subject: str = Form(""), value: str = Form(""),
                 expires: str = Form(""), evidence: str = Form(""), notes: str = Form(""),
                 principal: Principal = Depends(require("contributor")),
                 session: Session = Depends(db_session)) -> Response:
    """Record an answer on this asset as the signed-in user, with an audit entry; refusals re-render."""
    typed = {"subject": subject, "value": value, "expires": expires, "evidence": evidence, "notes": notes}
    try:
        asset = find_asset_by_id(session, asset_id, scope=principal.scope)
    except NotFoundError:
        raise HTTPException(status_code=404, detail="no such asset") from None
    try:
        if value not in ATTESTATION_VALUES:
            raise InputError("attestation", None, "value", "choose yes or no")
        row = record_attestation(session, subject=subject, value=value, attested_by=principal.name,
                                 asset_ref=str(asset.id), expires_at=_expiry(expires),
                                 evidence_link=evidence.strip() or None, notes=notes.strip() or None)
        record(session, principal.name, "attestation.record", target=f"asset:{asset.id}",
               detail={"attestation": row.id, "subject": row.subject, "value": row.value,
                       "expires": expires or None, "evidence": row.evidence_link},
               ip=client_ip(request))
    except RadguardError as exc:
        session.rollback()
        return _asset_view(request, session, principal, asset_id, status_code=400, error=str(exc), typed=typed)
    session.commit()
    return RedirectResponse(f"/inventory/{asset.id}?saved={row.subject}#attestations", status_code=303)
