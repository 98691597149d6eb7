"""Sign-in and sign-out."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
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
from radguard.web.identity import ldap, oidc, totp
from radguard.web.security import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Principal,
    client_ip,
    db_session,
    require,
)
from radguard.web.throttle import LoginThrottle

router = APIRouter(include_in_schema=False)
log = logging.getLogger("radguard.web.auth")
DIRECTORY_DOWN = ("The hospital directory cannot be reached, so directory accounts cannot sign in now. "
                  "Local break-glass accounts still can; ask IT to check the directory connection.")
PROVIDER_DOWN = ("The single sign-on provider cannot be reached, so its accounts cannot sign in now. "
                 "Local break-glass accounts still can; ask IT to check the provider connection.")
OIDC_FAILED = "The single sign-on could not be completed; please try again."
OIDC_NO_ROLE = ("Your single sign-on account has no radguard role. Ask your administrator to add you to "
                "a group that is mapped to a radguard role.")
OIDC_COOKIE = "radguard_oidc"
OIDC_COOKIE_SECONDS = 600  # time allowed at the provider between leaving and coming back


def _safe_next(target: str | None) -> str:
    # Only same-site paths: never redirect a user to another host after sign-in.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"


def _login_page(request: Request, error: str | None = None, status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    sso: oidc.OidcConfig | None = request.app.state.identity.oidc
    response = render(request, "login.html", {"login_csrf": token, "error": error,
                                              "next": _safe_next(request.query_params.get("next")),
                                              "sso_name": sso.name if sso else None},
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
    detail: dict[str, object] = {"factor": factor} if factor else {}
    if factor == "recovery":
        detail = {"factor": factor, "recovery_codes_left": totp.recovery_codes_left(session, user)}
    if directory is not None or request.app.state.identity.oidc is not None:
        # With a directory or provider configured a local password is the break-glass path: always visible.
        detail["break_glass"] = True
        log.warning("break-glass sign-in with local account %s from %s", user.username, ip)
    if user.must_change_password:
        detail["must_change_password"] = True
    record(session, user.username, "login", detail=detail or None, ip=ip)
    session.commit()
    # Between two of this session's transactions: on SQLite the throttle's own write must not
    # land inside a transaction of this session that read first (it would then fail as locked).
    throttle.succeeded(username, ip)
    return _signed_in(request, session, user, ip, next)


def _signed_in(request: Request, session: Session, user: User, ip: str | None, next: str, *,
               method: str = "local", id_token: str | None = None) -> Response:
    new = open_session(session, user, ip, method=method, user_agent=request.headers.get("user-agent"),
                       id_token=id_token)
    session.commit()
    # A forced reset: the change-password page first (every other route would send them there anyway).
    target = "/account/password" if user.must_change_password else _safe_next(next)
    response = RedirectResponse(target, status_code=303)
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
    detail: dict[str, object] = {"source": "ldap", "role": user.role}
    if previous:
        detail["previous_role"] = previous
    record(session, user.username, "login", detail=detail, ip=ip)
    response = _signed_in(request, session, user, ip, next, method="ldap")  # commits
    request.app.state.login_throttle.succeeded(username, ip)
    return response


def _oidc_serializer(config: oidc.OidcConfig) -> URLSafeTimedSerializer:
    # Keyed from the configured client secret, so every web worker accepts the cookie another one set.
    return URLSafeTimedSerializer(config.cookie_key(), salt="radguard-oidc-pending")


async def _oidc_provider(request: Request, config: oidc.OidcConfig) -> oidc.Provider:
    provider: oidc.Provider | None = getattr(request.app.state, "oidc_provider", None)
    if provider is None:  # discovered at first use; retried while the provider is unreachable
        provider = await asyncio.to_thread(oidc.discover, config)
        request.app.state.oidc_provider = provider
    return provider


def _oidc_config(request: Request) -> oidc.OidcConfig:
    config: oidc.OidcConfig | None = request.app.state.identity.oidc
    if config is None:
        raise HTTPException(status_code=404)
    return config


def _provider_down(request: Request, session: Session, exc: oidc.ProviderUnreachable, ip: str | None) -> Response:
    log.error("%s", exc)
    record(session, "anonymous", "login.provider_unreachable", detail={"source": "oidc", "error": str(exc)[:300]},
           ip=ip)
    session.commit()
    return _login_page(request, PROVIDER_DOWN, status=503)


@router.get("/auth/oidc/start")
async def oidc_start(request: Request, next: str = "/", session: Session = Depends(db_session)) -> Response:
    """Send the browser to the provider with fresh state, nonce and PKCE challenge (kept in a signed cookie)."""
    config = _oidc_config(request)
    try:
        provider = await _oidc_provider(request, config)
    except oidc.ProviderUnreachable as exc:
        return _provider_down(request, session, exc, client_ip(request))
    url, pending = oidc.authorization_url(config, provider, _safe_next(next))
    response = RedirectResponse(url, status_code=303)
    cookie = _oidc_serializer(config).dumps([pending.state, pending.nonce, pending.code_verifier, pending.next])
    # Lax, not Strict: the provider's redirect back is a cross-site top-level navigation.
    response.set_cookie(OIDC_COOKIE, cookie, httponly=True, samesite="lax", secure=request.app.state.secure_cookies,
                        max_age=OIDC_COOKIE_SECONDS, path="/auth/oidc")
    return response


@router.get("/auth/oidc/callback")
async def oidc_callback(request: Request, session: Session = Depends(db_session)) -> Response:
    """The provider's redirect back: check state, trade the code, verify the ID token, map the role."""
    config = _oidc_config(request)
    ip = client_ip(request)
    params = request.query_params

    def refused(reason: str, message: str = OIDC_FAILED, status: int = 400, **extra: object) -> Response:
        record(session, "anonymous", "login.failed", detail={"source": "oidc", "reason": reason[:300], **extra}, ip=ip)
        session.commit()
        response = _login_page(request, message, status=status)
        response.delete_cookie(OIDC_COOKIE, path="/auth/oidc")
        return response

    try:
        state, nonce, verifier, next = _oidc_serializer(config).loads(
            request.cookies.get(OIDC_COOKIE, ""), max_age=OIDC_COOKIE_SECONDS)
    except (BadSignature, ValueError, TypeError):
        return refused("no valid pending sign-in cookie (expired, tampered or another browser)")
    if params.get("error"):
        return refused(f"provider answered error {params.get('error')}: {params.get('error_description', '')}",
                       status=401)
    if not secrets.compare_digest(str(state), params.get("state", "")):
        return refused("state does not match the one this browser was given")
    try:
        provider = await _oidc_provider(request, config)
        tokens = await asyncio.to_thread(oidc.exchange_code, config, provider, params.get("code", ""), verifier)
        id_token = tokens.id_token
        try:
            claims = oidc.verify_id_token(config, provider, id_token, nonce)
        except oidc.OidcSignInRefused:
            await asyncio.to_thread(oidc.refresh_keys, config, provider)  # the provider may have rotated keys
            claims = oidc.verify_id_token(config, provider, id_token, nonce)
        # The role claim may be nested, or only in userinfo; an Entra groups overage is refused clearly.
        claims = await asyncio.to_thread(oidc.role_claims, config, provider, claims, tokens.access_token)
    except oidc.ProviderUnreachable as exc:
        return _provider_down(request, session, exc, ip)
    except oidc.GroupsOverage as exc:
        return refused(exc.reason, oidc.OVERAGE_MESSAGE, status=403, subject=str(claims.get("sub"))[:128])
    except oidc.OidcSignInRefused as exc:
        return refused(exc.reason, status=401)
    try:
        who = oidc.identity(config, claims)
    except oidc.OidcSignInRefused as exc:
        return refused(exc.reason, OIDC_NO_ROLE, status=403, subject=str(claims.get("sub"))[:128])
    try:
        user, previous = directory_user(session, who.username, who.role, "oidc")
    except AuthError:
        return refused("a local or disabled account has this name", SIGN_IN_FAILED, status=401,
                       username=who.username)
    detail: dict[str, object] = {"source": "oidc", "role": user.role, "subject": who.subject}
    if previous:
        detail["previous_role"] = previous
    record(session, user.username, "login", detail=detail, ip=ip)
    response = _signed_in(request, session, user, ip, str(next), method="oidc", id_token=id_token)
    response.delete_cookie(OIDC_COOKIE, path="/auth/oidc")
    return response


@router.post("/logout")
async def logout(request: Request, principal: Principal = Depends(require("viewer")),
                 session: Session = Depends(db_session)) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    ended = close_session(session, token) if token else None
    target = "/login"
    config: oidc.OidcConfig | None = request.app.state.identity.oidc
    if ended is not None and ended.method == "oidc" and config is not None:
        # RP-initiated logout: end the provider's session too, or the next "Sign in with…" would
        # sign the same person straight back in without a password.
        try:
            provider = await _oidc_provider(request, config)
            target = oidc.end_session_url(config, provider, ended.id_token) or target
        except oidc.ProviderUnreachable as exc:
            log.warning("signing out %s at the provider skipped: %s", principal.name, exc)
    record(session, principal.name, "logout", ip=client_ip(request),
           detail={"provider_sign_out": True} if target != "/login" else None)
    session.commit()
    if target == "/login":
        response: Response = RedirectResponse(target, status_code=303)
    else:
        # A page that moves on by itself, not a redirect: the sign-out form's CSP (form-action
        # 'self') forbids a form submission ending at another origin, and browsers enforce that
        # on redirects too. A meta refresh is a plain navigation.
        response = render(request, "signed_out.html", {"principal": None, "provider_url": target,
                                                       "sso_name": config.name if config else ""})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
