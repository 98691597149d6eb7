"""A throw-away PostgreSQL server for the test session (initdb + pg_ctl as user postgres).

initdb refuses to run as root, so the cluster is created and run as the ``postgres`` system
user (present wherever Debian's postgresql package is installed). The data directory lives
under /tmp and is removed at the end.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from tests.support.ports import free_port


def _bindir() -> str:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not candidates:
        raise RuntimeError("PostgreSQL server binaries not found; scripts/test installs postgresql")
    return os.path.dirname(candidates[-1])


def _as_postgres(cmd: str) -> None:
    if os.geteuid() == 0:
        subprocess.run(["su", "postgres", "-c", cmd], check=True, capture_output=True)
    else:
        subprocess.run(cmd, shell=True, check=True, capture_output=True)


@contextmanager
def postgres_server() -> Iterator[str]:
    """Yield a base URL ``postgresql+psycopg://postgres@127.0.0.1:PORT`` for a fresh cluster."""
    bindir = _bindir()
    root = tempfile.mkdtemp(prefix="radguard-pg-")
    os.chmod(root, 0o777)
    data = os.path.join(root, "data")
    port = free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    _as_postgres(f"{bindir}/initdb -D {data} -U postgres --auth=trust -E UTF8 --no-instructions")
    _as_postgres(
        f"{bindir}/pg_ctl -D {data} -l {root}/server.log "
        f"-o '-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off' -w start"
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        _as_postgres(f"{bindir}/pg_ctl -D {data} -m immediate -w stop")
        shutil.rmtree(root, ignore_errors=True)


def create_database(base_url: str) -> str:
    """Create an empty database on the server and return its URL."""
    import psycopg

    name = "rg_" + uuid.uuid4().hex[:12]
    dsn = base_url.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"
