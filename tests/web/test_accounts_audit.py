"""Issue #22, web application: credential lifecycle, audit gaps, weak passwords, acceptance term."""

from __future__ import annotations

import getpass
import io
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard.cli.main import COMMANDS, is_audited, load_module_commands
from radguard.db.base import utcnow
from radguard.db.models.findings import Finding
from radguard.db.models.web import ApiToken, AuditEvent, User
from radguard.db.session import Database, open_database
from radguard.errors import InputError
from radguard.web.accounts import check_password_strength, create_api_token, lookup_api_token
from tests.conftest import EXAMPLES
from tests.web.conftest import csrf_of

GOOD = "a very good passphrase"


def _events(url: str) -> list[AuditEvent]:
    db = open_database(url)
    try:
        with db.read() as s:
            events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
            s.expunge_all()
            return events
    finally:
        db.dispose()


def _add_user(rg, url: str, monkeypatch: pytest.MonkeyPatch, name: str, role: str,  # type: ignore[no-untyped-def]
              password: str = GOOD) -> object:
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    return rg("--db", url, "user", "add", name, "--role", role, "--password-stdin")


# --- 4. credential lifecycle ---------------------------------------------------------------

def test_reset_revokes_tokens_and_never_enables(rg, sqlite_url: str,  # type: ignore[no-untyped-def]
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    rg("--db", sqlite_url, "init")
    assert _add_user(rg, sqlite_url, monkeypatch, "ana", "admin").code == 0  # type: ignore[attr-defined]
    assert _add_user(rg, sqlite_url, monkeypatch, "bob", "viewer").code == 0  # type: ignore[attr-defined]
    first = rg("--db", sqlite_url, "user", "token", "bob").out.strip()
    assert "valid until" in rg("--db", sqlite_url, "user", "token", "bob", "--days", "7").err
    kept = rg("--db", sqlite_url, "user", "token", "bob").out.strip()
    db = open_database(sqlite_url)
    try:
        monkeypatch.setattr("sys.stdin", io.StringIO("another good passphrase\n"))
        r = rg("--db", sqlite_url, "user", "reset-password", "bob", "--password-stdin")
        assert r.code == 0 and "3 API token(s) revoked" in r.out
        with db.transaction() as s:
            assert lookup_api_token(s, first) is None and lookup_api_token(s, kept) is None
        kept = rg("--db", sqlite_url, "user", "token", "bob").out.strip()
        monkeypatch.setattr("sys.stdin", io.StringIO("yet another passphrase\n"))
        assert rg("--db", sqlite_url, "user", "reset-password", "bob", "--password-stdin", "--keep-tokens").code == 0
        with db.transaction() as s:
            assert lookup_api_token(s, kept) is not None
        # disabling revokes; a reset then leaves the account disabled; enabling does not bring tokens back
        assert rg("--db", sqlite_url, "user", "disable", "bob").code == 0
        monkeypatch.setattr("sys.stdin", io.StringIO("one more good passphrase\n"))
        r = rg("--db", sqlite_url, "user", "reset-password", "bob", "--password-stdin")
        assert r.code == 0 and "stays disabled" in r.out
        with db.read() as s:
            bob = s.scalar(select(User).where(User.username == "bob"))
            assert bob is not None and bob.active is False
        assert rg("--db", sqlite_url, "user", "enable", "bob").code == 0
        assert rg("--db", sqlite_url, "user", "enable", "bob").code != 0  # already enabled: said so
        with db.transaction() as s:
            assert lookup_api_token(s, kept) is None
    finally:
        db.dispose()
    actions = [(e.action, e.target, e.via, e.actor) for e in _events(sqlite_url)]
    me = getpass.getuser()
    assert ("user.enable", "bob", "cli", me) in actions
    assert sum(1 for a in actions if a[0] == "user.reset-password") == 3
    assert all(a[3] == me for a in actions)


def test_tokens_expire(web_db: Database, app: FastAPI) -> None:
    with web_db.transaction() as s:
        user = s.scalar(select(User).where(User.username == "viewer"))
        assert user is not None
        row, old = create_api_token(s, user, "siem", now=utcnow() - timedelta(days=91))
        assert row.expires_at is not None and row.expires_at < utcnow()
        _, fresh = create_api_token(s, user, "siem")
        with pytest.raises(InputError):
            create_api_token(s, user, "forever", lifetime=timedelta(days=10_000))
    with TestClient(app, base_url="https://testserver") as c:
        assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401
        assert c.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    with web_db.read() as s:
        rows = s.scalars(select(ApiToken)).all()
        assert all(r.expires_at is not None for r in rows)


def test_web_disable_enable_and_role_are_audited(client_for: Callable[[str], TestClient], web_db: Database) -> None:
    c = client_for("admin")
    with web_db.transaction() as s:
        viewer = s.scalar(select(User).where(User.username == "viewer"))
        admin = s.scalar(select(User).where(User.username == "admin"))
        assert viewer is not None and admin is not None
        create_api_token(s, viewer, "siem")
        viewer_id, admin_id = viewer.id, admin.id
    token = csrf_of(c)
    r = c.post(f"/admin/users/{viewer_id}/role", data={"role": "assessor", "csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    r = c.post(f"/admin/users/{admin_id}/role", data={"role": "viewer", "csrf_token": token})
    assert r.status_code == 400 and "last administrator" in r.text
    assert c.post(f"/admin/users/{viewer_id}/disable", data={"csrf_token": token},
                  follow_redirects=False).status_code == 303
    assert c.post(f"/admin/users/{viewer_id}/enable", data={"csrf_token": token},
                  follow_redirects=False).status_code == 303
    with web_db.read() as s:
        viewer = s.get(User, viewer_id)
        assert viewer is not None and viewer.role == "assessor" and viewer.active
        assert all(t.revoked_at is not None for t in viewer.tokens)
        events = {(e.action, e.target): e.detail for e in s.scalars(select(AuditEvent))}
    assert events[("user.role", "viewer")] == {"from": "viewer", "to": "assessor"}
    assert events[("user.disable", "viewer")] == {"tokens_revoked": 1, "sessions_ended": 0}
    assert ("user.enable", "viewer") in events


# --- 5. audit gaps ----------------------------------------------------------------------------

def test_cli_imports_assess_exports_and_decisions_are_audited_as_the_os_user(  # type: ignore[no-untyped-def]
        rg, sqlite_url: str, tmp_path: Path) -> None:
    assert rg("--db", sqlite_url, "init").code == 0
    assert rg("--db", sqlite_url, "inventory", "import", EXAMPLES / "northwind-inventory.yaml").code == 0
    assert rg("--db", sqlite_url, "assess", "--json").code == 0
    out = tmp_path / "findings.csv"
    assert rg("--db", sqlite_url, "export", "findings", "-o", str(out)).code == 0
    db = open_database(sqlite_url)
    try:
        with db.read() as s:
            finding_id = s.scalars(select(Finding.id).order_by(Finding.id)).first()
    finally:
        db.dispose()
    assert finding_id is not None
    r = rg("--db", sqlite_url, "findings", "accept", str(finding_id), "--reason", "compensating control",
           "--by", "someone-else", "--until", (utcnow() + timedelta(days=30)).date().isoformat())
    assert r.code == 0, r.err
    me = getpass.getuser()
    events = _events(sqlite_url)
    by_action = {e.action: e for e in events}
    for action in ("inventory.import", "assess", "export.findings", "finding.accept"):
        assert action in by_action, [e.action for e in events]
        assert by_action[action].actor == me and by_action[action].via == "cli"
    assert by_action["finding.accept"].detail["by"] == "someone-else"
    assert by_action["inventory.import"].detail["params"]["file"].endswith("northwind-inventory.yaml")


def test_every_import_export_report_and_assess_command_is_audited() -> None:
    seen: list[str] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                walk(sub, (*path, name))
            return
        if is_audited(path):
            seen.append(" ".join(path))
            assert getattr(getattr(command, "callback", None), "radguard_audited", False), path
        elif path[-1] in ("import", "export", "report") or path[0] in ("assess", "export", "report"):
            raise AssertionError(f"{path} escapes the audit hook")

    for module in sorted({m for m, _ in COMMANDS.values()}):
        group = load_module_commands(module)
        for name, command in group.commands.items():
            walk(command, (name,))
    for expected in ("assess", "report", "inventory import", "inventory export", "checklist import",
                     "export findings", "export oscal", "playbook export", "drill report", "sbom import"):
        assert expected in seen, seen


def test_audit_log_views_and_exports_are_audited(client_for: Callable[[str], TestClient], web_db: Database) -> None:
    c = client_for("admin")
    assert c.get("/admin/audit").status_code == 200
    assert c.get("/admin/audit.csv").status_code == 200
    with web_db.read() as s:
        actions = [e.action for e in s.scalars(select(AuditEvent))]
    assert "audit.view" in actions and "audit.export" in actions


# --- 6. weak passwords ------------------------------------------------------------------------

@pytest.mark.parametrize("password", ["password1234", "Password1234!", "qwerty123456", "123456789012",
                                      "aaaaaaaaaaaa", "abababababab", "  dragon 2024!!", "alice-admin-2024",
                                      "chen-radiology-99"])
def test_weak_passwords_are_refused(password: str) -> None:
    with pytest.raises(InputError):
        check_password_strength(password, "alice-admin", "Alice Chen-Radiology")


def test_good_passphrases_pass() -> None:
    for password in ("correct horse battery", GOOD, "tundra-violin-maple-47"):
        check_password_strength(password, "alice", "Alice Chen")


def test_cli_refuses_a_weak_admin_password(rg, sqlite_url: str,  # type: ignore[no-untyped-def]
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    rg("--db", sqlite_url, "init")
    r = _add_user(rg, sqlite_url, monkeypatch, "ana", "admin", "password1234")
    assert r.code != 0 and "common passwords" in r.err  # type: ignore[attr-defined]
    r = _add_user(rg, sqlite_url, monkeypatch, "radiologist", "admin", "radiologist2024")
    assert r.code != 0 and "own name" in r.err  # type: ignore[attr-defined]


# --- 7. the longest risk acceptance -----------------------------------------------------------

def test_acceptance_term_is_capped_in_cli_and_web(rg, sqlite_url: str, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                  ) -> None:
    assert rg("--db", sqlite_url, "init").code == 0
    assert rg("--db", sqlite_url, "inventory", "import", EXAMPLES / "northwind-inventory.yaml").code == 0
    assert rg("--db", sqlite_url, "assess", "--json").code == 0
    db = open_database(sqlite_url)
    with db.read() as s:
        fid = s.scalars(select(Finding.id).order_by(Finding.id)).first()
    assert fid is not None
    r = rg("--db", sqlite_url, "findings", "accept", str(fid), "--reason", "r", "--until", "2099-12-31")
    assert r.code != 0 and "at most 365 days" in r.err and "sla.max_acceptance_days" in r.err
    settings = tmp_path / "settings.yaml"
    settings.write_text("sla:\n  max_acceptance_days: 30\n")
    in_60 = (utcnow() + timedelta(days=60)).date().isoformat()
    r = rg("--db", sqlite_url, "findings", "accept", str(fid), "--reason", "r", "--until", in_60,
           "--settings", str(settings))
    assert r.code != 0 and "at most 30 days" in r.err and "reason for exceeding the maximum" in r.err
    r = rg("--db", sqlite_url, "findings", "accept", str(fid), "--reason", "r", "--until", in_60,
           "--settings", str(settings), "--beyond-max-reason", "vendor fix due in 2 months", "--json")
    assert r.code == 0, r.err
    accepted = json.loads(r.out)
    assert accepted["state"] == "risk_accepted"
    assert accepted["history"][-1]["evidence"]["beyond_maximum"] == {"max_days": 30,
                                                                     "reason": "vendor fix due in 2 months"}
    with db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "finding.accept")).one()
        assert event.via == "cli" and event.detail["beyond_maximum_reason"] == "vendor fix due in 2 months"
    assert rg("--db", sqlite_url, "findings", "reopen", str(fid), "--reason", "r").code == 0
    assert rg("--db", sqlite_url, "findings", "accept", str(fid), "--reason", "r", "--until", in_60).code == 0
    assert rg("--db", sqlite_url, "findings", "reopen", str(fid), "--reason", "r").code == 0

    from radguard.checks.engine import load_settings
    from radguard.web.accounts import create_user
    from radguard.web.app import create_app
    from tests.web.conftest import PASSWORD, login

    with db.transaction() as s:
        create_user(s, "assessor", PASSWORD, "assessor")
    app = create_app(db, settings=load_settings(settings))
    with TestClient(app, base_url="https://testserver") as c:
        c.headers["accept"] = "text/html"
        login(c, "assessor")
        r = c.post("/findings/decide", data={"ids": str(fid), "action": "accept", "reason": "r", "until": in_60,
                                             "csrf_token": csrf_of(c)})
        assert r.status_code == 400 and "at most 30 days" in r.text
    with db.read() as s:
        finding = s.get(Finding, fid)
        assert finding is not None and finding.state == "reopened"
    db.dispose()
    assert json.loads(rg("--db", sqlite_url, "findings", "show", str(fid), "--json").out)["state"] == "reopened"
