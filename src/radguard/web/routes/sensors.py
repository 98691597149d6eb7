"""The fleet: enrolled sensors (last seen, version, site, jobs waiting, last result, clock skew) and jobs.

"Queue (broker)" is the depth of the site's Redis queue read live from the broker named by
``RADGUARD_BROKER_URL``; when the broker does not answer the page says so instead of a number.

Facts come from radguard.distributed.central; revoking a sensor here is the same as
``radguard sensor revoke`` and is recorded in the audit log.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from radguard.discovery.sensors import job_rows, sensor_rows
from radguard.distributed.central import revoke_sensor
from radguard.errors import NotFoundError
from radguard.web.app import render
from radguard.web.audit import record
from radguard.web.security import Principal, client_ip, db_session, require

router = APIRouter(include_in_schema=False)


def _queue_depths(sites: list[str]) -> tuple[dict[str, int], str | None]:
    """Jobs waiting on the broker per site, or the reason there is no number (no broker, unreachable)."""
    from radguard.distributed.broker import BrokerUnreachable, queue_depths
    from radguard.distributed.schedules import ENV_BROKER_CA, ENV_BROKER_URL

    url, ca = os.environ.get(ENV_BROKER_URL), os.environ.get(ENV_BROKER_CA)
    if not url:
        return {}, f"no broker configured ({ENV_BROKER_URL})"
    try:
        return queue_depths(url, Path(ca) if ca else None, sites), None
    except BrokerUnreachable as exc:
        return {}, str(exc)


@router.get("/sensors")
async def sensors_page(request: Request, principal: Principal = Depends(require("viewer")),
                       session: Session = Depends(db_session)) -> Response:
    sensors = sensor_rows(session, scope=principal.scope)
    depths, broker_error = await run_in_threadpool(_queue_depths, sorted({s["site"] for s in sensors}))
    return render(request, "sensors.html", {"sensors": sensors, "depths": depths, "broker_error": broker_error})


@router.get("/sensors/jobs")
async def jobs_page(request: Request, principal: Principal = Depends(require("viewer")),
                    session: Session = Depends(db_session)) -> Response:
    return render(request, "sensor_jobs.html", {"jobs": job_rows(session, scope=principal.scope)})


@router.post("/sensors/{sensor_id}/revoke")
async def revoke_page(request: Request, sensor_id: str, principal: Principal = Depends(require("admin")),
                      session: Session = Depends(db_session)) -> Response:
    try:
        revoke_sensor(session, sensor_id)
    except NotFoundError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    record(session, principal.name, "sensor.revoke", target=sensor_id, ip=client_ip(request))
    session.commit()
    return RedirectResponse("/sensors", status_code=303)
