"""Who is asking, and may they? Authentication, role checks, CSRF and security headers.

Every route declares its minimum role with ``Depends(require("viewer"))`` (or higher); a test
walks the route table to prove no route forgot. Cookie-authenticated requests that change
state must carry the session's CSRF token (header ``X-CSRF-Token`` or form field
``csrf_token``); API requests authenticate with a bearer token and carry no cookies, so CSRF
does not apply to them.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from radguard.db.models.web import ROLES, User, WebSession
from radguard.web.accounts import (
    is_directory_account,
    lookup_session,
    lookup_token_row,
    narrowed,
    role_at_least,
    token_sites,
    user_sites,
)
from radguard.web.identity.totp import mfa_required

SESSION_COOKIE = "rg_session"
LOGIN_CSRF_COOKIE = "rg_login_csrf"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


PERMISSIONS_POLICY = ("camera=(), microphone=(), geolocation=(), usb=(), serial=(), bluetooth=(), payment=(), "
                      "display-capture=(), interest-cohort=()")
HSTS = "max-age=31536000; includeSubDomains"
MAX_BODY = 1024 * 1024  # the largest body any route takes (a checklist answer, a drill record) is a few KiB
MAX_LOGIN_BODY = 16 * 1024
_MAX_DB_INT = 2**63 - 1
_NUMBER = re.compile(r"-?[0-9]+")
_log = logging.getLogger(__name__)


def _is_html(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    accept = Headers(scope=scope).get("accept", "")
    return not path.startswith("/api/") and "text/html" in accept


def error_response(scope: Scope, status: int, detail: str) -> Response:
    """A bare error answer for refusals made before routing (no template: nothing may fail here)."""
    if _is_html(scope):
        body = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Error {status}</title>"
                f"</head><body><h1>{status}</h1><p>{html.escape(detail)}</p><p><a href=\"/\">Back to the "
                "dashboard</a></p></body></html>")
        return HTMLResponse(body, status_code=status)
    return JSONResponse({"detail": detail}, status_code=status)


class SecurityHeaders:
    """Security headers on every answer — errors, refusals and unhandled failures included.

    A pure ASGI middleware rather than ``BaseHTTPMiddleware``: an exception escaping a route
    used to reach Starlette's outermost error handler, whose 500 carried none of these headers.
    Here such an exception is logged and answered with a plain 500 that does. HSTS is sent
    when the request arrived over TLS (``radguard serve --tls-cert``, or a trusted proxy's
    ``X-Forwarded-Proto: https``).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        secure = scope.get("scheme") == "https" or _forwarded_https(scope)
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["X-Frame-Options"] = "DENY"
                headers["Referrer-Policy"] = "no-referrer"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["Permissions-Policy"] = PERMISSIONS_POLICY
                if secure:
                    headers["Strict-Transport-Security"] = HSTS
                if not static:
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if started:
                raise
            _log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            await error_response(scope, 500, "internal error; the server log has the details")(
                scope, receive, send_with_headers)


class RequestGuard:
    """Refusals made before any route, form parser or database sees the request.

    - Bodies are capped (``MAX_LOGIN_BODY`` for the anonymous sign-in form, ``MAX_BODY``
      elsewhere): a ``Content-Length`` over the cap is refused with 413 without reading a byte,
      and a body sent without one (chunked) is counted as it arrives and cut off at the cap. A
      200 MB form part posted to /login used to be parsed into memory before authentication.
    - ``multipart/form-data`` is refused with 415: no page or API operation takes an upload,
      so a file part can never stand in for a text field.
    - A path segment that is a number beyond a database integer (``/findings/99999999999999999999``)
      is a 404 here; it used to overflow the database driver and answer 500.
    """

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY, max_login_body: int = MAX_LOGIN_BODY) -> None:
        self.app = app
        self.max_body = max_body
        self.max_login_body = max_login_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        for segment in path.split("/"):
            if _NUMBER.fullmatch(segment) and abs(int(segment)) > _MAX_DB_INT:
                await error_response(scope, 404, "not found")(scope, receive, send)
                return
        headers = Headers(scope=scope)
        if headers.get("content-type", "").lower().startswith("multipart/"):
            await error_response(scope, 415, "this application takes no file uploads; send the form "
                                             "as application/x-www-form-urlencoded or JSON")(scope, receive, send)
            return
        limit = self.max_login_body if path.rstrip("/") == "/login" else self.max_body
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await error_response(scope, 400, "malformed Content-Length")(scope, receive, send)
                return
            if int(declared) > limit:
                await error_response(scope, 413, f"request body over {limit} bytes")(scope, receive, send)
                return
        received = 0
        refused = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    if not refused:
                        refused = True
                        await error_response(scope, 413, f"request body over {limit} bytes")(
                            scope, receive, send)
                    raise BodyTooLarge(limit)
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:  # once 413 went out, whatever the route answers is dropped
                await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if refused:
                return  # the form parser failed on the cut-off body; the 413 has been sent
            raise


class BodyTooLarge(Exception):
    """The request body passed the cap while it was being read."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body over {limit} bytes")


def db_session(request: Request) -> Iterator[Session]:
    """A session per request; handlers that write call ``commit()`` themselves."""
    session: Session = request.app.state.db.sessions()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


@dataclass(frozen=True)
class Principal:
    """The signed-in caller, copied out of the database so it outlives the request's session."""

    user_id: int
    username: str
    role: str
    full_name: str | None
    via: str  # "session" or "token"
    csrf_token: str = ""
    # The site codes this caller may see; None: every site. Read from the database on every
    # request (a change of a user's sites applies at once); for a token, its own sites narrowed
    # to its user's. Routes pass it to the stages as ``scope=`` (radguard.inventory.scope).
    sites: frozenset[str] | None = None
    session_id: int | None = None  # the web_session row of a browser caller (None for a token)
    local_password: bool = False  # a local account (not LDAP/OIDC): may change its password at /account/password

    @classmethod
    def of(cls, user: User, via: str, web_session: WebSession | None = None,
           sites: frozenset[str] | None = None) -> Principal:
        return cls(user.id, user.username, user.role, user.full_name, via,
                   web_session.csrf_token if web_session else "", sites,
                   web_session.id if web_session else None, not is_directory_account(user))

    @property
    def scope(self) -> frozenset[str] | None:
        """The ``scope`` argument of the stages' read functions: :attr:`sites`."""
        return self.sites

    @property
    def name(self) -> str:
        return self.username


class LoginRequired(Exception):
    """Raised for browsers without a session: the app turns it into a redirect to /login."""


class MfaEnrolmentRequired(Exception):
    """Raised when policy demands a second factor the signed-in user has not enrolled yet:
    browsers are sent to the enrolment page, which (with sign-out) is all such a session reaches."""


class PasswordChangeRequired(Exception):
    """Raised when an administrator forced a password reset (``must_change_password``): browsers
    are sent to the change-password page, which (with sign-out) is all such a session reaches."""


MFA_ENROLMENT_PATHS = ("/account/mfa", "/logout")
PASSWORD_CHANGE_PATHS = ("/account/password", "/logout")


def _wants_html(request: Request) -> bool:
    """Pages answer an anonymous visitor with a redirect to sign in; the API answers 401."""
    return not request.url.path.startswith("/api/")


def _trusted(scope: Scope) -> bool:
    app = scope.get("app")
    proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = \
        getattr(getattr(app, "state", None), "trusted_proxies", ())
    client = scope.get("client")
    if not proxies or not client:
        return False
    try:
        peer = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    return any(peer in net for net in proxies)


def _forwarded_https(scope: Scope) -> bool:
    return _trusted(scope) and Headers(scope=scope).get("x-forwarded-proto", "").strip().lower() == "https"


def client_ip(request: Request) -> str | None:
    """The real client address: the peer, or — only when the peer is a configured trusted proxy —
    the nearest address in ``X-Forwarded-For`` that is not itself a trusted proxy.

    Anyone can send ``X-Forwarded-For``; honouring it from any peer would let an attacker pick
    the address the sign-in throttle counts against (and write any address into the audit log).
    """
    peer = request.client.host if request.client else None
    if peer is None or not _trusted(request.scope):
        return peer
    proxies = request.app.state.trusted_proxies
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a malformed chain: count the proxy itself rather than trust a forged name
        if not any(address in net for net in proxies):
            return str(address)
    return peer


def parse_trusted_proxies(values: list[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``--trusted-proxy`` values (addresses or networks) as networks; a bad one is an InputError.

    :param values: addresses like ``127.0.0.1`` or networks like ``10.0.0.0/24``.
    """
    from radguard.errors import InputError

    out = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise InputError("--trusted-proxy", None, None, f"{value!r} is not an IP address or network") from None
    return tuple(out)


async def _check_csrf(request: Request, principal: Principal) -> None:
    if request.method in SAFE_METHODS or principal.via != "session":
        return
    sent = request.headers.get("x-csrf-token")
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not sent or not secrets.compare_digest(sent, principal.csrf_token):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token; reload the page and try again")


def require(minimum: str, *, organisation: bool = False) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the caller must be signed in with at least ``minimum`` role.

    :param minimum: the least role.
    :param organisation: the route covers the whole organisation by nature (the offline binder,
        checklist self-assessments): an account limited to sites is refused it (403), as it is
        every ``admin`` route — administering accounts, schedules and sensors reaches every site
        (docs/identity.md, "Roles and sites").
    """
    if minimum not in ROLES:
        raise ValueError(minimum)

    async def dependency(request: Request, session: Session = Depends(db_session)) -> Principal:
        principal: Principal | None = None
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            row = lookup_token_row(session, auth[7:].strip())
            if row is None:
                raise HTTPException(status_code=401, detail="invalid, expired or revoked API token",
                                    headers={"WWW-Authenticate": "Bearer"})
            user = row.user
            sites = narrowed(user_sites(session, user), token_sites(session, row))
            session.commit()  # records last_used
            principal = Principal.of(user, "token", sites=sites)
        else:
            token = request.cookies.get(SESSION_COOKIE)
            ws = lookup_session(session, token) if token else None
            if ws is None:
                if _wants_html(request):
                    raise LoginRequired()
                raise HTTPException(status_code=401, detail="sign in first", headers={"WWW-Authenticate": "Bearer"})
            seen = session.is_modified(ws)  # asked now: the next query autoflushes, and then it is clean
            principal = Principal.of(ws.user, "session", ws, sites=user_sites(session, ws.user))
            must_change, totp_enabled = ws.user.must_change_password, ws.user.totp_enabled
            if seen:
                session.commit()  # records last_seen (at most once a minute)
            path = request.url.path
            if must_change and not path.startswith(PASSWORD_CHANGE_PATHS):
                # Before the MFA check: the password page must stay reachable to an unenrolled user.
                if _wants_html(request):
                    raise PasswordChangeRequired()
                raise HTTPException(status_code=403, detail="an administrator requires a new password: "
                                                            "choose one first (/account/password)")
            policy = getattr(request.app.state, "mfa_policy", "none")
            if (not totp_enabled and mfa_required(ws.user, policy)
                    and not path.startswith(MFA_ENROLMENT_PATHS + (PASSWORD_CHANGE_PATHS if must_change else ()))):
                if _wants_html(request):
                    raise MfaEnrolmentRequired()
                raise HTTPException(status_code=403, detail="enrol two-factor sign-in first (/account/mfa)")
        request.state.principal = principal  # also for the refusals below (radguard.web.scope_audit)
        if not role_at_least(principal.role, minimum):
            raise HTTPException(status_code=403, detail=f"this needs the {minimum} role or higher")
        if (organisation or minimum == "admin") and principal.sites is not None:
            raise HTTPException(status_code=403, detail="this covers the whole organisation; your account is "
                                "limited to " + (", ".join(sorted(principal.sites)) or "no site"))
        await _check_csrf(request, principal)
        return principal

    dependency.min_role = minimum  # type: ignore[attr-defined]
    dependency.organisation = organisation or minimum == "admin"  # type: ignore[attr-defined]
    return dependency
