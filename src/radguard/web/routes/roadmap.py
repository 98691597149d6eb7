"""The roadmap page: every ranked action with its owner, horizon, effort and the findings it closes.

The ranking is the readiness stage's, shown unchanged so it matches ``radguard roadmap``, the
dashboard card (which links to ``/roadmap#action-{rank}``) and the reports. It is the one stored
by the last assessment (``readiness.roadmap_store.current_roadmap``): ranking the register in
a request costs seconds at 100,000 assets. After a decision or a checklist answer the page says
when it was ranked and that what came since is not reflected, with a "re-rank now" button
(``POST /roadmap/rerank``): that starts a background job (``web.report_jobs.RerankJobs``, the
mechanism of the web PDF jobs; ``readiness.dashboard.rerank`` in its own transaction), one at a
time; the page shows it under way (its fragment polled by htmx, or a plain "check again" link)
and then the new ranking. Filters only hide rows: a row keeps its rank; a site's view reads the
stored per-site counts, not the site's findings. The exports are the CLI's: ``/roadmap.csv`` is
``radguard roadmap --format csv`` and ``/roadmap.json`` is ``radguard roadmap --json``, always of
the whole roadmap.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from radguard.checks.executive import plain_action
from radguard.db.base import utcnow
from radguard.errors import RadguardError
from radguard.integrations.tickets import roadmap_tickets
from radguard.inventory.queries import site_codes
from radguard.readiness.roadmap import capacity_line, to_csv
from radguard.readiness.roadmap_store import RoadmapView, current_roadmap, filter_actions
from radguard.web.app import local_zone, render
from radguard.web.audit import record
from radguard.web.report_jobs import RerankJob, RerankJobs
from radguard.web.routes._forms import attachment, http_error, is_htmx
from radguard.web.security import Principal, client_ip, db_session, require
from radguard.wording import ranking_note

__all__ = ["filter_actions", "router"]

router = APIRouter(include_in_schema=False)
RANKING_HEADER = "X-Radguard-Ranking"


@router.get("/roadmap")
def roadmap_page(request: Request, site: str = "", owner: str = "", reranked: str = "",
                 principal: Principal = Depends(require("viewer")),
                 session: Session = Depends(db_session)) -> Response:
    """The whole ranked roadmap, filtered by site and owner (GET form; the chosen values stay)."""
    try:
        view = current_roadmap(session, today=utcnow().date(), site=site or None, owner=owner or None,
                               scope=principal.scope)
        whole = view if not (site or owner) else current_roadmap(session, today=utcnow().date(),
                                                                 scope=principal.scope)
    except RadguardError as exc:
        raise http_error(exc) from None
    doc = whole.doc
    tickets = roadmap_tickets(session)
    rows = [{**a, "plain": plain_action(a), "tickets": tickets.get(a["id"], {})} for a in view.doc["actions"]]
    job = _shown_job(request, view.ranked_at)
    return render(request, "roadmap.html", {
        "doc": doc, "rows": rows, "site": site, "owner": owner, "capacity": capacity_line(doc),
        "sites": site_codes(session, scope=principal.scope), "ranked_at": view.ranked_at, "stale": view.stale,
        "can_rerank": principal.role in ("assessor", "admin") and principal.scope is None
                      and (job is None or job.done),
        "job": job, "reranked": reranked == "1",
        "owners": sorted({a["owner"] for a in doc["actions"] if a["owner"]}),
        "titles": {a["id"]: plain_action(a)["title"] for a in doc["actions"]},
    })


def rerank_jobs(request: Request) -> RerankJobs:
    """The re-rank jobs (their rows are shared by every server process), made on first use."""
    state = request.app.state
    jobs: RerankJobs | None = getattr(state, "rerank_jobs", None)
    if jobs is None:
        jobs = state.rerank_jobs = RerankJobs(state.db)
    return jobs


def _shown_job(request: Request, ranked_at: datetime | None) -> RerankJob | None:
    """The re-rank the page tells about: one under way, or one that failed after the stored ranking."""
    job = rerank_jobs(request).latest()
    if job is None or job.state == "ready":
        return None
    if job.state == "failed" and ranked_at is not None and job.finished_at is not None and \
            job.finished_at < ranked_at:
        return None
    return job


@router.post("/roadmap/rerank")
def roadmap_rerank(request: Request, principal: Principal = Depends(require("assessor", organisation=True)),
                   session: Session = Depends(db_session)) -> Response:
    """Start ranking the register again (after decisions or answers) as a background job; back to
    the page, which shows it under way and then the new ranking. One re-rank at a time: asking
    while one runs joins it."""
    def audit(job: RerankJob) -> None:
        # Committed before the job's thread starts: the re-rank then holds SQLite's write lock.
        record(session, principal.name, "roadmap.rerank", target="roadmap", detail={"job": job.id},
               ip=client_ip(request))
        session.commit()

    session.commit()  # end this session's read first: the job's row is written in a transaction of its own
    rerank_jobs(request).start(principal.name, before_run=audit)
    return RedirectResponse("/roadmap#rerank-job", status_code=303)


@router.get("/roadmap/rerank/jobs/{job_id}")
def rerank_job(request: Request, job_id: int, principal: Principal = Depends(require("viewer"))) -> Response:
    """The re-rank's state, the fragment htmx polls every second; once ranked it sends the page
    to the new ranking (``HX-Redirect``). Without htmx: the roadmap page, which shows the same."""
    job = rerank_jobs(request).get(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail="no such re-rank (a newer one replaces it)")
    if not is_htmx(request):
        return RedirectResponse("/roadmap#rerank-job", status_code=303)
    if job.state == "ready":
        return Response(status_code=200, headers={"HX-Redirect": "/roadmap?reranked=1"})
    return render(request, "_rerank_job.html", {"job": job})


def _ranking_header(request: Request, view: RoadmapView) -> dict[str, str]:
    """The page's sentence on a stored ranking (``X-Radguard-Ranking``), so a downloaded export
    says what the page says: when it was ranked and whether decisions came since."""
    note = ranking_note(view.ranked_at, view.stale, local_zone(request))
    return {RANKING_HEADER: note} if note else {}


@router.get("/roadmap.csv")
def roadmap_csv(request: Request, principal: Principal = Depends(require("viewer")),
                session: Session = Depends(db_session)) -> Response:
    """The roadmap as ``radguard roadmap --format csv`` writes it."""
    view = current_roadmap(session, today=utcnow().date(), scope=principal.scope)
    doc = view.doc
    return Response(to_csv(doc), media_type="text/csv; charset=utf-8",
                    headers={**attachment(f"radguard-roadmap-{doc['as_of']}.csv"), **_ranking_header(request, view)})


@router.get("/roadmap.json")
def roadmap_json(request: Request, principal: Principal = Depends(require("viewer")),
                 session: Session = Depends(db_session)) -> Response:
    """The roadmap document as ``radguard roadmap --json`` prints it."""
    view = current_roadmap(session, today=utcnow().date(), full=True, scope=principal.scope)
    return JSONResponse(jsonable_encoder(view.document()),
                        headers={**attachment(f"radguard-roadmap-{view.doc['as_of']}.json"),
                                 **_ranking_header(request, view)})
