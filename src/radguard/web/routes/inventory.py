"""Inventory pages: a server-side paged, filterable table and one page per asset.

The asset page also lets a contributor record an attestation ("record X on the asset") where the
finding says to, through the checks stage's ``record_attestation``, and change the inventory
fields fixes ask for (MFA on remote access, owner, criticality, zone ...) through the inventory
stage's ``update_asset_fields``; both are audited (issue #19).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from radguard.checks.attestations import KNOWN_SUBJECTS, list_attestations, record_attestation
from radguard.checks.findings import list_findings
from radguard.discovery.probes import endpoint_states
from radguard.errors import InputError, NotFoundError, RadguardError
from radguard.inventory.edits import EDITABLE_FIELDS, update_asset_fields
from radguard.inventory.queries import ASSET_SORTS, find_asset_by_id, query_assets, site_codes
from radguard.inventory.vocab import CRITICALITY_MEANING, AssetClass, RemoteAccess
from radguard.validate import local_day_end
from radguard.web.app import local_zone, render
from radguard.web.audit import record
from radguard.web.routes._forms import http_error
from radguard.web.security import Principal, client_ip, db_session, require
from radguard.wording import label

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
async def asset_page(request: Request, asset_id: int, subject: str = "", saved: str = "", edited: str = "",
                     field: str = "",
                     principal: Principal = Depends(require("viewer")),
                     session: Session = Depends(db_session)) -> Response:
    """The asset; ``subject`` preselects the attestation a finding asks for, ``saved`` confirms one,
    ``edited`` (comma-separated field names) confirms an inventory edit, ``field`` opens the edit form."""
    return _asset_view(request, session, principal, asset_id,
                       typed={"subject": subject} if subject in KNOWN_SUBJECTS else {},
                       saved=saved if saved in KNOWN_SUBJECTS else None,
                       edited=[f for f in edited.split(",") if f in EDITABLE_FIELDS] or (["none"] if edited == "none"
                                                                                        else None),
                       focus=field if field in EDITABLE_FIELDS else None)


def _asset_view(request: Request, session: Session, principal: Principal, asset_id: int, *,
                status_code: int = 200, error: str | None = None, typed: dict[str, str] | None = None,
                saved: str | None = None, edit_error: str | None = None,
                edit_typed: dict[str, str] | None = None, edited: list[str] | None = None,
                focus: str | None = None) -> Response:
    """The asset page; after a refused attestation or edit, with the error and what the user typed."""
    try:
        asset = find_asset_by_id(session, asset_id, scope=principal.scope)
    except NotFoundError:
        raise HTTPException(status_code=404, detail="no such asset") from None
    findings = list(list_findings(session, asset_ref=str(asset.id), scope=principal.scope))
    probes = endpoint_states(session, asset_id=asset.id, scope=principal.scope)
    attestations = list(list_attestations(session, asset_ref=str(asset.id)))
    # A finding whose evidence names an attestation subject is closed by answering it here.
    answers = {f.id: next((k for k in (f.evidence or {}) if k in KNOWN_SUBJECTS), None) for f in findings}
    # A finding whose evidence quotes an inventory field ("remote access MFA: not recorded") is
    # closed by recording that field here; the last one it names is the one it asks about.
    fields = {f.id: next((k for k in reversed(list(f.evidence or {})) if k in EDITABLE_FIELDS), None)
              for f in findings}
    return render(request, "asset.html", {
        "asset": asset, "findings": findings, "probes": probes, "attestations": attestations,
        "answers": answers, "fields": fields, "editable": EDITABLE_FIELDS,
        "edit_error": edit_error, "edit_typed": edit_typed, "edited": edited or [], "focus": focus,
        "criticality_options": [(str(n), f"{n} – {words}") for n, words in CRITICALITY_MEANING.items()],
        "remote_options": [(r.value, label(r.value).replace("-", " ")) for r in RemoteAccess],
        "subjects": KNOWN_SUBJECTS, "values": ATTESTATION_VALUES,
        "can_attest": principal.role in ("contributor", "assessor", "admin"),
        "error": error, "typed": typed or {}, "saved": saved,
    }, status_code=status_code)


def _expiry(value: str, tz: tzinfo) -> datetime | None:
    """The form's date field as the last minute of that day in the page's zone, or an error naming the field."""
    if not value.strip():
        return None
    try:
        return local_day_end(value, tz)
    except ValueError as exc:
        raise InputError("attestation", None, "expires", str(exc)) from None


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
                                 asset_ref=str(asset.id), expires_at=_expiry(expires, local_zone(request)),
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


@router.post("/inventory/{asset_id}/edit")
async def edit_asset(request: Request, asset_id: int, principal: Principal = Depends(require("contributor")),
                     session: Session = Depends(db_session)) -> Response:
    """Change the inventory fields a fix asks for, validated as an import would be, and audited;
    a refusal re-renders the page with the field named and everything typed kept (400)."""
    form = await request.form()
    typed = {f: v for f in EDITABLE_FIELDS if isinstance(v := form.get(f), str)}
    try:
        asset = find_asset_by_id(session, asset_id, scope=principal.scope)
    except NotFoundError:
        raise HTTPException(status_code=404, detail="no such asset") from None
    try:
        changed = update_asset_fields(session, asset, typed)
        if changed:
            record(session, principal.name, "asset.edit", target=f"asset:{asset.id}", detail={"changed": changed},
                   ip=client_ip(request))
    except RadguardError as exc:
        session.rollback()
        return _asset_view(request, session, principal, asset_id, status_code=400, edit_error=str(exc),
                           edit_typed=typed)
    session.commit()
    return RedirectResponse(f"/inventory/{asset_id}?edited={','.join(changed) or 'none'}#asset-edit",
                            status_code=303)
