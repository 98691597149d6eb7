"""Per-zone view: what was observed in and out of each zone, what the policy allows, what violates it.

Facts come from the segmentation stage: ``checks.segmentation.judge_configured`` (each flow with its
site's stored policy, as the flow checks and the technical report judge it), ``site_verdicts``
(the flows touching a site's assets, within the caller's sites), ``policy_for`` and
``zone_views``; this page only lays them out. ``?site=CODE`` narrows it to one site.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from radguard.checks.segmentation import judge_configured, policy_for, site_verdicts, zone_views
from radguard.inventory.queries import site_codes
from radguard.web.app import render
from radguard.web.security import Principal, db_session, require

router = APIRouter(include_in_schema=False)


@router.get("/zones")
async def zones_page(request: Request, site: str = "", principal: Principal = Depends(require("viewer")),
                     session: Session = Depends(db_session)) -> Response:
    sites = site_codes(session, scope=principal.scope)
    if site and site not in sites:
        raise HTTPException(404, f"no site {site!r}")
    policy = policy_for(session, site or None)
    verdicts = site_verdicts(session, judge_configured(session), site or None, scope=principal.scope)
    return render(request, "zones.html", {"zones": zone_views(verdicts, policy), "policy": policy,
                                          "violations": sum(1 for v in verdicts if v.violation),
                                          "flows": len(verdicts), "site": site, "sites": sites})
