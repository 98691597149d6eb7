"""Sign-in and sign-out."""

from __future__ import annotations

import asyncio
import secrets
import time

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from radguard.web.accounts import SIGN_IN_FAILED, AuthError, authenticate, close_session, open_session
from radguard.web.app import render
from radguard.web.audit import record
from radguard.web.identity import totp
from radguard.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    LoginThrottle,
    Principal,
    client_ip,
    db_session,
    require,
)

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never redirect a user to another host after sign-in.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", {"login_csrf": token, "error": error,
                                              "next": _safe_next(request.query_params.get("next"))},
                      status_code=status)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.app.state.secure_cookies, max_age=3600, path="/login")
    return response


@router.get("/login")
async def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
async def login(
    request: Request,
    username: str = Form(...),
    password: str = Form(...),
    code: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/"),
    session: Session = Depends(db_session),
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not secrets.compare_digest(cookie, csrf_token):
        return _login_page(request, "Your sign-in form expired; please try again.", status=403)
    ip = client_ip(request)
    throttle: LoginThrottle = request.app.state.login_throttle
    # The name typed is not an identity: failures are recorded as "anonymous", the name in detail.
    typed = {"username": username[:100]}
    verdict = throttle.attempt(username, ip)
    if verdict.wait > 0:
        # Same answer and about the same time as a wrong password, without the hash's CPU and
        # memory: a throttled flood must not become a way to exhaust the server.
        await asyncio.sleep(request.app.state.sign_in_seconds)
        if verdict.audit:
            record(session, "anonymous", "login.throttled",
                   detail={**typed, "limit": verdict.key, "wait_seconds": round(verdict.wait, 1)}, ip=ip)
            session.commit()
        return _login_page(request, SIGN_IN_FAILED, status=401)
    started = time.perf_counter()
    try:
        user = authenticate(session, username, password)
        factor = totp.verify(session, user, code[:20]) if user.totp_enabled else None
        if user.totp_enabled and factor is None:
            # A right password with a wrong, missing or reused code: the same answer as a wrong
            # password (which factor failed is not said), counted by the same throttle.
            record(session, "anonymous", "login.mfa_failed", detail=typed, ip=ip)
            session.commit()
            return _login_page(request, SIGN_IN_FAILED, status=401)
    except AuthError:
        took = time.perf_counter() - started
        request.app.state.sign_in_seconds = 0.8 * request.app.state.sign_in_seconds + 0.2 * took
        record(session, "anonymous", "login.failed", detail=typed, ip=ip)
        session.commit()
        return _login_page(request, SIGN_IN_FAILED, status=401)
    throttle.succeeded(username, ip)
    new = open_session(session, user, ip)
    detail: dict[str, object] | None = {"factor": factor} if factor else None
    if factor == "recovery":
        detail = {"factor": factor, "recovery_codes_left": totp.recovery_codes_left(session, user)}
    record(session, user.username, "login", detail=detail, ip=ip)
    session.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, new.token, httponly=True, samesite="strict",
                        secure=request.app.state.secure_cookies, max_age=8 * 3600, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, principal: Principal = Depends(require("viewer")),
                 session: Session = Depends(db_session)) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        close_session(session, token)
    record(session, principal.name, "logout", ip=client_ip(request))
    session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
