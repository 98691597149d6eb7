"""Who is asking, and may they? Authentication, role checks, CSRF and security headers.

Every route declares its minimum role with ``Depends(require("viewer"))`` (or higher); a test
walks the route table to prove no route forgot. Cookie-authenticated requests that change
state must carry the session's CSRF token (header ``X-CSRF-Token`` or form field
``csrf_token``); API requests authenticate with a bearer token and carry no cookies, so CSRF
does not apply to them.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import Response

from radguard.db.models.web import ROLES, User, WebSession
from radguard.web.accounts import lookup_api_token, lookup_session, role_at_least

SESSION_COOKIE = "rg_session"
LOGIN_CSRF_COOKIE = "rg_login_csrf"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


class SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if not request.url.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


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

    @classmethod
    def of(cls, user: User, via: str, web_session: WebSession | None = None) -> Principal:
        return cls(user.id, user.username, user.role, user.full_name, via,
                   web_session.csrf_token if web_session else "")

    @property
    def name(self) -> str:
        return self.username


class LoginRequired(Exception):
    """Raised for browsers without a session: the app turns it into a redirect to /login."""


def _wants_html(request: Request) -> bool:
    """Pages answer an anonymous visitor with a redirect to sign in; the API answers 401."""
    return not request.url.path.startswith("/api/")


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


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


def require(minimum: str) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the caller must be signed in with at least ``minimum`` role."""
    if minimum not in ROLES:
        raise ValueError(minimum)

    async def dependency(request: Request, session: Session = Depends(db_session)) -> Principal:
        principal: Principal | None = None
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            user = lookup_api_token(session, auth[7:].strip())
            if user is None:
                raise HTTPException(status_code=401, detail="invalid or revoked API token",
                                    headers={"WWW-Authenticate": "Bearer"})
            session.commit()  # records last_used
            principal = Principal.of(user, "token")
        else:
            token = request.cookies.get(SESSION_COOKIE)
            ws = lookup_session(session, token) if token else None
            if ws is None:
                if _wants_html(request):
                    raise LoginRequired()
                raise HTTPException(status_code=401, detail="sign in first", headers={"WWW-Authenticate": "Bearer"})
            principal = Principal.of(ws.user, "session", ws)
        if not role_at_least(principal.role, minimum):
            raise HTTPException(status_code=403, detail=f"this needs the {minimum} role or higher")
        await _check_csrf(request, principal)
        request.state.principal = principal
        return principal

    dependency.min_role = minimum  # type: ignore[attr-defined]
    return dependency


class LoginThrottle:
    """At most ``limit`` sign-in attempts per client address per ``window`` seconds."""

    def __init__(self, limit: int = 20, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, ip: str | None) -> bool:
        key = ip or "?"
        now = time.monotonic()
        hits = self._hits[key]
        while hits and now - hits[0] > self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return False
        hits.append(now)
        return True
