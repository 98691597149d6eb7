"""Shared helpers for the feed tests: fixture paths and a database with the fixtures imported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from radguard.db.session import Database
from radguard.feeds.importer import collect_files, read_feeds
from radguard.feeds.store import ImportSummary, store_feeds
from tests.conftest import FIXTURES

FEEDS = FIXTURES / "feeds"
CSAF = FEEDS / "csaf"
KEV = FEEDS / "kev-subset.json"
NVD = FEEDS / "nvd-dcmtk-page.json"


def import_paths(db: Database, *paths: Path) -> ImportSummary:
    feeds = read_feeds(collect_files(paths))
    with db.transaction() as session:
        return store_feeds(session, feeds)


@pytest.fixture
def feeds_db(sqlite_db: Database) -> Iterator[Database]:
    """SQLite with every fixture feed imported (matching logic does not depend on the engine)."""
    import_paths(sqlite_db, CSAF, KEV, NVD)
    yield sqlite_db
