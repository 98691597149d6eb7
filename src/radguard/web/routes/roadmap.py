"""The roadmap page: every ranked action with its owner, horizon, effort and the findings it closes.

The ranking is the readiness stage's, shown unchanged so it matches ``radguard roadmap``, the
dashboard card (which links to ``/roadmap#action-{rank}``) and the reports. It is the one stored
by the last assessment (``readiness.roadmap_store.current_roadmap``): ranking the register in
a request costs seconds at 100,000 assets. After a decision or a checklist answer the page says
when it was ranked and that what came since is not reflected, with a "re-rank now" button
(``POST /roadmap/rerank``, ``readiness.dashboard.rerank``). Filters only hide rows: a row keeps
its rank; a site's view reads the stored per-site counts, not the site's findings. The exports
are the CLI's: ``/roadmap.csv`` is ``radguard roadmap --format csv`` and ``/roadmap.json`` is
``radguard roadmap --json``, always of the whole roadmap.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from radguard.checks.executive import plain_action
from radguard.db.base import utcnow
from radguard.errors import RadguardError
from radguard.integrations.tickets import roadmap_tickets
from radguard.inventory.queries import site_codes
from radguard.readiness.dashboard import rerank
from radguard.readiness.roadmap import capacity_line, to_csv
from radguard.readiness.roadmap_store import RoadmapView, current_roadmap, filter_actions
from radguard.web.app import local_zone, render
from radguard.web.audit import record
from radguard.web.routes._forms import attachment, http_error
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
    return render(request, "roadmap.html", {
        "doc": doc, "rows": rows, "site": site, "owner": owner, "capacity": capacity_line(doc),
        "sites": site_codes(session, scope=principal.scope), "ranked_at": view.ranked_at, "stale": view.stale,
        "can_rerank": principal.role in ("assessor", "admin"), "reranked": reranked == "1",
        "owners": sorted({a["owner"] for a in doc["actions"] if a["owner"]}),
        "titles": {a["id"]: plain_action(a)["title"] for a in doc["actions"]},
    })


@router.post("/roadmap/rerank")
def roadmap_rerank(request: Request, principal: Principal = Depends(require("assessor", organisation=True)),
                   session: Session = Depends(db_session)) -> Response:
    """Rank the register again now (after decisions or answers) and store it; back to the page."""
    snapshot = rerank(session)
    record(session, principal.name, "roadmap.rerank", target=f"dashboard_snapshot:{snapshot.id}",
           ip=client_ip(request))
    session.commit()
    return RedirectResponse("/roadmap?reranked=1", status_code=303)


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
