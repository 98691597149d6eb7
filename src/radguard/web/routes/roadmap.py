"""The roadmap page: every ranked action with its owner, horizon, effort and the findings it closes.

The ranking is the readiness stage's (``radguard.readiness.roadmap.build_roadmap``), shown
unchanged so it matches ``radguard roadmap``, the dashboard card (which links to
``/roadmap#action-{rank}``) and the reports. Filters only hide rows: a row keeps its rank. The
exports are the CLI's: ``/roadmap.csv`` is ``radguard roadmap --format csv`` and ``/roadmap.json``
is ``radguard roadmap --json``, always of the whole roadmap.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from radguard.checks.executive import plain_action
from radguard.checks.findings import open_finding_ids
from radguard.db.base import utcnow
from radguard.errors import RadguardError
from radguard.integrations.tickets import roadmap_tickets
from radguard.inventory.queries import site_codes
from radguard.readiness.roadmap import build_roadmap, capacity_line, to_csv
from radguard.web.app import render
from radguard.web.routes._forms import attachment, http_error
from radguard.web.security import Principal, db_session, require

router = APIRouter(include_in_schema=False)


def _roadmap(session: Session) -> dict[str, Any]:
    return build_roadmap(session, today=utcnow().date())


def filter_actions(actions: list[dict[str, Any]], *, owner: str | None = None,
                   finding_ids: set[int] | None = None) -> list[dict[str, Any]]:
    """The actions a filtered page shows, in rank order, each keeping its rank.

    :param actions: the roadmap document's actions.
    :param owner: only this owner's actions.
    :param finding_ids: for one site, the open findings counted for it
        (:func:`radguard.checks.findings.open_finding_ids`): a finding action then lists only
        those and is hidden without any; a checklist action is organization-wide and stays.
    """
    out = []
    for a in actions:
        if owner and a["owner"] != owner:
            continue
        if finding_ids is not None and a["kind"] == "finding":
            findings = [f for f in a["why"]["findings"] if f["id"] in finding_ids]
            if not findings:
                continue
            a = {**a, "why": {**a["why"], "findings": findings}}
        out.append(a)
    return out


@router.get("/roadmap")
def roadmap_page(request: Request, site: str = "", owner: str = "",
                 principal: Principal = Depends(require("viewer")),
                 session: Session = Depends(db_session)) -> Response:
    """The whole ranked roadmap, filtered by site and owner (GET form; the chosen values stay)."""
    doc = _roadmap(session)
    try:
        ids = open_finding_ids(session, site=site) if site else None
    except RadguardError as exc:
        raise http_error(exc) from None
    shown = filter_actions(doc["actions"], owner=owner or None, finding_ids=ids)
    tickets = roadmap_tickets(session)
    rows = [{**a, "plain": plain_action(a), "tickets": tickets.get(a["id"], {})} for a in shown]
    return render(request, "roadmap.html", {
        "doc": doc, "rows": rows, "site": site, "owner": owner, "capacity": capacity_line(doc),
        "sites": site_codes(session),
        "owners": sorted({a["owner"] for a in doc["actions"] if a["owner"]}),
        "titles": {a["id"]: plain_action(a)["title"] for a in doc["actions"]},
    })


@router.get("/roadmap.csv")
def roadmap_csv(principal: Principal = Depends(require("viewer")),
                session: Session = Depends(db_session)) -> Response:
    """The roadmap as ``radguard roadmap --format csv`` writes it."""
    doc = _roadmap(session)
    return Response(to_csv(doc), media_type="text/csv; charset=utf-8",
                    headers=attachment(f"radguard-roadmap-{doc['as_of']}.csv"))


@router.get("/roadmap.json")
def roadmap_json(principal: Principal = Depends(require("viewer")),
                 session: Session = Depends(db_session)) -> Response:
    """The roadmap document as ``radguard roadmap --json`` prints it."""
    doc = _roadmap(session)
    return JSONResponse(jsonable_encoder(doc), headers=attachment(f"radguard-roadmap-{doc['as_of']}.json"))
