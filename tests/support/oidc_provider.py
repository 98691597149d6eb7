"""A real OpenID provider (panva/oidc-provider under Node) for the OIDC sign-in tests.

Why real: discovery, JWKS, PKCE, one-time codes and state/nonce round-trips are exactly what a
hand-written fake would get wrong. tests/support/oidc/provider.mjs is configured by environment
and listens on a random loopback port; scripts/setup installs its pinned packages with `npm ci`.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from joserfc.jwk import RSAKey

from tests.support.ports import free_port, stop_group

NODE = "/usr/bin/node"
HERE = Path(__file__).parent / "oidc"
SCRIPT = HERE / "provider.mjs"


@dataclass(frozen=True)
class OidcProvider:
    """A running provider: its issuer URL and the one confidential client registered with it."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    signing_key: RSAKey  # the provider's private key: tests sign crafted tokens with it

    def discovery(self) -> dict[str, Any]:
        """The provider's /.well-known/openid-configuration document."""
        response = httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=5)
        response.raise_for_status()
        return dict(response.json())


@contextmanager
def running_oidc_provider(
    log_dir: Path,
    redirect_uri: str,
    users: dict[str, dict[str, Any]],
    client_id: str = "radguard",
    client_secret: str = "radguard-test-client-secret",
    post_logout_redirect_uri: str | None = None,
) -> Iterator[OidcProvider]:
    """Start the provider on a random loopback port; stop it (its whole process group) at the end.

    ``users`` maps a login to the claims the provider releases for it (e.g. ``{"groups": [...]}``;
    ``{"_userinfo": {...}}`` only from the userinfo endpoint). ``post_logout_redirect_uri`` is
    registered for RP-initiated logout.
    """
    if not (HERE / "node_modules" / "oidc-provider").is_dir():
        raise RuntimeError(f"{HERE}/node_modules is missing: run scripts/setup (it runs npm ci there)")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    key = RSAKey.generate_key(2048, parameters={"kid": f"test-{port}", "use": "sig", "alg": "RS256"})
    env = {
        **os.environ,
        "OIDC_PORT": str(port),
        "OIDC_REDIRECT_URI": redirect_uri,
        "OIDC_CLIENT_ID": client_id,
        "OIDC_CLIENT_SECRET": client_secret,
        "OIDC_USERS": json.dumps(users),
        "OIDC_SIGNING_JWK": json.dumps(key.as_dict(private=True)),
        "OIDC_POST_LOGOUT_URI": post_logout_redirect_uri or "",
    }
    log_dir.mkdir(parents=True, exist_ok=True)
    with (log_dir / "oidc-provider.log").open("wb") as log:
        proc = subprocess.Popen([NODE, str(SCRIPT)], cwd=HERE, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    try:
        _wait_for_discovery(issuer, proc, log_dir / "oidc-provider.log")
        yield OidcProvider(issuer, client_id, client_secret, redirect_uri, key)
    finally:
        stop_group(proc)


def _wait_for_discovery(issuer: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"oidc-provider exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"oidc-provider at {issuer} gave no discovery within {timeout}s: {log.read_text()[-2000:]}")


def sign_in_at_provider(authorization_url: str, username: str, redirect_uri: str,
                        browser: httpx.Client | None = None) -> str:
    """Sign in at the provider's (development) login and consent forms; returns the callback URL
    the provider redirects to. Pass ``browser`` to keep the provider's session cookies afterwards.
    """
    client = browser or httpx.Client(follow_redirects=False, timeout=10)
    try:
        response = client.get(authorization_url)
        for _ in range(12):
            location = response.headers.get("location")
            if location and location.startswith(redirect_uri):
                return location
            if location:
                response = client.get(urljoin(str(response.url), location))
                continue
            action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
            prompt = re.search(r'name="prompt" value="(\w+)"', response.text)
            assert action and prompt, response.text
            data = ({"prompt": "login", "login": username, "password": "any"} if prompt.group(1) == "login"
                    else {"prompt": prompt.group(1)})
            response = client.post(urljoin(str(response.url), action.group(1)), data=data)
    finally:
        if browser is None:
            client.close()
    raise AssertionError("the provider never redirected back")
