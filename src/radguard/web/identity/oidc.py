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

import hashlib
import hmac
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
from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

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
    :param role_claim: the claim holding groups/roles (``groups``, ``roles``…), or a dotted path
        into a nested claim (Keycloak's ``realm_access.roles``); a claim whose own name has dots
        (``https://hospital.test/roles``) is matched whole first.
    :param claim_roles: claim value → radguard role; the highest mapped role wins.
    :param use_userinfo: when the ID token lacks ``role_claim``, read it from the provider's
        userinfo endpoint (with the access token; its ``sub`` must be the ID token's).
    :param post_logout_redirect_url: where the provider sends the browser after signing out at
        the provider (RP-initiated logout, when discovery advertises ``end_session_endpoint``);
        must be registered at the provider. Default: this server's ``/login`` next to ``redirect_url``.
    :param sign_out_at_provider: end the provider's session too when a single sign-on user signs out.
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
    role_claim: str = Field(default="groups", min_length=1, max_length=200)
    claim_roles: dict[str, Role]
    username_claim: str = "preferred_username"
    leeway: int = Field(default=60, ge=0, le=600)
    timeout: int = Field(default=5, gt=0, le=60)
    use_userinfo: StrictBool = True  # strict: "no" in quotes or 0 is a mistake to name, not a guess
    post_logout_redirect_url: str | None = Field(default=None, pattern=r"^https?://[^/?#]+")
    sign_out_at_provider: StrictBool = True

    @field_validator("role_claim")
    @classmethod
    def _role_claim(cls, value: str) -> str:
        # "a..b" or ".x" can never match a claim (a name with dots is matched whole, then by parts):
        # refused here rather than every sign-in failing later with "claim not in the ID token".
        if any(not part.strip() for part in value.split(".")):
            raise ValueError(f"{value!r} has an empty part; give a claim name (groups) or a dotted path with "
                             "a name between each dot (realm_access.roles)")
        return value

    @model_validator(mode="after")
    def _check(self) -> OidcConfig:
        for url, name in ((self.issuer, "issuer"), (self.redirect_url, "redirect_url"),
                          (self.post_logout_redirect_url or "", "post_logout_redirect_url")):
            if not url:
                continue
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

    def after_sign_out_url(self) -> str:
        """Where the provider sends the browser back after signing out (``post_logout_redirect_url``)."""
        if self.post_logout_redirect_url:
            return self.post_logout_redirect_url
        return self.redirect_url.removesuffix("auth/oidc/callback") + "login"

    def cookie_key(self) -> bytes:
        """The key signing the pending-sign-in cookie, derived from the client secret.

        Every web worker reading the same identity file derives the same key, so a browser that
        leaves for the provider from one worker can come back to another (a per-process random
        key failed those callbacks). The derivation is one-way: the cookie key does not reveal the
        secret, and it changes when the secret is rotated (a pending sign-in then starts again).
        """
        return hmac.new(self.client_secret().encode(), b"radguard oidc pending-sign-in cookie key",
                        hashlib.sha256).digest()

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
    userinfo_endpoint: str | None = None
    end_session_endpoint: str | None = None  # advertised by providers that support RP-initiated logout


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
    optional = {k: str(doc[k]) if isinstance(doc.get(k), str) and doc[k] else None
                for k in ("userinfo_endpoint", "end_session_endpoint")}
    return Provider(issuer=config.issuer, authorization_endpoint=endpoints["authorization_endpoint"],
                    token_endpoint=endpoints["token_endpoint"], jwks_uri=endpoints["jwks_uri"],
                    keys=_keys(endpoints["jwks_uri"], config.timeout),
                    userinfo_endpoint=optional["userinfo_endpoint"],
                    end_session_endpoint=optional["end_session_endpoint"])


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


@dataclass(frozen=True)
class Tokens:
    """What the token endpoint answered: the raw ID token and the access token (for userinfo)."""

    id_token: str
    access_token: str | None


def exchange_code(config: OidcConfig, provider: Provider, code: str, code_verifier: str) -> Tokens:
    """Trade the one-time code (with the PKCE verifier) for tokens.

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
    access = body.get("access_token")
    return Tokens(str(body["id_token"]), str(access) if isinstance(access, str) and access else None)


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


class GroupsOverage(OidcSignInRefused):
    """Entra ID left the groups out of the token (the user is in too many): configure app roles."""


OVERAGE_MESSAGE = ("Your account is in too many groups for the single sign-on token to list them (Entra ID "
                   "\"groups overage\"). Ask your administrator to give radguard app roles (role_claim: roles) "
                   "or to limit the groups claim to groups assigned to the radguard application.")
_MISSING = object()


def claim_at(claims: dict[str, Any], path: str) -> Any:
    """The value of claim ``path``: a top-level claim of that exact name, else a dotted path into
    nested objects (``realm_access.roles``); None when absent.

    :param claims: verified ID token (or userinfo) claims.
    :param path: a claim name or dotted path.
    """
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        value = value.get(part, _MISSING) if isinstance(value, dict) else _MISSING
        if value is _MISSING:
            return None
    return value


def check_overage(config: OidcConfig, claims: dict[str, Any]) -> None:
    """Refuse clearly when the provider signalled that the role claim did not fit in the token.

    Entra ID replaces ``groups`` with ``_claim_names: {"groups": "src1"}`` (a distributed claim
    pointing at Microsoft Graph) once a user is in more than 200 groups, or sets ``hasgroups``
    (implicit flow). radguard does not call Graph: it would need directory read permissions for
    a sign-in, so the fix is in the app registration.

    :raises GroupsOverage: the role claim is absent and the token says why.
    """
    if claim_at(claims, config.role_claim) is not None:
        return
    top = config.role_claim.split(".")[0]
    names = claims.get("_claim_names")
    distributed = isinstance(names, dict) and (config.role_claim in names or top in names)
    if distributed or (claims.get("hasgroups") in (True, "true") and top == "groups"):
        raise GroupsOverage(f"claim {config.role_claim!r} left out of the ID token (groups overage: "
                            f"{'_claim_names' if distributed else 'hasgroups'}); configure app roles or a "
                            "groups claim limited to the application's groups")


def userinfo(config: OidcConfig, provider: Provider, access_token: str | None, subject: str) -> dict[str, Any]:
    """The provider's userinfo claims for the signed-in person (read only when the ID token lacks
    the role claim). Its ``sub`` must equal the ID token's (OpenID Connect Core 5.3.2).

    :raises OidcSignInRefused: no endpoint or access token, a refusal, a non-JSON answer, another ``sub``.
    :raises ProviderUnreachable: the endpoint did not answer.
    """
    if not provider.userinfo_endpoint or not access_token:
        raise OidcSignInRefused(f"claim {config.role_claim!r} is not in the ID token and the provider gave "
                                "no userinfo endpoint or access token to read it from")
    try:
        response = httpx.get(provider.userinfo_endpoint, timeout=config.timeout, follow_redirects=False,
                             headers={"Authorization": f"Bearer {access_token}", "Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ProviderUnreachable(f"OpenID provider: {provider.userinfo_endpoint}: {exc}") from exc
    if response.status_code != 200:
        raise OidcSignInRefused(f"userinfo endpoint answered HTTP {response.status_code}")
    if not response.headers.get("content-type", "").startswith("application/json"):
        raise OidcSignInRefused("userinfo endpoint did not answer JSON (signed userinfo is not supported)")
    try:
        data = response.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise OidcSignInRefused("userinfo endpoint answered no JSON object")
    if data.get("sub") != subject:
        raise OidcSignInRefused("userinfo sub differs from the ID token's sub")
    return data


def role_claims(config: OidcConfig, provider: Provider, claims: dict[str, Any],
                access_token: str | None) -> dict[str, Any]:
    """The claims to map a role from: the ID token's, completed from userinfo when it lacks the
    role claim (and ``use_userinfo`` is on). An overage marker is refused before userinfo is tried:
    Entra ID's userinfo never lists groups.

    :raises GroupsOverage: see :func:`check_overage`.
    """
    check_overage(config, claims)
    if claim_at(claims, config.role_claim) is not None or not config.use_userinfo:
        return claims
    extra = userinfo(config, provider, access_token, str(claims["sub"]))
    merged = {**extra, **claims}  # the signed ID token wins, except for the claim it lacked
    key = config.role_claim if config.role_claim in extra else config.role_claim.split(".")[0]
    if key in extra:
        merged[key] = extra[key]
    return merged


def end_session_url(config: OidcConfig, provider: Provider, id_token: str | None) -> str | None:
    """The provider's sign-out URL (RP-initiated logout) with ``id_token_hint`` and
    ``post_logout_redirect_uri``; None when the provider advertises none or it is turned off."""
    if not (config.sign_out_at_provider and provider.end_session_endpoint and id_token):
        return None
    query = urlencode({"id_token_hint": id_token, "post_logout_redirect_uri": config.after_sign_out_url(),
                       "client_id": config.client_id})
    sep = "&" if "?" in provider.end_session_endpoint else "?"
    return f"{provider.end_session_endpoint}{sep}{query}"


@dataclass(frozen=True)
class OidcIdentity:
    """Who the provider says signed in, and the role the claim gives them now."""

    username: str
    subject: str
    role: str
    claim_values: tuple[str, ...]


def identity(config: OidcConfig, claims: dict[str, Any]) -> OidcIdentity:
    """Map verified claims to a user name and role; no mapped claim value → refused."""
    raw = claim_at(claims, config.role_claim)
    values = tuple(str(v) for v in raw) if isinstance(raw, list) else ((str(raw),) if raw else ())
    roles = [config.claim_roles[v] for v in values if v in config.claim_roles]
    username = str(claims.get(config.username_claim) or claims["sub"])[:128]
    if not roles:
        raise OidcSignInRefused(f"claim {config.role_claim!r} has no value mapped to a radguard role")
    return OidcIdentity(username=username, subject=str(claims["sub"]), role=max(roles, key=ROLES.index),
                        claim_values=values)
