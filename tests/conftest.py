"""Shared fixtures: databases on both engines and a way to run the CLI in-process.

``db_url`` is parametrised over SQLite and a real PostgreSQL server that this test session
starts itself, so every test that takes it runs on both engines.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from radguard.db.migrate import upgrade
from radguard.db.session import Database, open_database
from tests.support.postgres import create_database, postgres_server
from tests.support.redis import RedisBroker

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with postgres_server() as base:
        yield base


@pytest.fixture
def broker() -> Iterator[RedisBroker]:
    """A real redis-server with TLS and a password (the sensors' broker), stopped after the test."""
    b = RedisBroker()
    b.start()
    yield b
    b.cleanup()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'radguard.db'}"
    base = request.getfixturevalue("pg_server")
    return create_database(base)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """For tests whose subject does not depend on the engine."""
    return f"sqlite:///{tmp_path / 'radguard.db'}"


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    db = open_database(db_url)
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    db = open_database(sqlite_url)
    upgrade(db)
    yield db
    db.dispose()


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def rg(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """Run ``radguard ARGS`` in-process exactly as the console script does."""
    from radguard.cli.main import run

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("NO_COLOR", "1")

    def invoke(*args: str) -> CliResult:
        capsys.readouterr()
        code = 0
        try:
            run([str(a) for a in args])
        except SystemExit as exc:
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return invoke


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Never touch the user's real default database from a test."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.delenv("RADGUARD_DB", raising=False)
    os.environ.setdefault("TCP_NODELAY", "1")
