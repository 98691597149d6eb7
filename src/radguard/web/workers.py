"""The application as each ``radguard serve --workers N`` process builds it.

uvicorn starts its worker processes afresh (``spawn``) and imports the application by name, so
the options ``radguard serve`` checked cannot be handed over as objects. They travel as one
JSON value in the environment (:data:`ENV`); each worker reads the same settings and identity
files again and opens the same database. What must agree between the processes lives in that
database: sessions and their CSRF tokens, API tokens, the sign-in throttle
(``web.throttle.LoginThrottle``), the stored dashboard cards and roadmap, and the background
PDF jobs' state. The OpenID pending sign-in cookie is signed with a key derived from the
client secret, so any worker accepts the cookie another one set.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from fastapi import FastAPI

ENV = "RADGUARD_SERVE_WORKER"


@dataclass(frozen=True)
class WorkerOptions:
    """What ``radguard serve`` passes to each worker process (paths absolute)."""

    db_url: str
    db_wait: float
    trusted_proxies: list[str] = field(default_factory=list)
    settings_file: str | None = None
    mfa_policy: str = "none"
    identity_file: str | None = None

    def to_env(self) -> str:
        return json.dumps(asdict(self))


def create_from_environment() -> FastAPI:
    """The uvicorn factory of each worker: the app ``radguard serve`` would have built itself."""
    from radguard.checks.engine import load_settings
    from radguard.db.session import open_database
    from radguard.web.app import create_app
    from radguard.web.identity.ldap import load_identity_config

    raw = os.environ.get(ENV)
    if not raw:
        raise RuntimeError(f"{ENV} is not set; start the web application with `radguard serve`")
    options = WorkerOptions(**json.loads(raw))
    settings = load_settings(Path(options.settings_file) if options.settings_file else None)
    identity = load_identity_config(Path(options.identity_file)) if options.identity_file else None
    database = open_database(options.db_url, wait=options.db_wait)
    return create_app(database, trusted_proxies=options.trusted_proxies, settings=settings,
                      mfa_policy=options.mfa_policy, identity=identity)
