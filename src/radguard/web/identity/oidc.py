"""OpenID Connect sign-in (Entra ID, Okta, Keycloak…): authorization code + PKCE, verified ID token.

Why it is built this way: the provider is the source of truth for who works in imaging security,
so the role is recomputed from one claim (``groups``, ``roles``…) at *every* sign-in, as for LDAP.
Everything that decides whether an ID token is believed lives in :func:`verify_id_token` — the
callback uses exactly that function, and the tests feed it crafted tokens (wrong audience,
expired, signed by a foreign key) to prove each check refuses. Building blocks are Authlib's
(PKCE challenge, random tokens) and joserfc, Authlib's JOSE library (JWS signature against the
provider's JWKS, ``iss``/``aud``/``exp``/``nonce`` with a clock-skew leeway); nothing is parsed by hand.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from pydantic import BaseModel, ConfigDict, Field, model_validator

from radguard.db.models.web import ROLES
from radguard.errors import RadguardError

Role = Literal["viewer", "contributor", "assessor", "admin"]
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256", "ES384"]
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class ProviderUnreachable(RadguardError):
    """The provider's discovery, JWKS or token endpoint did not answer; local accounts still sign in."""


class OidcSignInRefused(RadguardError):
    """The sign-in cannot be believed or gives no role; ``reason`` goes to the audit log."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"sign-in refused: {reason}")
        self.reason = reason


class OidcConfig(BaseModel):
    """The ``oidc:`` section of the identity file (``radguard serve --identity FILE.yaml``).

    :param name: shown on the button, "Sign in with <name>" (e.g. ``Hospital Entra ID``).
    :param issuer: the provider's issuer URL exactly as its discovery document states it; https
        (plain http only on loopback, for tests and labs).
    :param client_id: the application (client) ID registered at the provider.
    :param client_secret_env / client_secret_file: where the client secret is read (an environment
        variable name, or a file whose stripped content is the secret); exactly one. Never inline.
    :param redirect_url: this server's ``…/auth/oidc/callback`` URL, as registered at the provider.
    :param scopes: requested scopes; must include ``openid``.
    :param role_claim: the ID token claim holding groups/roles (``groups``, ``roles``…).
    :param claim_roles: claim value → radguard role; the highest mapped role wins.
    :param username_claim: claim used as the radguard user name (``preferred_username``; ``sub``
        when the claim is absent).
    :param leeway: seconds of clock skew allowed on ``exp``/``iat``/``nbf``.
    :param timeout: seconds before the provider counts as unreachable.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="single sign-on", min_length=1, max_length=60)
    issuer: str = Field(pattern=r"^https?://[^/?#]+")
    client_id: str = Field(min_length=1)
    client_secret_env: str | None = None
    client_secret_file: Path | None = None
    redirect_url: str = Field(pattern=r"^https?://[^/?#]+/.*auth/oidc/callback$")
    scopes: list[str] = Field(default_factory=lambda: ["openid", "profile", "email"])
    role_claim: str = "groups"
    claim_roles: dict[str, Role]
    username_claim: str = "preferred_username"
    leeway: int = Field(default=60, ge=0, le=600)
    timeout: int = Field(default=5, gt=0, le=60)

    @model_validator(mode="after")
    def _check(self) -> OidcConfig:
        for url, name in ((self.issuer, "issuer"), (self.redirect_url, "redirect_url")):
            parts = urlsplit(url)
            if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
                raise ValueError(f"{name}: must be https:// (plain http only on loopback)")
        if "openid" not in self.scopes:
            raise ValueError("scopes: must include openid")
        if not self.claim_roles:
            raise ValueError("claim_roles: map at least one claim value to a role")
        if (self.client_secret_env is None) == (self.client_secret_file is None):
            raise ValueError("client_secret_env / client_secret_file: give exactly one")
        self.client_secret()  # fail at start-up, not at the first sign-in
        return self

    def client_secret(self) -> str:
        """The client secret from the environment variable or file the configuration names."""
        if self.client_secret_env is not None:
            value = os.environ.get(self.client_secret_env, "")
            if not value:
                raise ValueError(f"client_secret_env: environment variable {self.client_secret_env} is not set")
            return value
        assert self.client_secret_file is not None
        try:
            value = self.client_secret_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"client_secret_file: cannot read {self.client_secret_file}: {exc.strerror}") from exc
        if not value:
            raise ValueError(f"client_secret_file: {self.client_secret_file} is empty")
        return value


@dataclass
class Provider:
    """What discovery told us, and the provider's signing keys (refreshed when a kid is unknown)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    keys: KeySet
    fetched_at: float = field(default_factory=time.monotonic)


def _get_json(url: str, timeout: int) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=False)
        response.raise_for_status()
        data = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnreachable(f"OpenID provider: {url}: {exc}; local break-glass accounts can "
                                  "still sign in") from exc
    if not isinstance(data, dict):
        raise ProviderUnreachable(f"OpenID provider: {url}: not a JSON object")
    return data


def discover(config: OidcConfig) -> Provider:
    """Read the discovery document and JWKS; the document must name the configured issuer.

    :raises ProviderUnreachable: the provider did not answer or answered nonsense.
    """
    doc = _get_json(config.issuer.rstrip("/") + "/.well-known/openid-configuration", config.timeout)
    if doc.get("issuer") != config.issuer:
        raise ProviderUnreachable(f"OpenID provider: discovery says issuer {doc.get('issuer')!r}, the "
                                  f"identity file says {config.issuer!r}; set oidc.issuer to the provider's value")
    try:
        endpoints = {k: str(doc[k]) for k in ("authorization_endpoint", "token_endpoint", "jwks_uri")}
    except KeyError as exc:
        raise ProviderUnreachable(f"OpenID provider: discovery has no {exc.args[0]}") from exc
    return Provider(issuer=config.issuer, authorization_endpoint=endpoints["authorization_endpoint"],
                    token_endpoint=endpoints["token_endpoint"], jwks_uri=endpoints["jwks_uri"],
                    keys=_keys(endpoints["jwks_uri"], config.timeout))


def _keys(jwks_uri: str, timeout: int) -> KeySet:
    try:
        return KeySet.import_key_set(_get_json(jwks_uri, timeout))  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError) as exc:
        raise ProviderUnreachable(f"OpenID provider: {jwks_uri}: not a usable JWKS: {exc}") from exc


@dataclass(frozen=True)
class Pending:
    """What the browser carries (in a signed cookie) between leaving for the provider and coming back."""

    state: str
    nonce: str
    code_verifier: str
    next: str


def authorization_url(config: OidcConfig, provider: Provider, next: str) -> tuple[str, Pending]:
    """The provider URL to send the browser to, with fresh state, nonce and a PKCE S256 challenge."""
    pending = Pending(state=generate_token(32), nonce=generate_token(32), code_verifier=generate_token(64), next=next)
    query = urlencode({
        "response_type": "code", "client_id": config.client_id, "redirect_uri": config.redirect_url,
        "scope": " ".join(config.scopes), "state": pending.state, "nonce": pending.nonce,
        "code_challenge": create_s256_code_challenge(pending.code_verifier), "code_challenge_method": "S256",
    })  # fmt: skip
    sep = "&" if "?" in provider.authorization_endpoint else "?"
    return f"{provider.authorization_endpoint}{sep}{query}", pending


def exchange_code(config: OidcConfig, provider: Provider, code: str, code_verifier: str) -> str:
    """Trade the one-time code (with the PKCE verifier) for tokens; returns the raw ID token.

    :raises OidcSignInRefused: the provider refused the code (used before, expired, wrong verifier).
    :raises ProviderUnreachable: the token endpoint did not answer.
    """
    try:
        response = httpx.post(provider.token_endpoint, timeout=config.timeout,
                              auth=(config.client_id, config.client_secret()),
                              data={"grant_type": "authorization_code", "code": code,
                                    "redirect_uri": config.redirect_url, "code_verifier": code_verifier})  # fmt: skip
    except httpx.HTTPError as exc:
        raise ProviderUnreachable(f"OpenID provider: {provider.token_endpoint}: {exc}") from exc
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("id_token"):
        error = body.get("error", response.status_code) if isinstance(body, dict) else response.status_code
        raise OidcSignInRefused(f"token endpoint refused the code: {error}")
    return str(body["id_token"])


def verify_id_token(config: OidcConfig, provider: Provider, id_token: str, nonce: str,
                    now: int | None = None) -> dict[str, Any]:
    """The ID token's claims, if and only if it is believable.

    Checks: JWS signature by a key in the provider's JWKS (asymmetric algorithms only, never
    ``none`` or HMAC), ``iss`` is the configured issuer, ``aud`` contains our client ID (and
    ``azp`` is ours when there are several audiences), ``exp`` not passed, ``iat`` present,
    ``nonce`` is the one this browser was given — times with ``config.leeway`` seconds of skew.

    :raises OidcSignInRefused: naming the check that failed (for the audit log).
    """
    try:
        token = jwt.decode(id_token, provider.keys, algorithms=ALGORITHMS)
    except JoseError as exc:
        raise OidcSignInRefused(f"ID token signature not verified with the provider's keys: {exc}") from exc
    claims = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        now=now, leeway=config.leeway,
        iss={"essential": True, "value": config.issuer},
        aud={"essential": True, "value": config.client_id},
        exp={"essential": True}, iat={"essential": True}, sub={"essential": True},
        nonce={"essential": True, "value": nonce},
    )  # fmt: skip
    try:
        registry.validate(claims)
    except JoseError as exc:
        raise OidcSignInRefused(f"ID token refused: {exc}") from exc
    aud = claims["aud"]
    if isinstance(aud, list) and len(aud) > 1 and claims.get("azp") != config.client_id:
        raise OidcSignInRefused("ID token refused: several audiences and azp is not our client")
    return claims


def refresh_keys(config: OidcConfig, provider: Provider) -> None:
    """Re-read the JWKS (the provider rotated its key); at most once a minute."""
    if time.monotonic() - provider.fetched_at > 60:
        provider.keys = _keys(provider.jwks_uri, config.timeout)
        provider.fetched_at = time.monotonic()


@dataclass(frozen=True)
class OidcIdentity:
    """Who the provider says signed in, and the role the claim gives them now."""

    username: str
    subject: str
    role: str
    claim_values: tuple[str, ...]


def identity(config: OidcConfig, claims: dict[str, Any]) -> OidcIdentity:
    """Map verified claims to a user name and role; no mapped claim value → refused."""
    raw = claims.get(config.role_claim)
    values = tuple(str(v) for v in raw) if isinstance(raw, list) else ((str(raw),) if raw else ())
    roles = [config.claim_roles[v] for v in values if v in config.claim_roles]
    username = str(claims.get(config.username_claim) or claims["sub"])[:128]
    if not roles:
        raise OidcSignInRefused(f"claim {config.role_claim!r} has no value mapped to a radguard role")
    return OidcIdentity(username=username, subject=str(claims["sub"]), role=max(roles, key=ROLES.index),
                        claim_values=values)
