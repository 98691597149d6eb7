"""OpenID Connect sign-in against a real provider (oidc-provider under Node, started here).

The full flow runs in Chromium; the refusals are driven over HTTP against the same provider, and
the ID-token checks are exercised by feeding crafted tokens to the very function the callback uses.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from radguard.db.models.web import User
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.web.accounts import directory_user
from radguard.web.app import create_app
from radguard.web.identity import oidc
from radguard.web.identity.ldap import IdentityConfig, load_identity_config
from tests.support.browser import chromium, live_server
from tests.support.oidc_provider import OidcProvider, running_oidc_provider, sign_in_at_provider
from tests.support.ports import free_port
from tests.web.conftest import PASSWORD, audit_events, login, oidc_app, oidc_client_config

SECRET_ENV = "RADGUARD_TEST_OIDC_SECRET"
USERS = {
    "alice": {"groups": ["imaging-security", "imaging-staff"], "email": "alice@hospital.test"},
    "bob": {"groups": ["imaging-staff"]},
    "dave": {"groups": ["finance"]},
}
APP_PORT = free_port()
REDIRECT = f"http://127.0.0.1:{APP_PORT}/auth/oidc/callback"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    with running_oidc_provider(tmp_path_factory.mktemp("oidc"), REDIRECT, USERS) as server:
        yield server


@pytest.fixture
def config(provider: OidcProvider, monkeypatch: pytest.MonkeyPatch) -> oidc.OidcConfig:
    monkeypatch.setenv(SECRET_ENV, provider.client_secret)
    return oidc_client_config(provider.issuer, provider.client_id, SECRET_ENV, REDIRECT,
                              ["openid", "profile", "email", "groups"],
                              {"imaging-security": "assessor", "imaging-staff": "viewer"})


@pytest.fixture
def sso_app(web_db: Database, config: oidc.OidcConfig) -> FastAPI:
    return oidc_app(web_db, config)



def _through_provider(authorization_url: str, username: str) -> str:
    """Sign in at the provider's login and consent forms; returns our callback URL."""
    return sign_in_at_provider(authorization_url, username, REDIRECT)


def _start(client: TestClient) -> str:
    response = client.get("/auth/oidc/start", params={"next": "/"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def _callback(client: TestClient, url: str) -> httpx.Response:
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}", follow_redirects=False)


@pytest.mark.browser
def test_full_flow_in_chromium_lands_on_the_dashboard_with_the_mapped_role(sso_app: FastAPI, web_db: Database) -> None:
    with live_server(sso_app, port=APP_PORT) as base, chromium() as browser:
        page = browser.new_context().new_page()
        page.goto(base + "/login")
        page.click("text=Sign in with Test IdP")
        page.fill("input[name=login]", "alice")
        page.fill("input[name=password]", "whatever the provider accepts")
        page.click("button[type=submit]")
        page.click("button:has-text('Continue')")  # the provider's consent screen
        page.wait_for_url(base + "/")
        assert page.inner_text(".who") == "alice (assessor)"
    with web_db.transaction() as s:
        alice = s.scalars(select(User).where(User.username == "alice")).one()
        assert alice.role == "assessor" and alice.password_hash == "!directory:oidc"
    (event,) = [e for e in audit_events(web_db, "login") if e.actor == "alice"]
    assert event.detail["source"] == "oidc" and event.detail["role"] == "assessor"


def test_role_is_recomputed_from_the_claim_and_the_change_audited(sso_app: FastAPI, web_db: Database) -> None:
    with web_db.transaction() as s:
        directory_user(s, "bob", "admin", "oidc")  # bob was an admin last time; the claim now says staff
    with TestClient(sso_app) as client:
        response = _callback(client, _through_provider(_start(client), "bob"))
        assert response.status_code == 303 and response.headers["location"] == "/"
        assert "bob (viewer)" in client.get("/").text
    with web_db.transaction() as s:
        assert s.scalars(select(User).where(User.username == "bob")).one().role == "viewer"
    (event,) = [e for e in audit_events(web_db, "login") if e.actor == "bob"]
    assert event.detail["previous_role"] == "admin" and event.detail["role"] == "viewer"


def test_no_mapped_claim_value_is_refused_clearly(sso_app: FastAPI, web_db: Database) -> None:
    with TestClient(sso_app) as client:
        response = _callback(client, _through_provider(_start(client), "dave"))
        assert response.status_code == 403
        assert "has no radguard role" in response.text
        assert client.get("/", follow_redirects=False).status_code in (302, 303, 401)
    with web_db.transaction() as s:
        assert s.scalars(select(User).where(User.username == "dave")).first() is None
    (event,) = audit_events(web_db, "login.failed")
    assert "groups" in event.detail["reason"] and event.detail["source"] == "oidc"


def test_tampered_state_is_refused(sso_app: FastAPI, web_db: Database) -> None:
    with TestClient(sso_app) as client:
        url = _through_provider(_start(client), "alice")
        query = parse_qs(urlsplit(url).query)
        state = query["state"][0]
        # Change the first character to a different one: a fixed replacement
        # would leave the state untouched whenever it already began with it.
        query["state"] = [("y" if state[0] == "x" else "x") + state[1:]]
        response = client.get("/auth/oidc/callback?" + urlencode(query, doseq=True), follow_redirects=False)
        assert response.status_code == 400
        assert "radguard_session" not in response.headers.get("set-cookie", "")
    (event,) = audit_events(web_db, "login.failed")
    assert "state" in event.detail["reason"]
    assert not [e for e in audit_events(web_db, "login") if e.actor == "alice"]


def test_a_replayed_code_is_refused(sso_app: FastAPI, web_db: Database) -> None:
    with TestClient(sso_app) as client:
        first = _through_provider(_start(client), "bob")
        assert _callback(client, first).status_code == 303
    with TestClient(sso_app) as attacker:
        # A fresh, valid state for this browser, but the code that was already used.
        fresh = parse_qs(urlsplit(_start(attacker)).query)
        code = parse_qs(urlsplit(first).query)["code"][0]
        response = attacker.get("/auth/oidc/callback?" + urlencode({"code": code, "state": fresh["state"][0]}),
                                follow_redirects=False)
        assert response.status_code == 401
    (event,) = audit_events(web_db, "login.failed")
    assert "invalid_grant" in event.detail["reason"]


def _claims(config: oidc.OidcConfig, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": config.issuer, "aud": config.client_id, "sub": "alice", "iat": now, "exp": now + 300,
              "nonce": "n-1", "groups": ["imaging-staff"]}  # fmt: skip
    claims.update(overrides)
    return claims


def _sign(claims: dict[str, Any], key: RSAKey) -> str:
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def test_id_token_checks_refuse_what_they_must(config: oidc.OidcConfig, provider: OidcProvider) -> None:
    discovered = oidc.discover(config)
    good = _sign(_claims(config), provider.signing_key)
    assert oidc.verify_id_token(config, discovered, good, "n-1")["sub"] == "alice"  # the control passes
    with pytest.raises(oidc.OidcSignInRefused, match="aud"):
        oidc.verify_id_token(config, discovered, _sign(_claims(config, aud="another-app"), provider.signing_key), "n-1")
    expired = _sign(_claims(config, exp=int(time.time()) - 3600), provider.signing_key)
    with pytest.raises(oidc.OidcSignInRefused, match="exp"):
        oidc.verify_id_token(config, discovered, expired, "n-1")
    # within the configured clock-skew leeway (60 s) a just-expired token is still accepted
    skewed = _sign(_claims(config, exp=int(time.time()) - 20), provider.signing_key)
    assert oidc.verify_id_token(config, discovered, skewed, "n-1")["sub"] == "alice"
    foreign = RSAKey.generate_key(2048, parameters={"kid": provider.signing_key.kid})
    with pytest.raises(oidc.OidcSignInRefused, match="signature"):
        oidc.verify_id_token(config, discovered, _sign(_claims(config), foreign), "n-1")
    with pytest.raises(oidc.OidcSignInRefused, match="nonce"):
        oidc.verify_id_token(config, discovered, good, "another-nonce")
    with pytest.raises(oidc.OidcSignInRefused, match="iss"):
        oidc.verify_id_token(config, discovered, _sign(_claims(config, iss="https://evil.test"), provider.signing_key),
                             "n-1")


def test_unreachable_provider_says_so_and_local_break_glass_still_works(web_db: Database, config: oidc.OidcConfig,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    down = config.model_copy(update={"issuer": f"http://127.0.0.1:{free_port()}", "timeout": 2})
    app = create_app(web_db, secure_cookies=False, identity=IdentityConfig(oidc=down))
    with TestClient(app) as client:
        response = client.get("/auth/oidc/start", follow_redirects=False)
        assert response.status_code == 503 and "cannot be reached" in response.text
        login(client, "admin", PASSWORD)
        assert client.get("/").status_code == 200
    assert audit_events(web_db, "login.provider_unreachable")
    (event,) = [e for e in audit_events(web_db, "login") if e.actor == "admin"]
    assert event.detail["break_glass"] is True
    assert any("break-glass" in r.getMessage() for r in caplog.records)


def test_identity_file_errors_name_the_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_SECRET_VAR", raising=False)
    path = tmp_path / "identity.yaml"
    base = ("oidc:\n  issuer: https://login.hospital.test\n  client_id: radguard\n"
            "  redirect_url: https://radguard.hospital.test/auth/oidc/callback\n"
            "  claim_roles: {imaging-staff: viewer}\n")
    path.write_text(base + "  client_secret_env: NO_SUCH_SECRET_VAR\n")
    with pytest.raises(InputError, match="client_secret_env: environment variable NO_SUCH_SECRET_VAR is not set"):
        load_identity_config(path)
    path.write_text(base.replace("https://login", "http://login") + "  client_secret_env: HOME\n")
    with pytest.raises(InputError, match="issuer: must be https://"):
        load_identity_config(path)
    path.write_text(base.replace("viewer", "superuser") + "  client_secret_env: HOME\n")
    with pytest.raises(InputError, match=r"oidc\.claim_roles\.imaging-staff"):
        load_identity_config(path)
    path.write_text(base + "  client_secret_env: HOME\n")
    assert load_identity_config(path).oidc is not None


@pytest.mark.parametrize(("line", "refusal"), [
    ("  role_claim: a..b\n", r"line 6, field 'oidc\.role_claim': 'a\.\.b' has an empty part"),
    ("  role_claim: .x\n", r"line 6, field 'oidc\.role_claim': '\.x' has an empty part"),
    ("  role_claim: ''\n", r"line 6, field 'oidc\.role_claim'"),
    ("  role_claim: " + "r" * 201 + "\n", r"line 6, field 'oidc\.role_claim': .*at most 200"),
    ("  use_userinfo: 0\n", r"line 6, field 'oidc\.use_userinfo': .*valid boolean"),
    ("  use_userinfo: 'no'\n", r"line 6, field 'oidc\.use_userinfo': .*valid boolean"),
    ("  sign_out_at_provider: 1\n", r"line 6, field 'oidc\.sign_out_at_provider'"),
    ("  post_logout_redirect_url: javascript:alert(1)\n", r"line 6, field 'oidc\.post_logout_redirect_url'"),
    ("  post_logout_redirect_url: http://evil.hospital.test/\n", r"post_logout_redirect_url: must be https://"),
])
def test_hostile_oidc_settings_are_refused_at_start_up(tmp_path: Path, line: str, refusal: str) -> None:
    """Each of these was accepted (and made every sign-in fail, or guessed a boolean from 0) or named
    pydantic's location without a line; now refused before serving, naming the line and field."""
    path = tmp_path / "identity.yaml"
    path.write_text("oidc:\n  issuer: https://login.hospital.test\n  client_id: radguard\n"
                    "  redirect_url: https://radguard.hospital.test/auth/oidc/callback\n"
                    "  claim_roles: {imaging-staff: viewer}\n" + line + "  client_secret_env: HOME\n")
    with pytest.raises(InputError, match=refusal):
        load_identity_config(path)


def test_a_binary_identity_file_is_refused_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "identity.yaml"
    path.write_bytes(b"oidc:\n  issuer: \xd4\xff\xfe\n")  # was a UnicodeDecodeError from path.read_text
    with pytest.raises(InputError, match=r"identity\.yaml, line 2: not UTF-8"):
        load_identity_config(path)
    path.write_bytes(b"oidc:\n  name: a\x00b\n")
    with pytest.raises(InputError, match=r"line 2: .*NUL"):
        load_identity_config(path)
