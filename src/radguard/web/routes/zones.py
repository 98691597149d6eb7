"""Per-zone view: what was observed in and out of each zone, what the policy allows, what violates it.

Facts come from the segmentation stage (``checks.segmentation.judge`` and ``zone_views``, with the
default policy, as the flow checks and the technical report use it); this page only lays them out.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from radguard.checks.segmentation import judge, load_policy, zone_views
from radguard.web.app import render
from radguard.web.security import Principal, db_session, require

router = APIRouter(include_in_schema=False)


@router.get("/zones")
async def zones_page(request: Request, principal: Principal = Depends(require("viewer")),
                     session: Session = Depends(db_session)) -> Response:
    policy = load_policy(None)
    verdicts = judge(session, policy)
    return render(request, "zones.html", {"zones": zone_views(verdicts, policy), "policy": policy,
                                          "violations": sum(1 for v in verdicts if v.violation),
                                          "flows": len(verdicts)})
