"""The signed-in user's own account: password change, two-factor (TOTP) enrolment and recovery codes."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from radguard.db.models.web import User
from radguard.errors import RadguardError
from radguard.web.accounts import AuthError, change_own_password, is_directory_account
from radguard.web.app import render
from radguard.web.audit import record
from radguard.web.identity import totp
from radguard.web.security import Principal, client_ip, db_session, require
from radguard.web.throttle import LoginThrottle

router = APIRouter(include_in_schema=False)


def _me(session: Session, principal: Principal) -> User:
    if principal.via != "session":
        raise HTTPException(status_code=403, detail="manage your own account from a browser session")
    user = session.get(User, principal.user_id)
    if user is None:
        raise HTTPException(status_code=404, detail="no such user")
    return user


def _page(request: Request, session: Session, user: User, **extra: object) -> Response:
    policy = request.app.state.mfa_policy
    return render(request, "account_mfa.html", {
        "enabled": user.totp_enabled, "required": totp.mfa_required(user, policy),
        "codes_left": totp.recovery_codes_left(session, user), **extra})


@router.get("/account/mfa")
async def mfa_page(request: Request, principal: Principal = Depends(require("viewer")),
                   session: Session = Depends(db_session)) -> Response:
    return _page(request, session, _me(session, principal))


@router.post("/account/mfa/start")
async def mfa_start(request: Request, principal: Principal = Depends(require("viewer")),
                    session: Session = Depends(db_session)) -> Response:
    user = _me(session, principal)
    try:
        uri = totp.begin_enrolment(user)
    except RadguardError as exc:
        raise HTTPException(status_code=400, detail=str(exc)) from None
    record(session, principal.name, "mfa.enrol_started", target=principal.name, ip=client_ip(request))
    session.commit()
    return _page(request, session, user, qr=totp.qr_svg(uri), secret=user.totp_secret)


@router.post("/account/mfa/confirm")
async def mfa_confirm(request: Request, code: str = Form(...), principal: Principal = Depends(require("viewer")),
                      session: Session = Depends(db_session)) -> Response:
    user = _me(session, principal)
    try:
        codes = totp.confirm_enrolment(session, user, code[:20])
    except RadguardError as exc:
        record(session, principal.name, "mfa.enrol_failed", target=principal.name, ip=client_ip(request))
        session.commit()
        raise HTTPException(status_code=400, detail=str(exc)) from None
    record(session, principal.name, "mfa.enabled", target=principal.name, ip=client_ip(request))
    session.commit()
    return _page(request, session, user, recovery_codes=codes)


@router.post("/account/mfa/recovery-codes")
async def mfa_new_codes(request: Request, code: str = Form(...), principal: Principal = Depends(require("viewer")),
                        session: Session = Depends(db_session)) -> Response:
    user = _me(session, principal)
    if totp.verify(session, user, code[:20]) != "totp":
        session.rollback()
        raise HTTPException(status_code=400, detail="enter a current code from the authenticator app")
    codes = totp.regenerate_recovery_codes(session, user)
    record(session, principal.name, "mfa.recovery_codes_replaced", target=principal.name, ip=client_ip(request))
    session.commit()
    return _page(request, session, user, recovery_codes=codes)


@router.post("/account/mfa/disable")
async def mfa_disable(request: Request, code: str = Form(...), principal: Principal = Depends(require("viewer")),
                      session: Session = Depends(db_session)) -> Response:
    user = _me(session, principal)
    if totp.mfa_required(user, request.app.state.mfa_policy):
        raise HTTPException(status_code=403, detail="policy requires two-factor sign-in for this account")
    if totp.verify(session, user, code[:20]) is None:
        session.rollback()
        raise HTTPException(status_code=400, detail="enter a current code or a recovery code")
    totp.disable(session, user)
    record(session, principal.name, "mfa.disabled", target=principal.name, ip=client_ip(request))
    session.commit()
    return _page(request, session, user)


def _password_page(request: Request, user: User, error: str | None = None, status: int = 200) -> Response:
    return render(request, "account_password.html", {"forced": user.must_change_password, "error": error,
                                                      "directory": is_directory_account(user)},
                  status_code=status)


@router.get("/account/password")
async def password_page(request: Request, principal: Principal = Depends(require("viewer")),
                        session: Session = Depends(db_session)) -> Response:
    return _password_page(request, _me(session, principal))


@router.post("/account/password")
async def password_change(request: Request, current: str = Form(...), new: str = Form(...),
                          confirm: str = Form(...), principal: Principal = Depends(require("viewer")),
                          session: Session = Depends(db_session)) -> Response:
    """Replace the signed-in user's password; the only page a forced reset leaves reachable.

    The current password is checked under the sign-in throttle (a held session must not become
    a way to guess it), and the other sessions of the user end.
    """
    user = _me(session, principal)
    forced = user.must_change_password
    ip = client_ip(request)
    if new != confirm:
        return _password_page(request, user, "The two new passwords differ; type the same one twice.", 400)
    throttle: LoginThrottle = request.app.state.login_throttle
    # The throttle writes in its own transaction: end this session's read first (on SQLite a
    # write committed inside a transaction that read first makes that transaction's writes fail).
    session.commit()
    if throttle.attempt(user.username, ip).wait > 0:
        return _password_page(request, user, "Too many wrong attempts; wait a minute and try again.", 429)
    try:
        ended = change_own_password(session, user, current, new, keep_session=principal.session_id)
    except AuthError:
        session.rollback()
        record(session, principal.name, "password.change_failed", target=principal.name,
               detail={"reason": "wrong current password"}, ip=ip)
        session.commit()
        return _password_page(request, user, "The current password is wrong.", 401)
    except RadguardError as exc:
        session.rollback()
        throttle.succeeded(user.username, ip)  # the current password was right; the new one is refused
        return _password_page(request, user, str(exc), 400)
    record(session, principal.name, "password.change", target=principal.name,
           detail={"forced": forced, "other_sessions_ended": ended}, ip=ip)
    session.commit()
    throttle.succeeded(user.username, ip)
    return RedirectResponse("/", status_code=303)
