"""Where radguard keeps its data, and how a user chooses another database.

Resolution order: an explicit ``--db`` URL, then the ``RADGUARD_DB`` environment variable,
then a SQLite file in the user's data directory (see :func:`default_db_path`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from platformdirs import user_data_dir

from radguard.errors import ConfigError

ENV_DB = "RADGUARD_DB"
ENV_DB_WAIT = "RADGUARD_DB_WAIT"
DEFAULT_DB_WAIT = 30.0
MAX_DB_WAIT = 86400.0


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
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the data folder {path.parent}: {exc.strerror}; "
                          f"name another database with --db or {ENV_DB}") from None
    return f"sqlite:///{path}"


def resolve_db_wait(explicit: float | None = None) -> float:
    """How many seconds a command waits for another radguard's write to finish before giving up.

    :param explicit: the ``--db-wait`` option; else ``RADGUARD_DB_WAIT``; else 30 seconds.
    :raises ConfigError: not a number, negative, infinite or more than a day.
    """
    source, value = "--db-wait", explicit
    if value is None:
        text = os.environ.get(ENV_DB_WAIT)
        if not text:
            return DEFAULT_DB_WAIT
        source = ENV_DB_WAIT
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"{ENV_DB_WAIT}={text!r} is not a number of seconds") from None
    if not math.isfinite(value) or not 0 <= value <= MAX_DB_WAIT:
        raise ConfigError(f"{source} must be between 0 and {MAX_DB_WAIT:.0f} seconds, not {value}")
    return value


def _normalise(url: str) -> str:
    """Accept a bare file path as SQLite and plain ``postgresql://`` as psycopg 3."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url
