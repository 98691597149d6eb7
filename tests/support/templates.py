"""Seeded SQLite databases built once and copied for each test.

Seeding (imports, argon2 password hashes) is slow; copying a file is not. The template is
checkpointed before use so that a copy never misses rows still sitting in the WAL file.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from radguard.db.migrate import upgrade
from radguard.db.session import Database, open_database


def build_template(path: Path, seed: Callable[[Session], None]) -> Path:
    """Create a migrated database at ``path``, fill it in one transaction with ``seed``."""
    db = open_database(f"sqlite:///{path}")
    upgrade(db)
    with db.transaction() as session:
        seed(session)
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.dispose()
    return path


@contextmanager
def copy_of(template: Path, directory: Path, name: str = "test.db") -> Iterator[Database]:
    """A private copy of ``template`` in ``directory``, opened; disposed afterwards."""
    path = directory / name
    shutil.copyfile(template, path)
    db = open_database(f"sqlite:///{path}")
    try:
        yield db
    finally:
        db.dispose()
