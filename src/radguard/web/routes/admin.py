"""User administration and the audit log (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.db.models.web import ROLES, User
from radguard.errors import RadguardError
from radguard.web.accounts import admin_count, create_user
from radguard.web.app import render
from radguard.web.audit import export_csv, recent, record
from radguard.web.security import Principal, client_ip, db_session, require

router = APIRouter(include_in_schema=False)


@router.get("/admin/users")
async def users_page(request: Request, principal: Principal = Depends(require("admin")),
                     session: Session = Depends(db_session)) -> Response:
    users = list(session.scalars(select(User).order_by(User.username)))
    return render(request, "admin_users.html", {"users": users, "roles": ROLES})


@router.post("/admin/users")
async def add_user(request: Request, username: str = Form(...), password: str = Form(...),
                   role: str = Form(...), full_name: str = Form(""),
                   principal: Principal = Depends(require("admin")),
                   session: Session = Depends(db_session)) -> Response:
    try:
        create_user(session, username.strip(), password, role, full_name or None)
    except RadguardError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    record(session, principal.name, "user.add", target=username, detail={"role": role}, ip=client_ip(request))
    session.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/disable")
async def disable_user(request: Request, user_id: int, principal: Principal = Depends(require("admin")),
                       session: Session = Depends(db_session)) -> Response:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status_code=404, detail="no such user")
    if user.role == "admin" and user.active and admin_count(session) <= 1:
        raise HTTPException(status_code=400, detail="refusing to disable the last administrator")
    user.active = False
    record(session, principal.name, "user.disable", target=user.username, ip=client_ip(request))
    session.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/audit")
async def audit_page(request: Request, page: int = Query(1, ge=1, le=1_000_000),
                     principal: Principal = Depends(require("admin")),
                     session: Session = Depends(db_session)) -> Response:
    page = max(page, 1)
    events = recent(session, limit=100, offset=(page - 1) * 100)
    return render(request, "audit.html", {"events": events, "page": page})


@router.get("/admin/audit.csv")
async def audit_export(principal: Principal = Depends(require("admin")),
                       session: Session = Depends(db_session)) -> Response:
    return Response(export_csv(session), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="radguard-audit.csv"'})
