"""The web application's security: sign-in, sessions, CSRF, lockout, roles, headers, tokens, audit."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from radguard.db.models.web import ROLES, AuditEvent, User
from radguard.db.session import Database
from radguard.web.accounts import create_api_token
from radguard.web.app import iter_routes
from tests.web.conftest import PASSWORD, csrf_of

# Sign-in itself is public: the OIDC start/callback pair is the single sign-on equivalent of /login.
PUBLIC = {("/login", "GET"), ("/login", "POST"), ("/healthz", "GET"),
          ("/auth/oidc/start", "GET"), ("/auth/oidc/callback", "GET")}


def test_sign_in_sets_hardened_session_cookie(app: FastAPI) -> None:
    with TestClient(app, base_url="https://testserver") as c:
        r = c.get("/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login")
        page = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        r = c.post("/login", data={"username": "viewer", "password": PASSWORD, "csrf_token": token.group(1)},
                   follow_redirects=False)
        cookie = r.headers["set-cookie"]
        assert "rg_session=" in cookie and "HttpOnly" in cookie and "Secure" in cookie
        assert "SameSite=strict" in cookie or "SameSite=Strict" in cookie
        assert c.get("/").status_code == 200


def test_login_without_form_token_is_refused(app: FastAPI) -> None:
    with TestClient(app, base_url="https://testserver") as c:
        r = c.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": "forged"})
        assert r.status_code == 403
        assert "rg_session" not in r.headers.get("set-cookie", "")


def test_security_headers(client_for: Callable[[str], TestClient]) -> None:
    r = client_for("viewer").get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert "<script>" not in r.text  # no inline script anywhere


def test_state_change_needs_csrf_token(client_for: Callable[[str], TestClient], web_db: Database) -> None:
    c = client_for("admin")
    form = {"username": "newbie", "password": "a long enough pw", "role": "viewer"}
    r = c.post("/admin/users", data=form, follow_redirects=False)
    assert r.status_code == 403
    r = c.post("/admin/users", data={**form, "csrf_token": "wrong"}, follow_redirects=False)
    assert r.status_code == 403
    with web_db.read() as s:
        assert s.scalar(select(User).where(User.username == "newbie")) is None
    r = c.post("/admin/users", data={**form, "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303
    with web_db.read() as s:
        assert s.scalar(select(User).where(User.username == "newbie")) is not None


def _routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    return list(iter_routes(app))


def _min_role(route: APIRoute) -> str | None:
    for dep in route.dependant.dependencies:
        role = getattr(dep.call, "min_role", None)
        if role:
            return role
    return None


def test_every_route_declares_a_role(app: FastAPI) -> None:
    routes = _routes(app)
    assert len(routes) > 10
    missing = [(p, m) for p, m, r in routes if (p, m) not in PUBLIC and _min_role(r) is None]
    assert missing == [], f"routes without a role check: {missing}"


def test_roles_are_enforced_on_every_route(app: FastAPI, client_for: Callable[[str], TestClient]) -> None:
    """Walk the route table: every role below a route's minimum is refused, on the server."""
    clients = {role: client_for(role) for role in ROLES}
    csrf = {role: csrf_of(c) for role, c in clients.items()}
    checked = 0
    for template, method, route in _routes(app):
        minimum = _min_role(route)
        if minimum is None:
            continue
        path = re.sub(r"\{[^}]+\}", "1", template)
        for role in ROLES[: ROLES.index(minimum)]:
            r = clients[role].request(method, path, headers={"X-CSRF-Token": csrf[role]}, follow_redirects=False)
            assert r.status_code == 403, f"{role} got {r.status_code} on {method} {template}"
            checked += 1
    anonymous = TestClient(app, base_url="https://testserver")
    for template, method, route in _routes(app):
        if _min_role(route) is None:
            continue
        path = re.sub(r"\{[^}]+\}", "1", template)
        r = anonymous.request(method, path, follow_redirects=False)
        assert r.status_code in (303, 401), f"anonymous got {r.status_code} on {method} {template}"
    assert checked >= 5


def test_api_tokens(app: FastAPI, web_db: Database) -> None:
    with web_db.transaction() as s:
        user = s.scalar(select(User).where(User.username == "viewer"))
        assert user is not None
        row, secret = create_api_token(s, user, "siem")
        token_id = row.id
    with TestClient(app, base_url="https://testserver") as c:
        assert c.get("/api/v1/me").status_code == 401
        r = c.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
        assert r.status_code == 200 and r.json()["username"] == "viewer"
        assert c.get("/api/v1/audit", headers={"Authorization": f"Bearer {secret}"}).status_code == 403
        assert c.get("/api/v1/me", headers={"Authorization": "Bearer rgt_forged"}).status_code == 401
    with web_db.read() as s:
        stored = s.execute(text("select token_hash from api_token where id = :i"), {"i": token_id}).scalar()
        assert stored != secret and secret not in str(stored)
    from radguard.web.accounts import revoke_api_token

    with web_db.transaction() as s:
        revoke_api_token(s, token_id)
    with TestClient(app, base_url="https://testserver") as c:
        assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_audit_log_is_append_only(database: Database) -> None:
    from radguard.web.audit import record

    with database.transaction() as s:
        record(s, "alice", "finding.accept", target="finding:1", detail={"reason": "compensating control"})
    with pytest.raises(DBAPIError), database.transaction() as s:
        s.execute(text("update audit_event set actor = 'mallory'"))
    with pytest.raises(DBAPIError), database.transaction() as s:
        s.execute(text("delete from audit_event"))
    with database.read() as s:
        assert s.scalars(select(AuditEvent.actor)).all() == ["alice"]


def test_admin_pages_and_audit_export(client_for: Callable[[str], TestClient]) -> None:
    c = client_for("admin")
    assert "viewer" in c.get("/admin/users").text
    csv_text = c.get("/admin/audit.csv").text
    assert csv_text.startswith("id,at,actor,action") and ",admin,login," in csv_text


def test_serve_refuses_without_admin(rg, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    rg("--db", sqlite_url, "init")
    r = rg("--db", sqlite_url, "serve", "--port", "1")
    assert r.code != 0 and "radguard user add" in r.err


def test_user_commands(rg, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    import io
    import json

    rg("--db", sqlite_url, "init")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    r = rg("--db", sqlite_url, "user", "add", "ana", "--role", "admin", "--password-stdin")
    assert r.code == 2 and "12 characters" in r.err
    monkeypatch.setattr("sys.stdin", io.StringIO("a very good passphrase\n"))
    assert rg("--db", sqlite_url, "user", "add", "ana", "--role", "admin", "--password-stdin").code == 0
    r = rg("--db", sqlite_url, "user", "disable", "ana")
    assert r.code != 0 and "last administrator" in r.err
    users = json.loads(rg("--db", sqlite_url, "user", "list", "--json").out)
    assert users[0]["username"] == "ana" and users[0]["active"] is True
