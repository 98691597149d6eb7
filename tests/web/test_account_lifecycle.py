"""Issue #20, account lifecycle: forced password reset, through the real web app and the CLI."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard.db.models.web import AuditEvent, User
from radguard.db.session import Database, open_database
from radguard.web.accounts import create_api_token, directory_user, lookup_api_token
from radguard.web.app import iter_routes
from tests.web.conftest import PASSWORD, csrf_of, login

NEW = "a fresh and private passphrase"
# Routes a session under a forced reset still reaches: the change itself and signing out.
REACHABLE = ("/account/password", "/logout")
PUBLIC = {"/login", "/healthz", "/auth/oidc/start", "/auth/oidc/callback"}


def _events(db: Database, action: str) -> list[AuditEvent]:
    with db.read() as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        s.expunge_all()
        return events


def _user(db: Database, name: str) -> User:
    with db.read() as s:
        user = s.scalars(select(User).where(User.username == name)).one()
        s.expunge(user)
        return user


def _sign_in(client: TestClient, username: str, password: str) -> str:
    """Post the sign-in form; returns where it sends the browser (raises unless it signed in)."""
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": token.group(1)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["location"]


def _browser(app: FastAPI) -> TestClient:
    client = TestClient(app, base_url="https://testserver")
    client.headers["accept"] = "text/html"
    return client


def test_forced_reset_from_the_admin_page_holds_every_route_until_a_new_password(
        app: FastAPI, web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    admin = client_for("admin")
    before = client_for("viewer")  # a session the viewer (or whoever stole it) already holds
    assert before.get("/", follow_redirects=False).status_code == 200
    with web_db.transaction() as s:
        viewer = s.scalars(select(User).where(User.username == "viewer")).one()
        _, token = create_api_token(s, viewer, "siem")
        viewer_id = viewer.id
    r = admin.post(f"/admin/users/{viewer_id}/force-reset", data={"csrf_token": csrf_of(admin)},
                   follow_redirects=False)
    assert r.status_code == 303
    assert "new password required at next sign-in" in admin.get("/admin/users").text
    assert _user(web_db, "viewer").must_change_password is True
    (event,) = _events(web_db, "user.force-reset")
    assert event.actor == "admin" and event.target == "viewer" and event.detail["tokens_revoked"] == 1
    # the session held before the reset is signed out, and the token no longer works
    r = before.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    with web_db.read() as s:
        assert lookup_api_token(s, token) is None

    with _browser(app) as viewer_browser:
        assert _sign_in(viewer_browser, "viewer", PASSWORD) == "/account/password"
        earlier, signed_in = [e for e in _events(web_db, "login") if e.actor == "viewer"]
        assert signed_in.detail["must_change_password"] is True and earlier.detail == {}
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', viewer_browser.get("/account/password").text)
        assert csrf
        # every other route — pages, fragments and the API with this session cookie — is held back
        walked = 0
        for template, method, _ in iter_routes(app):
            if template in PUBLIC or template.startswith(REACHABLE):
                continue
            path = re.sub(r"\{[^}]+\}", "1", template)
            r = viewer_browser.request(method, path, headers={"X-CSRF-Token": csrf.group(1)},
                                       follow_redirects=False)
            if path.startswith("/api/"):
                assert r.status_code == 403 and "/account/password" in r.json()["detail"], (method, template)
            else:
                assert r.status_code == 303 and r.headers["location"] == "/account/password", (method, template)
            walked += 1
        assert walked > 40
        htmx = viewer_browser.get("/findings", headers={"HX-Request": "true"}, follow_redirects=False)
        assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/account/password"

        form = {"csrf_token": csrf.group(1), "current": PASSWORD, "new": NEW, "confirm": NEW}
        r = viewer_browser.post("/account/password", data={**form, "current": "not the password at all"})
        assert r.status_code == 401 and "current password is wrong" in r.text
        r = viewer_browser.post("/account/password", data={**form, "new": "password1234", "confirm": "password1234"})
        assert r.status_code == 400 and "common" in r.text  # the existing password rules
        r = viewer_browser.post("/account/password", data={**form, "confirm": NEW + "!"})
        assert r.status_code == 400 and "differ" in r.text
        r = viewer_browser.post("/account/password", data={**form, "new": PASSWORD, "confirm": PASSWORD})
        assert r.status_code == 400 and "different from the current" in r.text
        assert _user(web_db, "viewer").must_change_password is True
        r = viewer_browser.post("/account/password", data=form, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/"
        assert viewer_browser.get("/", follow_redirects=False).status_code == 200  # the same session goes on
        assert viewer_browser.get("/api/v1/me").json()["username"] == "viewer"

    assert _user(web_db, "viewer").must_change_password is False
    (changed,) = _events(web_db, "password.change")
    assert changed.actor == "viewer" and changed.detail["forced"] is True
    (failed,) = _events(web_db, "password.change_failed")
    assert failed.actor == "viewer"
    with _browser(app) as again:
        page = again.get("/login")
        token_field = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token_field
        r = again.post("/login", data={"username": "viewer", "password": PASSWORD, "csrf_token": token_field.group(1)},
                       follow_redirects=False)
        assert r.status_code == 401  # the old password is gone
        assert _sign_in(again, "viewer", NEW) == "/"


def test_a_changed_password_ends_the_users_other_sessions(app: FastAPI, web_db: Database,
                                                          client_for: Callable[[str], TestClient]) -> None:
    other = client_for("assessor")
    this = client_for("assessor")
    assert '<a href="/account/password">Change password</a>' in this.get("/").text  # a local account's link
    csrf = csrf_of(this)
    r = this.post("/account/password", data={"csrf_token": csrf, "current": PASSWORD, "new": NEW, "confirm": NEW},
                  follow_redirects=False)
    assert r.status_code == 303
    assert this.get("/", follow_redirects=False).status_code == 200
    r = other.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    (changed,) = _events(web_db, "password.change")
    assert changed.detail == {"forced": False, "other_sessions_ended": 1}


def test_directory_accounts_cannot_be_force_reset(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    with web_db.transaction() as s:
        carol, _ = directory_user(s, "carol", "viewer", "ldap")
        carol_id = carol.id
    admin = client_for("admin")
    assert f"/admin/users/{carol_id}/force-reset" not in admin.get("/admin/users").text
    r = admin.post(f"/admin/users/{carol_id}/force-reset", data={"csrf_token": csrf_of(admin)})
    assert r.status_code == 400 and "signs in through ldap" in r.text
    assert _user(web_db, "carol").must_change_password is False


def test_cli_force_reset_with_and_without_a_temporary_password(
        rg, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient as Client

    from radguard.web.app import create_app

    rg("--db", sqlite_url, "init")
    for name, role in (("ana", "admin"), ("bob", "viewer")):
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        assert rg("--db", sqlite_url, "user", "add", name, "--role", role, "--password-stdin").code == 0
    token = rg("--db", sqlite_url, "user", "token", "bob").out.strip()
    r = rg("--db", sqlite_url, "user", "reset-password", "bob", "--force", "--keep-tokens")
    assert r.code == 0 and "must choose a new password at the next sign-in" in r.out
    # the user list says so too (ana, not reset, does not)
    listed = {u["username"]: u for u in json.loads(rg("--db", sqlite_url, "user", "list", "--json").out)}
    assert listed["bob"]["must_change_password"] is True and listed["ana"]["must_change_password"] is False
    table = rg("--db", sqlite_url, "user", "list").out
    assert [line for line in table.splitlines() if "new password required at next sign-in" in line] == \
        [line for line in table.splitlines() if "bob" in line]
    db = open_database(sqlite_url)
    try:
        assert _user(db, "bob").must_change_password is True
        with db.read() as s:
            assert lookup_api_token(s, token) is not None  # --keep-tokens: automation goes on
        app = create_app(db)
        with _browser(app) as browser:
            assert _sign_in(browser, "bob", PASSWORD) == "/account/password"  # the current password, once
        # with --password-stdin: a temporary password, also to be replaced at the next sign-in
        monkeypatch.setattr("sys.stdin", io.StringIO("temporary passphrase 7\n"))
        r = rg("--db", sqlite_url, "user", "reset-password", "bob", "--force", "--password-stdin")
        assert r.code == 0 and "1 API token(s) revoked" in r.out
        with Client(app, base_url="https://testserver") as browser:
            browser.headers["accept"] = "text/html"
            assert _sign_in(browser, "bob", "temporary passphrase 7") == "/account/password"
        # a plain reset (no --force) clears the requirement
        monkeypatch.setattr("sys.stdin", io.StringIO(NEW + "\n"))
        assert rg("--db", sqlite_url, "user", "reset-password", "bob", "--password-stdin").code == 0
        assert _user(db, "bob").must_change_password is False
        with _browser(app) as browser:
            assert login(browser, "bob", NEW).get("/", follow_redirects=False).status_code == 200
        # a directory account's password is the directory's: neither kind of reset touches it
        with db.transaction() as s:
            directory_user(s, "carol", "viewer", "ldap")
        for extra in ((), ("--force",)):
            monkeypatch.setattr("sys.stdin", io.StringIO(NEW + "\n"))
            r = rg("--db", sqlite_url, "user", "reset-password", "carol", "--password-stdin", *extra)
            assert r.code != 0 and "signs in through ldap" in r.err
        assert _user(db, "carol").password_hash == "!directory:ldap"
        events = _events(db, "user.reset-password")
    finally:
        db.dispose()
    assert [(e.detail["forced"], e.detail["temporary_password"]) for e in events] == \
        [(True, False), (True, True), (False, False)]


# --- sessions: listed, revoked one or all, ended by disabling ---------------------------------

def _session_ids(db: Database, name: str) -> list[int]:
    from radguard.web.accounts import list_sessions

    with db.read() as s:
        return [ws.id for ws in list_sessions(s, s.scalars(select(User).where(User.username == name)).one())]


def test_admin_lists_and_revokes_sessions_and_a_revoked_session_is_signed_out(
        app: FastAPI, web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    from datetime import timedelta

    from radguard.db.base import utcnow
    from radguard.db.models.web import WebSession

    admin = client_for("admin")
    laptop, desk = (_browser(app), _browser(app))
    laptop.headers["user-agent"] = "Laptop-Browser/1.0"
    desk.headers["user-agent"] = "Reading-Room-Desk/2.0"
    login(laptop, "assessor")
    login(desk, "assessor")
    first, second = sorted(_session_ids(web_db, "assessor"))  # laptop signed in first
    user_id = _user(web_db, "assessor").id

    page = admin.get(f"/admin/users/{user_id}/sessions")
    assert page.status_code == 200
    assert "Laptop-Browser/1.0" in page.text and "Reading-Room-Desk/2.0" in page.text
    assert page.text.count("<td>local</td>") == 2 and "testclient" in page.text
    (viewed,) = _events(web_db, "sessions.view")
    assert viewed.actor == "admin" and viewed.target == "assessor"

    # last seen moves on use, at most once a minute
    with web_db.transaction() as s:
        ws = s.get(WebSession, second)
        assert ws is not None
        ws.last_seen = utcnow() - timedelta(minutes=5)
    started = utcnow()
    assert desk.get("/", follow_redirects=False).status_code == 200
    with web_db.read() as s:
        ws = s.get(WebSession, second)
        assert ws is not None and ws.last_seen is not None and ws.last_seen >= started - timedelta(seconds=1)

    csrf = csrf_of(admin)
    r = admin.post(f"/admin/users/{user_id}/sessions/revoke", data={"csrf_token": csrf, "session_id": str(first)},
                   follow_redirects=False)
    assert r.status_code == 303
    r = laptop.get("/inventory", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert laptop.get("/api/v1/me", follow_redirects=False).status_code == 401
    assert desk.get("/", follow_redirects=False).status_code == 200  # the other session goes on
    # another user's session number is not this user's: refused, nothing ended
    admin_session = _session_ids(web_db, "admin")[0]
    r = admin.post(f"/admin/users/{user_id}/sessions/revoke", data={"csrf_token": csrf,
                                                                   "session_id": str(admin_session)})
    assert r.status_code == 404 and admin.get("/", follow_redirects=False).status_code == 200

    r = admin.post(f"/admin/users/{user_id}/sessions/revoke", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert desk.get("/", follow_redirects=False).status_code == 303
    assert "has no live session" in admin.get(f"/admin/users/{user_id}/sessions").text
    assert [e.detail for e in _events(web_db, "session.revoke")] == [{"session": first, "ended": 1},
                                                                      {"session": "all", "ended": 1}]
    laptop.close()
    desk.close()


def test_disabling_a_user_ends_its_sessions_and_tokens(app: FastAPI, web_db: Database,
                                                      client_for: Callable[[str], TestClient]) -> None:
    admin = client_for("admin")
    held = client_for("contributor")
    with web_db.transaction() as s:
        _, token = create_api_token(s, s.scalars(select(User).where(User.username == "contributor")).one(), "siem")
    user_id = _user(web_db, "contributor").id
    r = admin.post(f"/admin/users/{user_id}/disable", data={"csrf_token": csrf_of(admin)}, follow_redirects=False)
    assert r.status_code == 303
    assert held.get("/", follow_redirects=False).status_code == 303
    with TestClient(app, base_url="https://testserver") as api:
        assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert _session_ids(web_db, "contributor") == []
    (event,) = _events(web_db, "user.disable")
    assert event.detail == {"tokens_revoked": 1, "sessions_ended": 1}


def test_cli_lists_and_revokes_sessions(rg, sqlite_url: str,  # type: ignore[no-untyped-def]
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from radguard.web.app import create_app

    rg("--db", sqlite_url, "init")
    for name, role in (("ana", "admin"), ("bob", "viewer")):
        monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
        assert rg("--db", sqlite_url, "user", "add", name, "--role", role, "--password-stdin").code == 0
    db = open_database(sqlite_url)
    try:
        app = create_app(db)
        with _browser(app) as one, _browser(app) as two:
            one.headers["user-agent"] = "Ward-PC/3"
            login(one, "bob")
            login(two, "bob")
            r = rg("--db", sqlite_url, "user", "sessions", "bob", "--json")
            assert r.code == 0, r.err
            rows = json.loads(r.out)
            assert len(rows) == 2 and {row["method"] for row in rows} == {"local"}
            assert {"id", "created_at", "last_seen", "expires_at", "ip", "user_agent"} <= set(rows[0])
            assert "Ward-PC/3" in {row["user_agent"] for row in rows}
            assert not any("token" in key or "csrf" in key for key in rows[0])
            assert "Ward-PC/3" in rg("--db", sqlite_url, "user", "sessions", "bob").out
            ward = next(row["id"] for row in rows if row["user_agent"] == "Ward-PC/3")
            r = rg("--db", sqlite_url, "user", "revoke-sessions", "bob", "--session", str(ward))
            assert r.code == 0 and "1 session(s) of bob ended" in r.out
            assert one.get("/", follow_redirects=False).status_code == 303
            assert two.get("/", follow_redirects=False).status_code == 200
            r = rg("--db", sqlite_url, "user", "revoke-sessions", "bob", "--session", str(ward))
            assert r.code != 0 and "bob has no session" in r.err
            r = rg("--db", sqlite_url, "user", "disable", "bob")
            assert r.code == 0 and "1 session(s) ended" in r.out
            assert two.get("/", follow_redirects=False).status_code == 303
        assert "bob has no live session" in rg("--db", sqlite_url, "user", "sessions", "bob").out
        actions = [(e.action, e.detail) for e in _events(db, "session.revoke")]
        assert actions == [("session.revoke", {"session": ward, "ended": 1})]
        assert len(_events(db, "sessions.view")) == 3
    finally:
        db.dispose()
