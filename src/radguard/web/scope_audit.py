"""Refused writes of accounts limited to sites go to the audit log.

A site-scoped account that posts, puts or deletes on another site's object (a finding decision,
an attestation, a drill recording, a checklist answer) gets 404 — the object is "not found" for
it — or 403 for what covers the whole organisation, and nothing is stored (the stage refuses
the whole request before writing). Whoever watches the audit log should see such attempts, and
a route must not be able to forget to record them, so this middleware does it for every
route: after the answer, a refused (403/404) write by a principal with ``sites`` writes one
``scope.refused`` event with the method, path, status and the account's sites.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from radguard.web.audit import record
from radguard.web.security import SAFE_METHODS, Principal, client_ip

log = logging.getLogger(__name__)
REFUSED = frozenset({403, 404})


class ScopeRefusalAudit:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method", "GET") in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})  # shared with the route's request, which sets the principal
        status: dict[str, int] = {}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        principal: Any = scope["state"].get("principal")
        if status.get("code") in REFUSED and isinstance(principal, Principal) and principal.sites is not None:
            self._record(scope, principal, status["code"])

    @staticmethod
    def _record(scope: Scope, principal: Principal, code: int) -> None:
        request = Request(scope)
        try:
            with request.app.state.db.transaction() as session:
                record(session, principal.name, "scope.refused", target=request.url.path,
                       detail={"method": request.method, "status": code, "sites": sorted(principal.sites or ())},
                       ip=client_ip(request), via="api" if principal.via == "token" else "web")
        except Exception:  # the refusal stands even if it could not be written down
            log.exception("could not audit a refused request by %s to %s", principal.name, request.url.path)
