"""The FastAPI application factory.

Routers live in ``radguard.web.routes``; every module there exposing ``router`` is included
automatically, so a stage adds pages without editing this file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

import radguard
from radguard import wording
from radguard.checks.engine import AssessSettings
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.links import http_url
from radguard.web.identity.ldap import IdentityConfig
from radguard.web.identity.totp import MFA_POLICIES
from radguard.web.scope_audit import ScopeRefusalAudit
from radguard.web.security import (
    MAX_BODY,
    LoginRequired,
    MfaEnrolmentRequired,
    PasswordChangeRequired,
    RequestGuard,
    SecurityHeaders,
    parse_trusted_proxies,
)
from radguard.web.throttle import LoginThrottle

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.globals["version"] = radguard.__version__
templates.env.filters["http_url"] = http_url
wording.register(templates.env)


def local_zone(request: Request) -> ZoneInfo:
    """The zone this app's people read and type times in (``timezone:`` in the settings file; UTC by default).

    Every date-time field states it, parses what was typed in it (``validate.local_moment``) and
    every time shown is converted to it (``wording.moment``), so what is typed reads back the same.
    """
    settings: AssessSettings = request.app.state.settings
    return ZoneInfo(settings.timezone)


def render(request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    """Render a page with the signed-in principal, its CSRF token and the local zone (``tz``) available to templates."""
    ctx = {"principal": getattr(request.state, "principal", None), "tz": local_zone(request), **(context or {})}
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)


def iter_routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    """Every (path, method, route) the app serves, including those of included routers.

    Used by the test that proves every route checks a role on the server.
    """

    def walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, str, APIRoute]]:
        for route in routes:
            if isinstance(route, APIRoute):
                for method in sorted(route.methods or ()):
                    yield prefix + route.path, method, route
            elif hasattr(route, "original_router"):
                inner = route.include_context.prefix if hasattr(route, "include_context") else ""
                yield from walk(route.original_router.routes, prefix + inner)

    yield from walk(app.router.routes, "")


def create_app(database: Database, *, secure_cookies: bool = True, trusted_proxies: Sequence[str] = (),
               settings: AssessSettings | None = None, max_body: int = MAX_BODY,
               mfa_policy: str = "none", identity: IdentityConfig | None = None) -> FastAPI:
    """The application over ``database``.

    :param database: where accounts, sessions and every stage's data live.
    :param secure_cookies: mark cookies ``Secure`` (off only for plain-HTTP tests).
    :param trusted_proxies: addresses or networks of reverse proxies whose ``X-Forwarded-For``
        and ``X-Forwarded-Proto`` are believed; from anyone else they are ignored.
    :param settings: the organisation's settings (``radguard serve --settings``), e.g. the
        longest risk acceptance the findings stage allows.
    :param max_body: the largest request body accepted, in bytes.
    :param mfa_policy: who must use a TOTP second factor: ``none``, ``admins`` or ``all`` local accounts.
    :param identity: directory sign-in (``radguard serve --identity FILE.yaml``); local only if None.
    """
    app = FastAPI(
        title="radguard",
        version=radguard.__version__,
        description="Cybersecurity readiness for the medical-imaging enterprise. "
        "Authenticate API calls with `Authorization: Bearer <token>` (see `radguard user token`).",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.db = database
    app.state.secure_cookies = secure_cookies
    app.state.login_throttle = LoginThrottle(database)  # shared by every server process
    app.state.sign_in_seconds = 0.3  # running mean of a failed password check, to pace throttled answers
    app.state.trusted_proxies = parse_trusted_proxies(list(trusted_proxies))
    app.state.settings = settings or AssessSettings()
    if mfa_policy not in MFA_POLICIES:
        raise InputError("--mfa", None, None, f"{mfa_policy!r} is not one of {', '.join(MFA_POLICIES)}")
    app.state.mfa_policy = mfa_policy
    app.state.identity = identity or IdentityConfig()
    app.add_middleware(ScopeRefusalAudit)  # innermost: sees the route's principal and answer
    app.add_middleware(RequestGuard, max_body=max_body)
    app.add_middleware(SecurityHeaders)  # added last, so outermost: refusals above carry the headers too
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/login"})
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(MfaEnrolmentRequired)
    async def _enrol(request: Request, exc: MfaEnrolmentRequired) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/account/mfa"})
        return RedirectResponse("/account/mfa", status_code=303)

    @app.exception_handler(PasswordChangeRequired)
    async def _new_password(request: Request, exc: PasswordChangeRequired) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/account/password"})
        return RedirectResponse("/account/password", status_code=303)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return render(request, "error.html", {"status": exc.status_code, "detail": exc.detail},
                      status_code=exc.status_code)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    from radguard.web import routes

    for mod in sorted(pkgutil.iter_modules(routes.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routes.__name__}.{mod.name}")
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router)
    return app
