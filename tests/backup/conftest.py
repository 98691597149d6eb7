"""Fixtures for the backup tests: a generated archive and an isolated side-file directory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.backup.archive import Instance, make_archive

_CACHE: dict[str, list[Instance]] = {}


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Side files of interrupted runs go to a per-test directory, never the user's cache."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return cache


@pytest.fixture(scope="session")
def archive_master(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Instance]]:
    root = tmp_path_factory.mktemp("archive") / "src"
    return root, make_archive(root, studies=4, series_per_study=2, per_series=3)


@pytest.fixture
def archive(archive_master: tuple[Path, list[Instance]], tmp_path: Path) -> tuple[Path, list[Instance]]:
    """A fresh copy of the source archive for each test (tests damage their backups)."""
    root, made = archive_master
    src = tmp_path / "src"
    shutil.copytree(root, src)
    return src, made
