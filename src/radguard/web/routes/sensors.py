"""The fleet: enrolled sensors (last seen, version, site, jobs waiting, last result, clock skew) and jobs.

Facts come from radguard.distributed.central; revoking a sensor here is the same as
``radguard sensor revoke`` and is recorded in the audit log.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from radguard.discovery.sensors import job_rows, sensor_rows
from radguard.distributed.central import revoke_sensor
from radguard.errors import NotFoundError
from radguard.web.app import render
from radguard.web.audit import record
from radguard.web.security import Principal, client_ip, db_session, require

router = APIRouter(include_in_schema=False)


@router.get("/sensors")
async def sensors_page(request: Request, principal: Principal = Depends(require("viewer")),
                       session: Session = Depends(db_session)) -> Response:
    return render(request, "sensors.html", {"sensors": sensor_rows(session)})


@router.get("/sensors/jobs")
async def jobs_page(request: Request, principal: Principal = Depends(require("viewer")),
                    session: Session = Depends(db_session)) -> Response:
    return render(request, "sensor_jobs.html", {"jobs": job_rows(session)})


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
