"""Operational faults, for real: a full disk (a tmpfs the test mounts), a database another
process holds locked, a read-only database, two ``radguard assess`` at once, private side files.

What every fault must give: a non-zero exit, a message that names the file or database and the
cause, no traceback, no SQL text, nothing half-written and nothing changed.

Permission tests run the CLI with the capabilities that let root ignore file modes
(CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER) dropped by ``setpriv``, so the kernel checks
modes exactly as for an ordinary user.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from radguard.backup.state import ScanState
from radguard.db.migrate import upgrade
from radguard.db.session import WRITE_LOCK_KEY, database_error, open_database
from radguard.errors import DatabaseError
from tests.backup.archive import make_archive
from tests.conftest import EXAMPLES, CliResult
from tests.support.postgres import create_database

NO_DAC = ["/usr/bin/setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


# --- helpers ----------------------------------------------------------------------------------


@contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A small file system of its own, so the test can fill it; unmounted whatever happens."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(folder: Path) -> None:
    """Write one file until the file system says it is full."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def cli(*args: str | Path, prefix: list[str] | None = None, timeout: float = 180) -> CliResult:
    """The real console entry point in its own process (environment inherited from the test)."""
    cmd = [*(prefix or []), sys.executable, "-m", "radguard.cli.main", *map(str, args)]
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    return CliResult(p.returncode, p.stdout, p.stderr)


def assert_clean_failure(r: CliResult, *words: str) -> None:
    assert r.code != 0, r.out
    assert "Traceback" not in r.err and "Traceback" not in r.out, r.err
    for leak in ("[SQL:", "INSERT ", "SELECT ", "UPDATE ", "parameters:"):
        assert leak not in r.err, r.err
    for word in words:
        assert word in r.err, r.err


def sqlite_dump(path: Path) -> list[str]:
    """Every row, as SQL. A read-write connection, so that closing it removes -wal and -shm."""
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def seed(run: Callable[..., CliResult], db: str, *, full: bool = True) -> None:
    steps: list[tuple[str | Path, ...]] = [("init",), ("inventory", "import", EXAMPLES / "northwind-inventory.yaml")]
    if full:
        steps += [("team", "import", EXAMPLES / "northwind-team.yaml"),
                  ("vendor", "import", EXAMPLES / "northwind-vendors.yaml"),
                  ("services", "import", EXAMPLES / "northwind-services.yaml"),
                  ("checklist", "assessment", "create", "--org", "Northwind", "--size", "medium")]
    for args in (*steps, ("assess", "--json")):
        r = run("--db", db, *args)
        assert r.code == 0, (args, r.err)


# --- a full disk ------------------------------------------------------------------------------


def test_every_writer_on_a_full_disk_names_the_file_and_leaves_nothing(rg, sqlite_url: str,  # type: ignore[no-untyped-def]
                                                                       tmp_path: Path) -> None:
    seed(rg, sqlite_url)
    store = tmp_path / "store"
    make_archive(store, studies=1, series_per_study=1, per_series=2)
    before = sqlite_dump(Path(sqlite_url.removeprefix("sqlite:///")))
    with tmpfs(tmp_path / "full", "64k") as full:
        fill(full)
        listing = sorted(os.listdir(full))
        commands = {
            "r.html": ("report", "-o", full / "r.html"),
            "r.pdf": ("report", "-o", full / "r.pdf", "--audience", "technical"),
            "f.csv": ("export", "findings", "-o", full / "f.csv"),
            "i.json": ("export", "inventory", "-o", full / "i.json"),
            "oscal.json": ("export", "oscal", "-o", full / "oscal.json"),
            "inv.yaml": ("inventory", "export", full / "inv.yaml"),
            "team.yaml": ("team", "export", full / "team.yaml"),
            "vendors.json": ("vendor", "export", full / "vendors.json"),
            "binder.html": ("playbook", "export", "-o", full / "binder.html"),
            "checklist.csv": ("checklist", "template", "-o", full / "checklist.csv"),
            "m.jsonl": ("backup", "manifest", store, "-o", full / "m.jsonl", "--workers", "1"),
        }
        for name, args in commands.items():
            r = rg("--db", sqlite_url, *args)
            assert_clean_failure(r, f"cannot write {full / name}", "disk is full")
            assert r.code == 7, (name, r.err)
            assert sorted(os.listdir(full)) == listing, f"{name} left {sorted(os.listdir(full))}"
    assert sqlite_dump(Path(sqlite_url.removeprefix("sqlite:///"))) == before


def test_the_same_writers_succeed_when_there_is_room(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed(rg, sqlite_url)
    out = tmp_path / "out"
    out.mkdir()
    (out / "f.csv").write_text("old\n")
    (out / "f.csv").chmod(0o640)
    assert rg("--db", sqlite_url, "export", "findings", "-o", out / "f.csv").code == 0
    assert (out / "f.csv").read_text().startswith("finding_id,")
    assert stat.S_IMODE((out / "f.csv").stat().st_mode) == 0o640  # a replaced file keeps its mode
    assert rg("--db", sqlite_url, "report", "-o", out / "r.html").code == 0
    assert sorted(os.listdir(out)) == ["f.csv", "r.html"]


def test_output_that_is_a_directory_is_a_clear_error(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    seed(rg, sqlite_url)
    store = tmp_path / "store"
    make_archive(store, studies=1, series_per_study=1, per_series=1)
    target = tmp_path / "adir.csv"
    target.mkdir()
    r = rg("--db", sqlite_url, "backup", "manifest", store, "-o", target, "--workers", "1")
    assert_clean_failure(r, f"cannot write {target}", "it is a directory")
    r = rg("--db", sqlite_url, "export", "findings", "-o", target)
    assert_clean_failure(r, "it is a directory")
    assert os.listdir(target) == [] and not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_database_on_a_full_disk_rolls_back_and_says_so(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "dbfs", "2m") as fs:
        db = fs / "r.db"
        url = f"sqlite:///{db}"
        assert cli("--db", url, "init").code == 0
        before = sqlite_dump(db)
        fill(fs)
        r = cli("--db", url, "inventory", "import", EXAMPLES / "northwind-inventory.yaml")
        assert_clean_failure(r, f"the disk holding the database at {url} is full", "rolled back")
        assert r.code == 6
        (fs / "filler").unlink()
        assert sqlite_dump(db) == before
        # The -wal file may stay (SQLite could not checkpoint on a full disk) but holds nothing
        # committed; the next command, with room again, works and tidies it away.
        r = cli("--db", url, "inventory", "list", "--json")
        assert r.code == 0 and json.loads(r.out) == []
        assert sorted(os.listdir(fs)) == ["r.db"]


# --- a locked database ------------------------------------------------------------------------


def test_a_locked_database_waits_then_says_another_radguard_is_writing(db_url: str, tmp_path: Path) -> None:
    assert cli("--db", db_url, "init").code == 0
    if db_url.startswith("sqlite"):
        holder: sqlite3.Connection | psycopg.Connection = sqlite3.connect(
            db_url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
    else:
        holder = psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://"))
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
    try:
        started = time.monotonic()
        r = cli("--db", db_url, "--db-wait", "1.5", "inventory", "import", EXAMPLES / "northwind-inventory.yaml")
        assert time.monotonic() - started >= 1.5
        assert_clean_failure(r, "another radguard process is writing", "waited 1.", "--db-wait")
        assert r.code == 75
        r = cli("--db", db_url, "inventory", "list", "--json")  # reading does not wait
        assert r.code == 0 and json.loads(r.out) == []
    finally:
        holder.rollback()
        holder.close()
    r = cli("--db", db_url, "inventory", "import", EXAMPLES / "northwind-inventory.yaml")
    assert r.code == 0, r.err


def test_a_table_locked_on_postgres_is_reported_as_busy_after_the_wait(pg_server: str) -> None:
    """Not our advisory lock but a lock on a table the command needs: lock_timeout bounds it too."""
    url = create_database(pg_server)
    assert cli("--db", url, "init").code == 0
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as holder:
        holder.execute("LOCK TABLE asset IN ACCESS EXCLUSIVE MODE")
        r = cli("--db", url, "--db-wait", "1", "inventory", "import", EXAMPLES / "northwind-inventory.yaml")
        assert_clean_failure(r, "another radguard process is writing", "waited 1.0 s")
        holder.rollback()


def test_the_wait_must_be_a_sane_number(rg, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    r = rg("--db", sqlite_url, "--db-wait", "-1", "init")
    assert_clean_failure(r, "--db-wait must be between 0 and 86400 seconds")
    monkeypatch.setenv("RADGUARD_DB_WAIT", "soon")
    r = rg("--db", sqlite_url, "init")
    assert_clean_failure(r, "RADGUARD_DB_WAIT='soon' is not a number")


# --- a read-only database ---------------------------------------------------------------------


@pytest.mark.parametrize("how", ["file", "folder"])
def test_a_read_only_database_still_reads_and_refuses_writes_clearly(tmp_path: Path, how: str) -> None:
    home = tmp_path / "db"
    home.mkdir()
    db = home / "r.db"
    url = f"sqlite:///{db}"
    seed(cli, url, full=False)
    listed = cli("--db", url, "inventory", "list", "--json")
    before = sqlite_dump(db)
    out = tmp_path / "out"
    out.mkdir()
    if how == "file":
        db.chmod(0o444)
    else:
        home.chmod(0o555)
    try:
        r = cli("--db", url, "inventory", "list", "--json", prefix=NO_DAC)
        assert r.code == 0, r.err
        assert json.loads(r.out) == json.loads(listed.out)
        assert cli("--db", url, "findings", "list", "--json", prefix=NO_DAC).code == 0
        r = cli("--db", url, "report", "-o", out / "r.html", prefix=NO_DAC)
        assert r.code == 0, r.err
        assert (out / "r.html").stat().st_size > 1000
        r = cli("--db", url, "inventory", "import", EXAMPLES / "northwind-inventory.yaml", prefix=NO_DAC)
        assert_clean_failure(r, f"the database at {url} is read-only", "nothing was changed")
        r = cli("--db", url, "assess", prefix=NO_DAC)
        assert_clean_failure(r, "is read-only")
        assert r.code == 6
    finally:
        home.chmod(0o755)
        db.chmod(0o600)
    assert sqlite_dump(db) == before


def test_init_without_permission_on_the_folder(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        r = cli("--db", locked / "r.db", "init", prefix=NO_DAC)
        assert_clean_failure(r, f"cannot create the database file {locked / 'r.db'}",
                             f"may not create files in {locked}")
        r = cli("--db", tmp_path / "missing" / "r.db", "init")
        assert_clean_failure(r, f"the folder {tmp_path / 'missing'} does not exist")
        assert cli("init", prefix=NO_DAC).code == 0
        r = cli("report", "-o", locked / "r.html", prefix=NO_DAC)
        assert_clean_failure(r, f"cannot write {locked / 'r.html'}", "permission denied")
        assert os.listdir(locked) == []
    finally:
        locked.chmod(0o755)


# --- two copies at once -----------------------------------------------------------------------


def _findings(url: str) -> list[tuple[str, str, str, str, str]]:
    r = cli("--db", url, "findings", "list", "--json")
    assert r.code == 0, r.err
    return sorted((f["check_id"], json.dumps(f["asset"], sort_keys=True), str(f["subject"]), str(f["key"]), f["state"])
                  for f in json.loads(r.out))


def _waiters(url: str) -> int:
    """Processes waiting for radguard's write lock (PostgreSQL shows them in pg_locks)."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()
        return int(row[0]) if row else 0


def test_two_assessments_at_once_serialise_and_find_what_one_finds(db_url: str, request: pytest.FixtureRequest,
                                                                   tmp_path: Path) -> None:
    if db_url.startswith("sqlite"):
        reference = f"sqlite:///{tmp_path / 'reference.db'}"
    else:
        reference = create_database(request.getfixturevalue("pg_server"))
    for url in (db_url, reference):
        assert cli("--db", url, "init").code == 0
        assert cli("--db", url, "inventory", "import", EXAMPLES / "northwind-inventory.yaml").code == 0
    single = cli("--db", reference, "assess", "--json")
    assert single.code == 0, single.err
    expected = json.loads(single.out)["created"]

    # Hold the write lock while both start, so both are waiting for it when it is released and
    # really race for it (without the hold, one might finish before the other starts).
    db = open_database(db_url)
    hold = db.transaction()
    hold.__enter__()
    env = {**os.environ, "NO_COLOR": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "radguard.cli.main", "--db", db_url, "--db-wait", "120",
                               "assess", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for _ in range(2)]
    try:
        deadline = time.monotonic() + 60
        if db_url.startswith("sqlite"):
            time.sleep(8)  # both processes start (about 3 s each) and block in BEGIN IMMEDIATE
        else:
            while _waiters(db_url) < 2:
                assert time.monotonic() < deadline, "the two assessments never waited for the lock"
                time.sleep(0.2)
        assert all(p.poll() is None for p in procs), "an assessment did not wait for the write lock"
    finally:
        hold.__exit__(None, None, None)
        db.dispose()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=180)
        assert p.returncode == 0 and "Traceback" not in err, err
        results.append(json.loads(out))
    assert sorted(r["created"] for r in results) == [0, expected]
    assert _findings(db_url) == _findings(reference)
    found = _findings(db_url)
    assert len(found) == len(set(found)) == expected


# --- private side files -----------------------------------------------------------------------


def test_database_and_its_side_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        db = open_database(f"sqlite:///{tmp_path / 'r.db'}")
        upgrade(db)
        with db.transaction() as s:  # an open write keeps -wal and -shm in place
            s.execute(text("INSERT INTO site (code, name) VALUES ('X', 'x')"))
            modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
        db.dispose()
        assert modes == {"r.db": 0o600, "r.db-wal": 0o600, "r.db-shm": 0o600}

        state = ScanState(tmp_path / "scan" / "state.sqlite")
        state.put("k", "v")
        scan = {p.name: stat.S_IMODE(p.stat().st_mode) for p in (tmp_path / "scan").iterdir()}
        state.discard()
        assert scan == {"state.sqlite": 0o600, "state.sqlite-wal": 0o600, "state.sqlite-shm": 0o600}
    finally:
        os.umask(old)


# --- errors never carry SQL -------------------------------------------------------------------


def test_a_conflict_is_a_message_without_sql_or_values(database) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import IntegrityError

    with database.transaction() as s:
        s.execute(text("INSERT INTO site (code, name) VALUES ('SECRET-CODE-1', 'x')"))
    with pytest.raises(IntegrityError) as caught, database.transaction() as s:
        s.execute(text("INSERT INTO site (code, name) VALUES (:c, 'y')"), {"c": "SECRET-CODE-1"})
    assert "SECRET-CODE-1" in str(caught.value)  # SQLAlchemy's own text has the statement and values
    err = database_error(caught.value, database.safe_url)
    assert isinstance(err, DatabaseError)
    assert "SECRET-CODE-1" not in str(err) and "INSERT" not in str(err)
    assert "conflicts with what it holds" in str(err) and "rolled back" in str(err)


def test_cli_prints_a_database_error_without_sql(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A file that is not a database at all: the driver error reaches the one mapping in the CLI."""
    bogus = tmp_path / "not-a-db.db"
    bogus.write_bytes(b"this is not SQLite " * 100)
    r = rg("--db", f"sqlite:///{bogus}", "init")
    assert_clean_failure(r, str(bogus))
