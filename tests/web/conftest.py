"""Fixtures for the web tests: an app over a migrated database, users of every role, clients."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from radguard.db.migrate import upgrade
from radguard.db.models.web import ROLES
from radguard.db.session import Database, open_database
from radguard.web.accounts import create_user
from radguard.web.app import create_app

PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def _web_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database with one user per role, made once (argon2 hashing is deliberately slow)."""
    path = tmp_path_factory.mktemp("webtemplate") / "template.db"
    db = open_database(f"sqlite:///{path}")
    upgrade(db)
    with db.transaction() as s:
        for role in ROLES:
            create_user(s, role, PASSWORD, role, f"The {role}")
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@pytest.fixture
def web_db(_web_template: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "web.db"
    shutil.copyfile(_web_template, path)
    db = open_database(f"sqlite:///{path}")
    yield db
    db.dispose()


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
