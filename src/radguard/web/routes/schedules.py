"""Schedules in the web app: the list, a run's history, and create / pause / resume / run now.

Every action calls :mod:`radguard.distributed.schedules` — the same functions as ``radguard
schedule`` — and is recorded in the audit log. Discover schedules need the broker: the web
process reads it from ``RADGUARD_BROKER_URL`` (and ``RADGUARD_BROKER_CA``), like the CLI.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from radguard.db.session import Database
from radguard.distributed.schedules import (
    AUDIENCES,
    KINDS,
    REPORT_FORMATS,
    add_schedule,
    env_sender,
    history,
    list_schedules,
    run_schedule,
    set_paused,
)
from radguard.errors import RadguardError
from radguard.validate import local_moment, site_code, time_zone
from radguard.web.app import local_zone, render
from radguard.web.audit import record
from radguard.web.routes._forms import http_error
from radguard.web.security import Principal, client_ip, db_session, require

router = APIRouter(include_in_schema=False)


def _database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


def _audit(request: Request, session: Session, principal: Principal, action: str, name: str,
           detail: dict[str, Any] | None = None) -> None:
    record(session, principal.name, action, target=f"schedule:{name}", ip=client_ip(request), detail=detail)
    session.commit()


@router.get("/schedules")
async def schedules_page(request: Request, principal: Principal = Depends(require("viewer"))) -> Response:
    listed = list_schedules(_database(request), scope=principal.scope)
    return render(request, "schedules.html", {"schedules": listed, "kinds": KINDS,
                                              "audiences": AUDIENCES, "formats": REPORT_FORMATS, "error": None})


def _params(kind: str, form: dict[str, str]) -> dict[str, Any]:
    from radguard.discovery.targets import parse_ports

    if kind == "discover":
        return {"targets": form.get("targets", "").split(), "ports": list(parse_ports(form.get("ports") or "104")),
                "level": int(form.get("level") or 2)}
    if kind == "feeds":
        source = form.get("source", "").strip()
        if source.startswith(("http://", "https://")):
            return {"kev_url": source}
        return {"directory": source or None}
    if kind == "backup":
        return {"set": form.get("set", "").strip(), "backup": form.get("backup", "").strip(),
                "manifest": form.get("manifest", "").strip()}
    if kind == "report":
        return {"directory": form.get("directory", "").strip() or None, "audience": form.get("audience", "executive"),
                "format": form.get("format", "pdf")}
    return {}


@router.post("/schedules")
async def create_schedule(request: Request, principal: Principal = Depends(require("admin")),
                          session: Session = Depends(db_session)) -> Response:
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    session.commit()  # the sign-in check may have written; SQLite allows one writer at a time
    name, kind = form.get("name", "").strip(), form.get("kind", "")
    try:
        site = site_code(form["site"]) if form.get("site") else None
        every = int(form.get("every_hours") or 0)
        monthly = form.get("repeat") == "monthly"
        schedule_zone = form.get("timezone", "").strip() or None
        # The first run is typed in the schedule's own zone when one is given, else the page's.
        first = form.get("start", "").strip()
        start = local_moment(first, time_zone(schedule_zone) if schedule_zone else local_zone(request)) \
            if first else None
        add_schedule(_database(request), name, kind, every or (720 if monthly else 0), site, _params(kind, form),
                     start=start, monthly=monthly, timezone=schedule_zone,
                     month_day=(form.get("month_day", "").strip() or None) if monthly else None,
                     window=form.get("window", "").strip() or None)
    except (RadguardError, ValueError) as exc:
        return render(request, "schedules.html", {"schedules": list_schedules(_database(request)), "kinds": KINDS,
                                                  "audiences": AUDIENCES, "formats": REPORT_FORMATS,
                                                  "error": str(exc), "typed": form}, status_code=400)
    _audit(request, session, principal, "schedule.add", name, {"kind": kind})
    return RedirectResponse("/schedules", status_code=303)


@router.get("/schedules/{name}")
async def schedule_page(request: Request, name: str, principal: Principal = Depends(require("viewer"))) -> Response:
    try:
        runs = history(_database(request), name, scope=principal.scope)
    except RadguardError as exc:
        raise http_error(exc) from None
    schedule = next(s for s in list_schedules(_database(request), scope=principal.scope) if s["name"] == name)
    return render(request, "schedule.html", {"schedule": schedule, "runs": runs})


@router.post("/schedules/{name}/{action}")
def schedule_action(request: Request, name: str, action: str, principal: Principal = Depends(require("admin")),
                    session: Session = Depends(db_session)) -> Response:
    """pause, resume or run (now, paused or not); sync so a run-now does not block the event loop."""
    database = _database(request)
    session.commit()  # the sign-in check may have written; SQLite allows one writer at a time
    try:
        if action in ("pause", "resume"):
            set_paused(database, name, action == "pause")
            detail: dict[str, Any] = {}
        elif action == "run":
            result = run_schedule(database, name, env_sender())
            detail = {"status": result["status"] if result else None}
        else:
            raise HTTPException(status_code=404, detail=f"no action {action!r}; use pause, resume or run")
    except RadguardError as exc:
        raise http_error(exc) from None
    _audit(request, session, principal, f"schedule.{action}", name, detail)
    return RedirectResponse(f"/schedules/{name}" if action == "run" else "/schedules", status_code=303)
