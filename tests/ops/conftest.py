"""The example Debian packages, built once per test session from this checkout (tests/ops/debian.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.ops.debian import build_packages


@pytest.fixture(scope="session")
def debs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``radguard-sensor`` and ``radguard`` .deb files built by scripts/build-deb."""
    return build_packages(tmp_path_factory.mktemp("debs"), ["radguard-sensor", "radguard"])
