"""Reports and exports as downloads: the same builders as ``radguard report`` and ``radguard export``.

A report is a map of the organization's weaknesses, so each download is written to the audit
log (who took which report, for which site, from where). The forms post with the session's
CSRF token; the handlers are plain functions so that building a report runs in the thread
pool and never stalls other requests. A PDF is generated as a background job
(:mod:`radguard.web.report_jobs`): the form redirects to the job's page, which shows its state
(polled with htmx, or a plain "check again" link without JavaScript) and the download once ready.
"""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from radguard.db.base import utcnow
from radguard.errors import RadguardError
from radguard.inventory.queries import site_codes
from radguard.reports.build import build_report, parse_appendices
from radguard.reports.exports.oscal import build_oscal, write_oscal
from radguard.reports.exports.tables import EXPORTS, to_csv, to_json
from radguard.reports.render import write_report
from radguard.reports.scope import Scope
from radguard.web.app import render
from radguard.web.audit import record
from radguard.web.report_jobs import ReportJob, ReportJobs
from radguard.web.routes._forms import attachment, http_error, is_htmx
from radguard.web.security import Principal, client_ip, db_session, require

router = APIRouter(include_in_schema=False)
AUDIENCES = ("executive", "technical")
TABLE_EXPORTS = ("findings", "inventory", "roadmap")


@router.get("/reports")
async def reports_page(request: Request, principal: Principal = Depends(require("viewer")),
                       session: Session = Depends(db_session)) -> Response:
    """The report and export forms; for an account limited to sites they are cut to its sites (no OSCAL)."""
    sites = site_codes(session, scope=principal.scope)
    return render(request, "reports.html", {"sites": sites, "audiences": AUDIENCES, "tables": TABLE_EXPORTS})


def _stamp() -> str:
    return utcnow().strftime("%Y%m%d-%H%M")


def _site_part(site: str | None) -> str:
    return f"-{site}" if site else ""


@router.post("/reports/report")
def report_download(request: Request, audience: str = Form("executive"), fmt: str = Form("html"),
                    site: str = Form(""), appendix: str = Form(""),
                    principal: Principal = Depends(require("viewer")),
                    session: Session = Depends(db_session)) -> Response:
    """The report as a download (HTML) or a background job (PDF); for an account limited to sites,
    cut to its sites (``reports.scope.Scope.visible``): another site is a 404."""
    if audience not in AUDIENCES:
        raise HTTPException(status_code=400, detail=f"{audience!r} is not an audience; use executive or technical")
    if fmt not in ("html", "pdf"):
        raise HTTPException(status_code=400, detail=f"{fmt!r} is not a report format; use html or pdf")
    chosen_site = site or None
    try:
        appendices = parse_appendices(appendix, "appendix") if audience == "technical" else ()
    except RadguardError as exc:
        raise http_error(exc) from None
    scope = Scope(session, chosen_site, visible=principal.scope)
    if fmt == "pdf":
        try:
            scope.site_id()  # refuse an unknown site (or another site's) now, not in the job
        except RadguardError as exc:
            raise http_error(exc) from None
        return _start_pdf(request, session, principal, audience, chosen_site, appendices)
    with tempfile.TemporaryDirectory(prefix="radguard-report-") as tmp:
        target = Path(tmp) / f"report.{fmt}"
        try:
            report = build_report(session, audience, chosen_site, scope=scope,  # type: ignore[arg-type]
                                  appendices=appendices)
            size = write_report(report, target, fmt)  # type: ignore[arg-type]
        except RadguardError as exc:
            raise http_error(exc) from None
        body = target.read_bytes()
    record(session, principal.name, "report.download", target=f"report:{audience}",
           detail={"format": fmt, "site": chosen_site, "bytes": size, "appendices": list(appendices),
                   **_sites_detail(principal)},
           ip=client_ip(request))
    session.commit()
    media = "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8"
    name = f"radguard-{audience}-report{_site_part(chosen_site)}-{_stamp()}.{fmt}"
    return Response(body, media_type=media, headers=attachment(name))


@router.post("/reports/export/{kind}")
def export_download(request: Request, kind: str, fmt: str = Form("csv"), site: str = Form(""),
                    principal: Principal = Depends(require("viewer")),
                    session: Session = Depends(db_session)) -> Response:
    """A table export (of the caller's sites when it is limited to sites), or the OSCAL documents
    (the organisation's or a whole site's: refused to an account limited to sites)."""
    chosen_site = site or None
    if kind == "oscal" and principal.scope is not None:
        raise HTTPException(status_code=403, detail="the OSCAL documents cover the whole organisation; your "
                            "account is limited to " + (", ".join(sorted(principal.scope)) or "no site"))
    try:
        scope = Scope(session, chosen_site, visible=principal.scope)
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


def _sites_detail(principal: Principal) -> dict[str, list[str]]:
    """For the audit log: the sites a limited account's report was cut to (nothing for an unlimited one)."""
    return {} if principal.scope is None else {"cut_to_sites": sorted(principal.scope)}


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


def _jobs(request: Request) -> ReportJobs:
    """The report jobs (their rows are shared by every server process), made on first use."""
    state = request.app.state
    jobs: ReportJobs | None = getattr(state, "report_jobs", None)
    if jobs is None:
        jobs = state.report_jobs = ReportJobs(state.db)
    return jobs


def _start_pdf(request: Request, session: Session, principal: Principal, audience: str,
               site: str | None, appendices: tuple[str, ...] = ()) -> Response:
    """Start (or rejoin) the PDF job for this report and send the browser to its page."""
    session.commit()  # end this session's read first: the job's row is written in a transaction of its own
    job, started = _jobs(request).start(principal.name, audience, site, appendices=appendices,
                                        visible=principal.scope)
    if started:
        record(session, principal.name, "report.generate", target=f"report:{audience}",
               detail={"format": "pdf", "site": site, "job": job.id, "appendices": list(appendices),
                       **_sites_detail(principal)},
               ip=client_ip(request))
        session.commit()
    return RedirectResponse(f"/reports/jobs/{job.id}", status_code=303)


def _job(request: Request, job_id: int, principal: Principal) -> ReportJob:
    job = _jobs(request).get(job_id, principal.name)
    if job is None or job.visible != principal.scope:  # the account's sites changed since: not this report
        raise HTTPException(status_code=404, detail="no such report job (a newer job for the same report replaces it)")
    return job


@router.get("/reports/jobs/{job_id}")
def job_page(request: Request, job_id: int,
             principal: Principal = Depends(require("viewer"))) -> Response:
    """The job's state; htmx polls this fragment every second until the PDF is ready or failed."""
    job = _job(request, job_id, principal)
    context = {"job": job, "name": _pdf_name(job)}
    if is_htmx(request):
        return render(request, "_report_job.html", context)
    return render(request, "report_job.html", context)


def _pdf_name(job: ReportJob) -> str:
    return f"radguard-{job.audience}-report{_site_part(job.site)}-{job.created_at.strftime('%Y%m%d-%H%M')}.pdf"


@router.get("/reports/jobs/{job_id}/download")
def job_download(request: Request, job_id: int, principal: Principal = Depends(require("viewer")),
                 session: Session = Depends(db_session)) -> Response:
    """The finished PDF as an attachment, audited as every report download is."""
    job = _job(request, job_id, principal)
    if job.state != "ready" or job.path is None:
        raise HTTPException(status_code=409, detail=f"the report is not ready: {job.words}")
    body = job.path.read_bytes()
    record(session, principal.name, "report.download", target=f"report:{job.audience}",
           detail={"format": "pdf", "site": job.site, "bytes": len(body), "job": job.id, **_sites_detail(principal)},
           ip=client_ip(request))
    session.commit()
    return Response(body, media_type="application/pdf", headers=attachment(_pdf_name(job)))
