"""Reports and exports as downloads: the same builders as ``radguard report`` and ``radguard export``.

A report is a map of the organization's weaknesses, so each download is written to the audit
log (who took which report, for which site, from where). The forms post with the session's
CSRF token; the handlers are plain functions so that a PDF being laid out by WeasyPrint runs
in the thread pool and never stalls other requests.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from radguard.db.base import utcnow
from radguard.errors import RadguardError
from radguard.inventory.queries import site_codes
from radguard.reports.build import build_report
from radguard.reports.exports.oscal import build_oscal, write_oscal
from radguard.reports.exports.tables import EXPORTS, to_csv, to_json
from radguard.reports.render import write_report
from radguard.reports.scope import Scope
from radguard.web.app import render
from radguard.web.audit import record
from radguard.web.routes._forms import attachment, http_error
from radguard.web.security import Principal, client_ip, db_session, require

router = APIRouter(include_in_schema=False)
AUDIENCES = ("executive", "technical")
TABLE_EXPORTS = ("findings", "inventory", "roadmap")


@router.get("/reports")
async def reports_page(request: Request, principal: Principal = Depends(require("viewer")),
                       session: Session = Depends(db_session)) -> Response:
    sites = site_codes(session)
    return render(request, "reports.html", {"sites": sites, "audiences": AUDIENCES, "tables": TABLE_EXPORTS})


def _stamp() -> str:
    return utcnow().strftime("%Y%m%d-%H%M")


def _site_part(site: str | None) -> str:
    return f"-{site}" if site else ""


@router.post("/reports/report")
def report_download(request: Request, audience: str = Form("executive"), fmt: str = Form("html"),
                    site: str = Form(""), principal: Principal = Depends(require("viewer")),
                    session: Session = Depends(db_session)) -> Response:
    if audience not in AUDIENCES:
        raise HTTPException(status_code=400, detail=f"{audience!r} is not an audience; use executive or technical")
    if fmt not in ("html", "pdf"):
        raise HTTPException(status_code=400, detail=f"{fmt!r} is not a report format; use html or pdf")
    chosen_site = site or None
    with tempfile.TemporaryDirectory(prefix="radguard-report-") as tmp:
        target = Path(tmp) / f"report.{fmt}"
        try:
            report = build_report(session, audience, chosen_site)  # type: ignore[arg-type]
            size = write_report(report, target, fmt)  # type: ignore[arg-type]
        except RadguardError as exc:
            raise http_error(exc) from None
        body = target.read_bytes()
    record(session, principal.name, "report.download", target=f"report:{audience}",
           detail={"format": fmt, "site": chosen_site, "bytes": size}, ip=client_ip(request))
    session.commit()
    media = "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8"
    name = f"radguard-{audience}-report{_site_part(chosen_site)}-{_stamp()}.{fmt}"
    return Response(body, media_type=media, headers=attachment(name))


@router.post("/reports/export/{kind}")
def export_download(request: Request, kind: str, fmt: str = Form("csv"), site: str = Form(""),
                    principal: Principal = Depends(require("viewer")),
                    session: Session = Depends(db_session)) -> Response:
    chosen_site = site or None
    try:
        scope = Scope(session, chosen_site)
        scope.site_id()  # refuse an unknown site before building anything
        if kind == "oscal":
            body, media, ext, rows = _oscal_zip(scope), "application/zip", "zip", None
        elif kind in TABLE_EXPORTS:
            if fmt not in ("csv", "json"):
                raise HTTPException(status_code=400, detail=f"{fmt!r} is not an export format; use csv or json")
            columns, records_of = EXPORTS[kind]
            records = records_of(scope)
            text = to_csv(columns, records) if fmt == "csv" else to_json(kind, columns, records, scope)
            body, ext, rows = text.encode("utf-8"), fmt, len(records)
            media = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
        else:
            raise HTTPException(status_code=404, detail=f"no export {kind!r}; use oscal, "
                                                        + ", ".join(TABLE_EXPORTS))
    except RadguardError as exc:
        raise http_error(exc) from None
    record(session, principal.name, "export.download", target=f"export:{kind}",
           detail={"format": ext, "site": chosen_site, "rows": rows}, ip=client_ip(request))
    session.commit()
    return Response(body, media_type=media,
                    headers=attachment(f"radguard-{kind}{_site_part(chosen_site)}-{_stamp()}.{ext}"))


def _oscal_zip(scope: Scope) -> bytes:
    """Assessment Results and the POA&M, written by ``write_oscal`` as the CLI does, in one zip."""
    docs = build_oscal(scope)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory(prefix="radguard-oscal-") as tmp:
        ar_path, poam_path = write_oscal(docs, Path(tmp) / "radguard-assessment-results.json")
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in (ar_path, poam_path):
                zf.write(path, path.name)
    return buffer.getvalue()
