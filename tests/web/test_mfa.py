"""TOTP second factor: enrolment with a QR code, wrong and reused codes, single-use recovery
codes, the shared sign-in throttle, and the admins/all policy."""

from __future__ import annotations

import re
import time

import httpx
import pyotp
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard.db.models.web import AuditEvent, RecoveryCode, User
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.web.accounts import SIGN_IN_FAILED
from radguard.web.app import create_app
from radguard.web.identity import totp
from radguard.web.throttle import LoginThrottle
from tests.web.conftest import PASSWORD, login


def _sign_in(c: TestClient, username: str, code: str = "", password: str = PASSWORD) -> httpx.Response:
    page = c.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    return c.post("/login", data={"username": username, "password": password, "code": code,
                                  "csrf_token": token.group(1)}, follow_redirects=False)


def _csrf(page: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert m, page
    return m.group(1)


def _enrol(c: TestClient) -> tuple[str, list[str]]:
    """Enrol the signed-in user through the pages; returns the secret and the recovery codes."""
    page = c.get("/account/mfa")
    assert page.status_code == 200 and "is <strong>off</strong>" in page.text
    started = c.post("/account/mfa/start", data={"csrf_token": _csrf(page.text)})
    assert started.status_code == 200
    assert "<svg" in started.text and "<path" in started.text  # the QR code, drawn on the server
    secret = re.search(r'class="totp-secret">([A-Z2-7]+)<', started.text)
    assert secret
    wrong = c.post("/account/mfa/confirm", data={"csrf_token": _csrf(started.text), "code": "000000"
                                                 if pyotp.TOTP(secret.group(1)).now() != "000000" else "111111"})
    assert wrong.status_code == 400
    done = c.post("/account/mfa/confirm", data={"csrf_token": _csrf(started.text),
                                                "code": pyotp.TOTP(secret.group(1)).now()})
    assert done.status_code == 200 and "is <strong>on</strong>" in done.text
    codes = re.findall(r"<li><code>([0-9a-f]{5}-[0-9a-f]{5})</code></li>", done.text)
    assert len(codes) == totp.RECOVERY_CODES and len(set(codes)) == len(codes)
    return secret.group(1), codes


def test_enrol_then_sign_in_with_codes(app: FastAPI, web_db: Database) -> None:
    with TestClient(app, base_url="https://testserver") as c:
        login(c, "assessor")
        secret, codes = _enrol(c)
    with web_db.read() as s:
        user = s.scalar(select(User).where(User.username == "assessor"))
        assert user is not None and user.totp_enabled and user.totp_secret == secret
        stored = list(s.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)))
        assert len(stored) == len(codes) and not any(code in h or code.replace("-", "") in h
                                                     for code in codes for h in stored)  # hashed, not kept
        actions = [e.action for e in s.scalars(select(AuditEvent).where(AuditEvent.actor == "assessor"))]
        assert {"mfa.enrol_started", "mfa.enrol_failed", "mfa.enabled"} <= set(actions)

    with TestClient(app, base_url="https://testserver") as c:
        no_code = _sign_in(c, "assessor")
        assert no_code.status_code == 401 and SIGN_IN_FAILED in no_code.text
        # the step enrolment used is spent; the next step's code (within the window) is fresh
        fresh = pyotp.TOTP(secret).at(time.time() + totp.STEP_SECONDS)
        assert _sign_in(c, "assessor", fresh).status_code == 303
    with TestClient(app, base_url="https://testserver") as replay:
        r = _sign_in(replay, "assessor", fresh)  # the same code again, still inside its window
        assert r.status_code == 401 and SIGN_IN_FAILED in r.text
        assert _sign_in(replay, "assessor", codes[0]).status_code == 303  # a recovery code instead
    with TestClient(app, base_url="https://testserver") as again:
        assert _sign_in(again, "assessor", codes[0]).status_code == 401  # single use
        assert _sign_in(again, "assessor", codes[1].upper()).status_code == 303
    with web_db.read() as s:
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        failed = [e for e in events if e.action == "login.mfa_failed"]
        assert len(failed) == 3 and all(e.actor == "anonymous" for e in failed)
        logins = [e for e in events if e.action == "login" and e.actor == "assessor"]
        assert [e.detail.get("factor") for e in logins[-3:]] == ["totp", "recovery", "recovery"]
        assert logins[-1].detail["recovery_codes_left"] == totp.RECOVERY_CODES - 2


def test_wrong_codes_are_throttled_like_wrong_passwords(app: FastAPI, web_db: Database) -> None:
    with TestClient(app, base_url="https://testserver") as c:
        login(c, "contributor")
        secret, _ = _enrol(c)
    now = [1000.0]
    app.state.login_throttle = LoginThrottle(free_per_account=3, clock=lambda: now[0])
    with TestClient(app, base_url="https://testserver") as attacker:
        for guess in ("123456", "654321", "111111"):
            assert _sign_in(attacker, "contributor", guess).status_code == 401
        # now even the right password with a right code is held back until the delay passes
        held = _sign_in(attacker, "contributor", pyotp.TOTP(secret).at(time.time() + totp.STEP_SECONDS))
        assert held.status_code == 401 and SIGN_IN_FAILED in held.text
    with web_db.read() as s:
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "login.throttled")) is not None
        user = s.scalar(select(User).where(User.username == "contributor"))
        assert user is not None and user.totp_last_step is not None
        step_before = user.totp_last_step
    now[0] += 3600
    with TestClient(app, base_url="https://testserver") as owner:
        r = _sign_in(owner, "contributor", pyotp.TOTP(secret).at(time.time() + totp.STEP_SECONDS))
        assert r.status_code == 303, r.text  # the held-back code was never checked, so it is still fresh
    with web_db.read() as s:
        user = s.scalar(select(User).where(User.username == "contributor"))
        assert user is not None and user.totp_last_step > step_before


def test_policy_sends_admins_to_enrol(web_db: Database) -> None:
    app = create_app(web_db, mfa_policy="admins")
    with TestClient(app, base_url="https://testserver") as admin:
        admin.headers["accept"] = "text/html"
        login(admin, "admin")
        for path in ("/", "/admin/users", "/findings"):
            r = admin.get(path, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"] == "/account/mfa", path
        assert admin.get("/api/v1/findings").status_code == 403
        page = admin.get("/account/mfa")
        assert "requires two-factor sign-in" in page.text
        _enrol(admin)
        assert admin.get("/admin/users").status_code == 200
        refused = admin.post("/account/mfa/disable", data={"csrf_token": _csrf(admin.get("/account/mfa").text),
                                                           "code": "123456"})
        assert refused.status_code == 403  # policy: an admin cannot turn it off
    with TestClient(app, base_url="https://testserver") as viewer:
        login(viewer, "viewer")
        assert viewer.get("/", follow_redirects=False).status_code == 200  # not covered by "admins"
    everyone = create_app(web_db, mfa_policy="all")
    with TestClient(everyone, base_url="https://testserver") as viewer:
        login(viewer, "viewer")
        assert viewer.get("/", follow_redirects=False).headers["location"] == "/account/mfa"
    with pytest.raises(InputError, match="--mfa"):
        create_app(web_db, mfa_policy="most")


def test_codes_within_the_window_once_each(web_db: Database) -> None:
    with web_db.transaction() as s:
        user = s.scalar(select(User).where(User.username == "viewer"))
        assert user is not None
        totp.begin_enrolment(user)
        assert user.totp_secret
        gen = pyotp.TOTP(user.totp_secret)
        t = 1_800_000_000.0
        codes = totp.confirm_enrolment(s, user, gen.at(t), now=t)
        assert totp.verify(s, user, gen.at(t), now=t) is None  # just used for enrolment
        assert totp.verify(s, user, gen.at(t - 30), now=t) is None  # older than the last accepted step
        assert totp.verify(s, user, gen.at(t + 30), now=t + 5) == "totp"  # one step ahead: clock skew
        assert totp.verify(s, user, gen.at(t + 120), now=t + 10) is None  # outside the window
        assert totp.verify(s, user, gen.at(t + 90), now=t + 90) == "totp"
        assert totp.verify(s, user, "12345", now=t) is None and totp.verify(s, user, "", now=t) is None
        assert totp.verify(s, user, codes[3], now=t) == "recovery"
        assert totp.recovery_codes_left(s, user) == totp.RECOVERY_CODES - 1
        new = totp.regenerate_recovery_codes(s, user)
        assert totp.verify(s, user, codes[4], now=t) is None  # old codes stopped working
        assert totp.verify(s, user, new[0], now=t) == "recovery"
        with pytest.raises(InputError):
            totp.begin_enrolment(user)
        totp.disable(s, user)
        assert not user.totp_enabled and totp.recovery_codes_left(s, user) == 0
        assert totp.mfa_required(user, "none") is False and totp.mfa_required(user, "all") is True
