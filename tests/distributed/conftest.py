"""Shared parts for the multi-site tests: a real PostgreSQL database and a local scope file (the real
TLS+password Redis, ``broker``, is in tests/conftest.py: the web tests use it too)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from radguard.db.migrate import upgrade
from radguard.db.models.inventory import Site
from radguard.db.session import Database, open_database
from tests.support.postgres import create_database


@pytest.fixture
def pg_db(pg_server: str) -> Iterator[Database]:
    """A migrated PostgreSQL database with sites NORTH and SOUTH."""
    url = create_database(pg_server)
    db = open_database(url)
    upgrade(db)
    with db.transaction() as session:
        session.add_all([Site(code="NORTH", name="North hospital"), Site(code="SOUTH", name="South clinic")])
    yield db
    db.dispose()


def write_scope(path: Path, targets: list[str], max_level: int = 2, exclude: list[str] | None = None,
                backup_paths: list[str] | None = None, window_end: datetime | None = None) -> Path:
    """A local scope file open for the next hour (or until ``window_end``)."""
    now = datetime.now(UTC)
    end = window_end or now + timedelta(hours=1)
    doc = {"authorized_by": "Dana Whitfield, CISO", "reason": "CHG-1 sensor discovery",
           "window": {"start": (now - timedelta(hours=1)).isoformat(), "end": end.isoformat()},
           "targets": targets, "exclude": exclude or [], "max_level": max_level}
    if backup_paths:
        doc["backup_paths"] = backup_paths
    path.write_text(yaml.safe_dump(doc))
    return path
