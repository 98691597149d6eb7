"""Where radguard keeps its data, and how a user chooses another database.

Resolution order: an explicit ``--db`` URL, then the ``RADGUARD_DB`` environment variable,
then a SQLite file in the user's data directory (see :func:`default_db_path`).
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

ENV_DB = "RADGUARD_DB"


def default_db_path() -> Path:
    """The embedded default database: ``~/.local/share/radguard/radguard.db`` on Linux."""
    return Path(user_data_dir("radguard", appauthor=False)) / "radguard.db"


def resolve_db_url(explicit: str | None = None) -> str:
    """Return the SQLAlchemy URL to use, creating the default data directory if needed."""
    if explicit:
        return _normalise(explicit)
    env = os.environ.get(ENV_DB)
    if env:
        return _normalise(env)
    path = default_db_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _normalise(url: str) -> str:
    """Accept a bare file path as SQLite and plain ``postgresql://`` as psycopg 3."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url
