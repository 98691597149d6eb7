"""OpenID Connect beyond the basic flow, against the real provider (oidc-provider under Node):
a nested role claim (Keycloak's ``realm_access.roles``), the role read from userinfo when the ID
token lacks it, an Entra ID groups overage refused clearly, RP-initiated sign-out, and the
pending-sign-in cookie accepted by another web worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from joserfc import jwt
from sqlalchemy import select

from radguard.db.models.web import User, WebSession
from radguard.db.session import Database
from radguard.web.identity import oidc
from radguard.web.routes.auth import OIDC_COOKIE
from tests.support.browser import chromium, live_server
from tests.support.oidc_provider import OidcProvider, running_oidc_provider, sign_in_at_provider
from tests.support.ports import free_port
from tests.web.conftest import audit_events, oidc_app, oidc_client_config

SECRET_ENV = "RADGUARD_TEST_OIDC_EXTRAS_SECRET"
GRAPH = "https://graph.microsoft.com/v1.0/users/max/getMemberObjects"
USERS: dict[str, dict[str, Any]] = {
    "alice": {"groups": ["imaging-security"]},
    # Keycloak: realm roles nested in realm_access.roles
    "kim": {"realm_access": {"roles": ["offline_access", "radguard-admin"]}},
    # groups released only by the userinfo endpoint, not in the ID token
    "lee": {"_userinfo": {"groups": ["imaging-security"]}},
    # Entra ID groups overage: a distributed claim pointing at Microsoft Graph instead of groups
    "max": {"_claim_names": {"groups": "src1"}, "_claim_sources": {"src1": {"endpoint": GRAPH}}},
}
APP_PORT = free_port()
BASE = f"http://127.0.0.1:{APP_PORT}"
REDIRECT = f"{BASE}/auth/oidc/callback"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    with running_oidc_provider(tmp_path_factory.mktemp("oidc-extras"), REDIRECT, USERS,
                               post_logout_redirect_uri=f"{BASE}/login") as server:
        yield server


@pytest.fixture
def config(provider: OidcProvider, monkeypatch: pytest.MonkeyPatch) -> oidc.OidcConfig:
    monkeypatch.setenv(SECRET_ENV, provider.client_secret)
    return oidc_client_config(provider.issuer, provider.client_id, SECRET_ENV, REDIRECT,
                              ["openid", "profile", "groups", "roles"],
                              {"imaging-security": "assessor", "radguard-admin": "admin"})



def _start(client: TestClient) -> str:
    response = client.get("/auth/oidc/start", follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


def _callback(client: TestClient, url: str) -> httpx.Response:
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}", follow_redirects=False)


def _sign_in(app: FastAPI, username: str) -> tuple[httpx.Response, TestClient]:
    client = TestClient(app)
    return _callback(client, sign_in_at_provider(_start(client), username, REDIRECT)), client


def _id_token_of(db: Database, username: str, provider: OidcProvider) -> dict[str, Any]:
    """The claims of the ID token stored with the user's session (its signature was checked at sign-in)."""
    with db.read() as s:
        user = s.scalars(select(User).where(User.username == username)).one()
        ws = s.scalars(select(WebSession).where(WebSession.user_id == user.id)).one()
        assert ws.method == "oidc" and ws.id_token
        token = ws.id_token
    return dict(jwt.decode(token, provider.signing_key).claims)


def test_role_read_from_a_nested_claim_path(web_db: Database, config: oidc.OidcConfig,
                                            provider: OidcProvider) -> None:
    keycloak = config.model_copy(update={"role_claim": "realm_access.roles"})
    response, client = _sign_in(oidc_app(web_db, keycloak), "kim")
    assert response.status_code == 303, response.text
    assert "kim (admin)" in client.get("/").text
    client.close()
    assert _id_token_of(web_db, "kim", provider)["realm_access"] == {"roles": ["offline_access", "radguard-admin"]}
    # the top-level-only reading (the control) finds nothing to map for kim
    response, client = _sign_in(oidc_app(web_db, config), "kim")
    assert response.status_code == 403 and "has no radguard role" in response.text
    client.close()


def test_claim_path_matches_a_dotted_name_whole_before_walking() -> None:
    claims = {"https://hospital.test/roles": ["a"], "realm_access": {"roles": ["b"]}, "flat": "c"}
    assert oidc.claim_at(claims, "https://hospital.test/roles") == ["a"]
    assert oidc.claim_at(claims, "realm_access.roles") == ["b"]
    assert oidc.claim_at(claims, "realm_access.missing") is None
    assert oidc.claim_at(claims, "flat.deeper") is None


def test_role_read_from_userinfo_when_the_id_token_lacks_it(web_db: Database, config: oidc.OidcConfig,
                                                            provider: OidcProvider) -> None:
    response, client = _sign_in(oidc_app(web_db, config), "lee")
    assert response.status_code == 303, response.text
    assert "lee (assessor)" in client.get("/").text
    client.close()
    assert "groups" not in _id_token_of(web_db, "lee", provider)  # the role came from userinfo only
    # with userinfo turned off the same person has no role
    response, client = _sign_in(oidc_app(web_db, config.model_copy(update={"use_userinfo": False})), "lee")
    assert response.status_code == 403
    client.close()


def test_entra_groups_overage_is_refused_with_advice_and_audited(web_db: Database, config: oidc.OidcConfig) -> None:
    response, client = _sign_in(oidc_app(web_db, config), "max")
    client.close()
    assert response.status_code == 403
    assert "too many groups" in response.text and "app roles" in response.text
    with web_db.read() as s:
        assert s.scalars(select(User).where(User.username == "max")).first() is None
    (event,) = audit_events(web_db, "login.failed")
    assert "overage" in event.detail["reason"] and event.detail["subject"] == "max"
    # the implicit-flow marker (hasgroups) is refused the same way; an ordinary token is not
    with pytest.raises(oidc.GroupsOverage, match="hasgroups"):
        oidc.check_overage(config, {"sub": "x", "hasgroups": True})
    oidc.check_overage(config, {"sub": "x", "groups": ["imaging-security"], "hasgroups": True})
    oidc.check_overage(config, {"sub": "x"})


def test_the_pending_sign_in_cookie_works_on_another_worker(web_db: Database, config: oidc.OidcConfig,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Two app instances stand for two worker processes: the browser leaves from one, returns to the other."""
    one, two = oidc_app(web_db, config), oidc_app(web_db, config)
    with TestClient(one) as leaving, TestClient(two) as returning:
        url = sign_in_at_provider(_start(leaving), "alice", REDIRECT)
        returning.cookies.set(OIDC_COOKIE, leaving.cookies[OIDC_COOKIE])
        response = _callback(returning, url)
        assert response.status_code == 303, response.text
        assert "alice (assessor)" in returning.get("/").text
    # the control: a worker configured with another client secret refuses the cookie
    monkeypatch.setenv("OTHER_SECRET", "another-client-secret")
    stranger = oidc_app(web_db, config.model_copy(update={"client_secret_env": "OTHER_SECRET"}))
    with TestClient(one) as leaving, TestClient(stranger) as returning:
        url = sign_in_at_provider(_start(leaving), "alice", REDIRECT)
        returning.cookies.set(OIDC_COOKIE, leaving.cookies[OIDC_COOKIE])
        assert _callback(returning, url).status_code == 400
    assert "pending sign-in cookie" in audit_events(web_db, "login.failed")[-1].detail["reason"]


@pytest.mark.browser
def test_signing_out_ends_the_providers_session_too(web_db: Database, config: oidc.OidcConfig,
                                                    provider: OidcProvider) -> None:
    app = oidc_app(web_db, config)
    with live_server(app, port=APP_PORT) as base, chromium() as browser:
        page = browser.new_context().new_page()
        page.goto(base + "/login")
        page.click("text=Sign in with Test IdP")
        page.fill("input[name=login]", "alice")
        page.fill("input[name=password]", "whatever the provider accepts")
        page.click("button[type=submit]")
        page.click("button:has-text('Continue')")
        page.wait_for_url(base + "/")
        id_token = _id_token_of(web_db, "alice", provider)
        assert id_token["sub"] == "alice"
        page.click("button:has-text('Sign out')")
        page.wait_for_url(lambda url: url.startswith(config.issuer))  # the provider asks to confirm
        hint = parse_qs(urlsplit(page.url).query)
        assert hint["post_logout_redirect_uri"] == [f"{base}/login"] and hint["id_token_hint"]
        page.click("button:has-text('Yes')")
        page.wait_for_url(base + "/login")
        # signed out at the provider: signing in again asks for the password, not straight back in
        page.click("text=Sign in with Test IdP")
        page.wait_for_selector("input[name=login]")
    with web_db.read() as s:
        assert not list(s.scalars(select(WebSession)))
    (event,) = [e for e in audit_events(web_db, "logout") if e.actor == "alice"]
    assert event.detail == {"provider_sign_out": True}


def test_sign_out_stays_local_when_turned_off_or_for_a_local_account(web_db: Database,
                                                                     config: oidc.OidcConfig) -> None:
    app = oidc_app(web_db, config.model_copy(update={"sign_out_at_provider": False}))
    response, client = _sign_in(app, "alice")
    assert response.status_code == 303
    csrf = client.get("/").text.split('"X-CSRF-Token": "')[1].split('"')[0]
    r = client.post("/logout", headers={"X-CSRF-Token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    client.close()
    (event,) = [e for e in audit_events(web_db, "logout") if e.actor == "alice"]
    assert event.detail == {}
    discovered = oidc.discover(config)
    assert discovered.end_session_endpoint and discovered.userinfo_endpoint
    assert oidc.end_session_url(config, discovered, None) is None  # a session without an ID token
    url = oidc.end_session_url(config, discovered, "header.payload.signature")
    assert url is not None and parse_qs(urlsplit(url).query)["client_id"] == [config.client_id]
