"""A Northwind Health database built once per test session; the tests that use it only read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reports.northwind import populate


@pytest.fixture(scope="session")
def northwind_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('northwind') / 'radguard.db'}"
    populate(url)
    return url


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("reports")
