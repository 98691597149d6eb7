"""Smoke test of the real OpenID provider the OIDC sign-in tests start (tests/support/oidc_provider.py)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.support.oidc_provider import OidcProvider, running_oidc_provider

REDIRECT = "http://127.0.0.1:9/auth/oidc/callback"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcProvider]:
    users = {"alice": {"groups": ["radguard-admins"], "email": "alice@hospital.test"}}
    with running_oidc_provider(tmp_path_factory.mktemp("oidc"), REDIRECT, users) as server:
        yield server


def test_discovery_and_jwks_are_served(provider: OidcProvider) -> None:
    doc = provider.discovery()
    assert doc["issuer"] == provider.issuer
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert "groups" in doc["claims_supported"]
    jwks = httpx.get(doc["jwks_uri"], timeout=5).json()
    (key,) = jwks["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["n"]
    assert "d" not in key, "the JWKS must publish only the public half of the signing key"
    assert key["n"] == provider.signing_key.as_dict()["n"]  # it signs with the key the tests were given


def test_an_authorization_request_without_pkce_is_refused(provider: OidcProvider) -> None:
    doc = provider.discovery()
    params = {"client_id": provider.client_id, "response_type": "code", "redirect_uri": REDIRECT,
              "scope": "openid", "state": "s1"}  # fmt: skip
    response = httpx.get(doc["authorization_endpoint"], params=params, timeout=5)
    assert response.status_code in (302, 303)
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["invalid_request"]
    assert "PKCE" in query["error_description"][0]
