"""Fixtures for the web tests: an app over a migrated database, users of every role, clients."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.db.models.findings import Finding
from radguard.db.models.web import ROLES, AuditEvent
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.readiness.dashboard import assess
from radguard.web.accounts import create_user
from radguard.web.app import create_app
from radguard.web.identity import oidc
from radguard.web.identity.ldap import IdentityConfig
from tests.conftest import EXAMPLES
from tests.support.templates import build_template, copy_of

PASSWORD = "correct horse battery"


def _one_user_per_role(s: Session) -> None:
    for role in ROLES:
        create_user(s, role, PASSWORD, role, f"The {role}")


@pytest.fixture(scope="session")
def _web_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with one user per role, made once (argon2 hashing is deliberately slow)."""
    return build_template(tmp_path_factory.mktemp("webtemplate") / "template.db", _one_user_per_role)


@pytest.fixture
def web_db(_web_template: Path, tmp_path: Path) -> Iterator[Database]:
    with copy_of(_web_template, tmp_path, "web.db") as db:
        yield db


@pytest.fixture
def app(web_db: Database) -> FastAPI:
    app = create_app(web_db)
    # Dashboard cards are computed in the background; tests wait for them rather than see placeholders.
    app.state.dashboard_wait = 120.0
    return app


def login(client: TestClient, username: str, password: str = PASSWORD) -> TestClient:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    r = client.post("/login", data={"username": username, "password": password, "csrf_token": token.group(1)},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return client


def csrf_of(client: TestClient) -> str:
    page = client.get("/")
    m = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
    assert m, page.text
    return m.group(1)


@pytest.fixture
def client_for(app: FastAPI) -> Iterator[Callable[[str], TestClient]]:
    clients: list[TestClient] = []

    def make(role: str) -> TestClient:
        c = TestClient(app, base_url="https://testserver")
        c.headers["accept"] = "text/html"
        clients.append(c)
        return login(c, role)

    yield make
    for c in clients:
        c.close()


def audit_events(db: Database, action: str) -> list[AuditEvent]:
    """The audit log's ``action`` entries, oldest first, readable after their session closed."""
    with db.read() as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))
        s.expunge_all()
        return events


def oidc_client_config(provider_issuer: str, client_id: str, secret_env: str, redirect: str, scopes: list[str],
                       claim_roles: dict[str, str]) -> oidc.OidcConfig:
    """radguard's OpenID settings for a test provider: role from the ``groups`` claim, secret from ``secret_env``."""
    return oidc.OidcConfig.model_validate({
        "name": "Test IdP", "issuer": provider_issuer, "client_id": client_id, "client_secret_env": secret_env,
        "redirect_url": redirect, "scopes": scopes, "role_claim": "groups", "claim_roles": claim_roles,
    })  # fmt: skip


def oidc_app(db: Database, config: oidc.OidcConfig) -> FastAPI:
    """The web app signing in through ``config``'s provider, with plain-HTTP cookies for the test client."""
    app = create_app(db, secure_cookies=False, identity=IdentityConfig(oidc=config))
    app.state.dashboard_wait = 120.0
    return app


def demo_open_finding(db: Database, check_id: str) -> tuple[int, int]:
    """The demo inventory imported and assessed; the asset and ID of ``check_id``'s first open finding."""
    with db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
    with db.transaction() as s:
        assess(s)
    with db.read() as s:
        finding = s.scalars(select(Finding).where(Finding.check_id == check_id, Finding.state == "open")
                            .order_by(Finding.id)).first()
        assert finding is not None and finding.asset_id is not None, f"no open {check_id} finding on an asset"
        return finding.asset_id, finding.id
