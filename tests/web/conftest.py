"""Fixtures for the web tests: an app over a migrated database, users of every role, clients."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from radguard.db.models.web import ROLES
from radguard.db.session import Database
from radguard.web.accounts import create_user
from radguard.web.app import create_app
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
