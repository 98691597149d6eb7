"""Sign-in and sign-out."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.db.models.web import User
from radguard.web.accounts import (
    SIGN_IN_FAILED,
    AuthError,
    authenticate,
    close_session,
    directory_user,
    is_directory_account,
    open_session,
)
from radguard.web.app import render
from radguard.web.audit import record
from radguard.web.identity import ldap, totp
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
log = logging.getLogger("radguard.web.auth")
DIRECTORY_DOWN = ("The hospital directory cannot be reached, so directory accounts cannot sign in now. "
                  "Local break-glass accounts still can; ask IT to check the directory connection.")


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
    directory: ldap.LdapConfig | None = request.app.state.identity.ldap
    local = session.scalar(select(User).where(User.username == username))
    if directory is not None and (local is None or is_directory_account(local)):
        return await _directory_login(request, session, directory, username, password, next, ip)
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
    detail: dict[str, object] = {"factor": factor} if factor else {}
    if factor == "recovery":
        detail = {"factor": factor, "recovery_codes_left": totp.recovery_codes_left(session, user)}
    if directory is not None:
        # With a directory configured a local password is the break-glass path: always visible.
        detail["break_glass"] = True
        log.warning("break-glass sign-in with local account %s from %s", user.username, ip)
    record(session, user.username, "login", detail=detail or None, ip=ip)
    session.commit()
    return _signed_in(request, session, user, ip, next)


def _signed_in(request: Request, session: Session, user: User, ip: str | None, next: str) -> Response:
    new = open_session(session, user, ip)
    session.commit()
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, new.token, httponly=True, samesite="strict",
                        secure=request.app.state.secure_cookies, max_age=8 * 3600, path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


async def _directory_login(request: Request, session: Session, directory: ldap.LdapConfig, username: str,
                           password: str, next: str, ip: str | None) -> Response:
    """Sign in through LDAP/AD; the role is whatever the directory's groups say today."""
    typed = {"username": username[:100], "source": "ldap"}
    try:
        who = await asyncio.to_thread(ldap.authenticate, directory, username, password)
        user, previous = directory_user(session, who.username, who.role, "ldap")
    except ldap.DirectoryUnreachable as exc:
        log.error("%s", exc)
        record(session, "anonymous", "login.directory_unreachable", detail={**typed, "error": str(exc)[:300]}, ip=ip)
        session.commit()
        return _login_page(request, DIRECTORY_DOWN, status=503)
    except (ldap.LdapSignInRefused, AuthError) as exc:
        reason = exc.reason if isinstance(exc, ldap.LdapSignInRefused) else "account disabled in radguard"
        record(session, "anonymous", "login.failed", detail={**typed, "reason": reason[:200]}, ip=ip)
        session.commit()
        return _login_page(request, SIGN_IN_FAILED, status=401)
    request.app.state.login_throttle.succeeded(username, ip)
    detail: dict[str, object] = {"source": "ldap", "role": user.role}
    if previous:
        detail["previous_role"] = previous
    record(session, user.username, "login", detail=detail, ip=ip)
    return _signed_in(request, session, user, ip, next)


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
