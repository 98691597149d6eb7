"""User administration and the audit log (admin only)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from radguard.db.models.web import ROLES, User
from radguard.errors import RadguardError
from radguard.inventory.queries import site_codes
from radguard.web.accounts import (
    create_user,
    disable_user,
    enable_user,
    force_password_change,
    is_directory_account,
    list_sessions,
    revoke_sessions,
    session_view,
    set_role,
    set_user_sites,
    user_sites,
)
from radguard.web.app import render
from radguard.web.audit import export_csv, recent, record
from radguard.web.security import Principal, client_ip, db_session, require

router = APIRouter(include_in_schema=False)


@router.get("/admin/users")
async def users_page(request: Request, principal: Principal = Depends(require("admin")),
                     session: Session = Depends(db_session)) -> Response:
    users = list(session.scalars(select(User).order_by(User.username)))
    limits = {u.id: sorted(user_sites(session, u) or ()) for u in users}
    directory = {u.id for u in users if is_directory_account(u)}
    return render(request, "admin_users.html", {"users": users, "roles": ROLES, "limits": limits,
                                                "directory": directory, "sites": site_codes(session)})


def _form_sites(form: FormData) -> list[str]:
    """The ticked ``sites`` checkboxes of a form."""
    return [v for v in form.getlist("sites") if isinstance(v, str) and v]


@router.post("/admin/users")
async def add_user(request: Request, username: str = Form(...), password: str = Form(...),
                   role: str = Form(...), full_name: str = Form(""),
                   principal: Principal = Depends(require("admin")),
                   session: Session = Depends(db_session)) -> Response:
    sites = _form_sites(await request.form())
    try:
        create_user(session, username.strip(), password, role, full_name or None, sites=sites)
    except RadguardError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    record(session, principal.name, "user.add", target=username,
           detail={"role": role, "sites": sorted(set(sites)) or None}, ip=client_ip(request))
    session.commit()
    return RedirectResponse("/admin/users", status_code=303)


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status_code=404, detail="no such user")
    return user


def _account_action(request: Request, session: Session, principal: Principal, user_id: int, event: str,
                    act: Callable[[User], dict[str, object]]) -> Response:
    """Run an administrator's action on one account, audit it as ``event`` and go back to the list.

    Disabling and forcing a reset differ only in what they do and what the audit entry records;
    both refuse in words (400) what the identity stage refuses, and write nothing then.
    """
    user = _user(session, user_id)
    try:
        detail = act(user)
    except RadguardError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    record(session, principal.name, event, target=user.username, detail=detail, ip=client_ip(request))
    session.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/disable")
async def disable_user_route(request: Request, user_id: int, principal: Principal = Depends(require("admin")),
                             session: Session = Depends(db_session)) -> Response:
    """The account can no longer sign in; its sessions end and its API tokens are revoked."""
    def act(user: User) -> dict[str, object]:
        revoked, ended = disable_user(session, user)
        return {"tokens_revoked": revoked, "sessions_ended": ended}
    return _account_action(request, session, principal, user_id, "user.disable", act)


@router.post("/admin/users/{user_id}/force-reset")
async def force_reset_route(request: Request, user_id: int, principal: Principal = Depends(require("admin")),
                            session: Session = Depends(db_session)) -> Response:
    """The user must choose a new password at the next sign-in; their sessions end, tokens are revoked."""
    return _account_action(request, session, principal, user_id, "user.force-reset",
                           lambda user: {"tokens_revoked": force_password_change(session, user)})


@router.get("/admin/users/{user_id}/sessions")
async def sessions_page(request: Request, user_id: int, principal: Principal = Depends(require("admin")),
                        session: Session = Depends(db_session)) -> Response:
    """The user's live sessions: when made and last used, from where, which browser, how signed in."""
    user = _user(session, user_id)
    rows = [session_view(ws) for ws in list_sessions(session, user)]
    # Like the audit log, this shows who works when and from where: reading it is audited.
    record(session, principal.name, "sessions.view", target=user.username, ip=client_ip(request))
    session.commit()
    return render(request, "admin_sessions.html", {"user": user, "rows": rows,
                                                   "mine": principal.session_id})


@router.post("/admin/users/{user_id}/sessions/revoke")
async def revoke_sessions_route(request: Request, user_id: int, session_id: str = Form(""),
                                principal: Principal = Depends(require("admin")),
                                session: Session = Depends(db_session)) -> Response:
    """End one session (``session_id``) or, with none given, every session of the user."""
    user = _user(session, user_id)
    if session_id and not session_id.isdigit():
        raise HTTPException(status_code=400, detail="session_id: give a session number, or none for all")
    try:
        ended = revoke_sessions(session, user, int(session_id) if session_id else None)
    except RadguardError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None
    record(session, principal.name, "session.revoke", target=user.username,
           detail={"session": int(session_id) if session_id else "all", "ended": ended}, ip=client_ip(request))
    session.commit()
    return RedirectResponse(f"/admin/users/{user.id}/sessions", status_code=303)


@router.post("/admin/users/{user_id}/enable")
async def enable_user_route(request: Request, user_id: int, principal: Principal = Depends(require("admin")),
                            session: Session = Depends(db_session)) -> Response:
    user = _user(session, user_id)
    try:
        enable_user(session, user)
    except RadguardError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    record(session, principal.name, "user.enable", target=user.username, ip=client_ip(request))
    session.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/role")
async def role_route(request: Request, user_id: int, role: str = Form(...),
                     principal: Principal = Depends(require("admin")),
                     session: Session = Depends(db_session)) -> Response:
    user = _user(session, user_id)
    try:
        previous = set_role(session, user, role)
    except RadguardError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    record(session, principal.name, "user.role", target=user.username, detail={"from": previous, "to": role},
           ip=client_ip(request))
    session.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{user_id}/sites")
async def sites_route(request: Request, user_id: int, principal: Principal = Depends(require("admin")),
                      session: Session = Depends(db_session)) -> Response:
    """Limit the user to the ticked sites; none ticked lifts the limit (every site)."""
    user = _user(session, user_id)
    try:
        previous, now = set_user_sites(session, user, _form_sites(await request.form()))
    except RadguardError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    record(session, principal.name, "user.sites", target=user.username,
           detail={"from": previous or None, "to": now or None}, ip=client_ip(request))
    session.commit()
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/admin/audit")
async def audit_page(request: Request, page: int = Query(1, ge=1, le=1_000_000),
                     principal: Principal = Depends(require("admin")),
                     session: Session = Depends(db_session)) -> Response:
    events = recent(session, limit=100, offset=(page - 1) * 100)
    # Reading the audit log is itself audited: it shows who works when and from where.
    record(session, principal.name, "audit.view", detail={"page": page}, ip=client_ip(request))
    session.commit()
    return render(request, "audit.html", {"events": events, "page": page})


@router.get("/admin/audit.csv")
async def audit_export(request: Request, principal: Principal = Depends(require("admin")),
                       session: Session = Depends(db_session)) -> Response:
    record(session, principal.name, "audit.export", detail={"format": "csv"}, ip=client_ip(request))
    session.commit()
    return Response(export_csv(session), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="radguard-audit.csv"'})
