"""Fixtures for the checks stage: Northwind loaded once, copied per test; helpers to observe."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.checks.loader import CATALOG_DIR, Catalog, load_catalog
from radguard.checks.registry import CheckContext, Observation, load_evaluators
from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Asset, Site
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from tests.conftest import EXAMPLES
from tests.support.templates import build_template, copy_of

# The catalog files this stage owns; engine tests use only these so that other stages' work in
# progress cannot break them (test_loader checks the whole packaged catalog).
OWN_FILES = ("dicom.yaml", "network.yaml", "lifecycle.yaml", "access.yaml", "ai_cloud.yaml", "data.yaml",
             "inventory.yaml")


@pytest.fixture(scope="session")
def own_catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    directory = tmp_path_factory.mktemp("catalog")
    for name in OWN_FILES:
        shutil.copy(CATALOG_DIR / name, directory / name)
    ids = {spec_id for name in OWN_FILES for spec_id in _ids(directory / name)}
    return load_catalog(directory, {k: v for k, v in load_evaluators().items() if k in ids})


def _ids(path: Path) -> list[str]:
    import yaml

    return [c["id"] for c in yaml.safe_load(path.read_text())["checks"]]


# Northwind's review dates are in 2024–2026; a fixed "now" keeps every expectation stable.
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def northwind_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("northwind") / "northwind.db",
                          lambda s: import_inventory(s, EXAMPLES / "northwind-inventory.yaml"))


@pytest.fixture
def nw(northwind_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A private copy of the Northwind database (SQLite) for one test."""
    with copy_of(northwind_template, tmp_path, "nw.db") as db:
        yield db


def asset(session: Session, ref: str) -> Asset:
    code, name = ref.split("/", 1)
    found = session.scalar(select(Asset).join(Site).where(Site.code == code, Asset.name == name))
    assert found is not None, ref
    return found


def observe(session: Session, check_id: str, now: datetime = NOW,
            settings: dict[str, Any] | None = None) -> dict[str, Observation]:
    """Run one evaluator; results keyed by ``SITE/NAME`` (or subject) plus ``#key`` if any."""
    session.flush()
    ctx = CheckContext(session, now, settings or {})
    names = {a.id: f"{a.site.code}/{a.name}" for a in ctx.assets()}
    out: dict[str, Observation] = {}
    for obs in load_evaluators()[check_id](ctx):
        label = names[obs.asset_id] if obs.asset_id is not None else str(obs.subject)
        out[label + (f"#{obs.key}" if obs.key else "")] = obs
    return out


def add_probe(session: Session, host: str, port: int, *, asset_ref: str | None = None,
              at: datetime = NOW, **received: Any) -> Evidence:
    """Store a discovery result shaped like issue 3's endpoint document."""
    doc = {"host": host, "port": port, "state": "open", "service": "dicom", "dicom": None, "tls": None,
           "http": None, "errors": [], **received}
    row = Evidence(kind="probe.endpoint", host=host, port=port, received=doc, sent={"level": 2},
                   asset_id=asset(session, asset_ref).id if asset_ref else None, collected_at=at, source="test")
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def session_of(nw: Database) -> Iterator[Callable[[], Session]]:
    """Open a session on the Northwind copy; rolled back at the end."""
    sessions: list[Session] = []

    def make() -> Session:
        s = nw.sessions()
        sessions.append(s)
        return s

    yield make
    for s in sessions:
        s.rollback()
        s.close()


@pytest.fixture
def s(session_of: Callable[[], Session]) -> Session:
    return session_of()
