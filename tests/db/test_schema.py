"""The schema is built only by migrations, and the migrations match the models exactly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import radguard.db.models  # noqa: F401
from radguard.db.base import Base
from radguard.db.migrate import head_revisions, is_up_to_date, upgrade
from radguard.db.search import include_name
from radguard.db.session import Database, open_database


def test_migrations_create_every_table_and_match_models(database: Database) -> None:
    tables = set(inspect(database.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    with database.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False, "include_name": include_name})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"models and migrations disagree; write a migration: {diff}"
    assert is_up_to_date(database)


def test_single_head() -> None:
    db = open_database("sqlite://")
    assert len(head_revisions(db)) == 1, "migrations must form one line; add a merge revision"


def test_init_is_idempotent(database: Database) -> None:
    upgrade(database)
    upgrade(database)
    assert is_up_to_date(database)


def test_cli_init_and_refusal_before_init(rg, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'x.db'}"
    r = rg("--db", url, "inventory", "list")
    assert r.code != 0 and "radguard init" in r.err
    r = rg("--db", url, "init")
    assert r.code == 0, r.err
    r = rg("--db", url, "inventory", "list", "--json")
    assert r.code == 0 and r.out.strip() == "[]"


def test_default_database_is_in_user_data_dir(rg) -> None:  # type: ignore[no-untyped-def]
    import os
    from pathlib import Path

    r = rg("init")
    assert r.code == 0, r.err
    expected = Path(os.environ["XDG_DATA_HOME"]) / "radguard" / "radguard.db"
    assert expected.exists()
    assert str(expected) in r.out


def test_env_var_selects_database(rg, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "env.db"
    monkeypatch.setenv("RADGUARD_DB", str(path))
    r = rg("init")
    assert r.code == 0 and path.exists()


def test_dashboard_counts_read_only_the_finding_index(sqlite_db: Database) -> None:
    """docs/benchmarks.md: open findings by severity and by check are a covering index scan."""
    from sqlalchemy import func, select

    from radguard.db.models.findings import OPEN_STATES, Finding

    queries = [
        select(Finding.severity, func.count()).where(Finding.state.in_(OPEN_STATES)).group_by(Finding.severity),
        select(Finding.check_id, Finding.severity, func.count()).where(Finding.state.in_(OPEN_STATES))
        .group_by(Finding.check_id, Finding.severity),
    ]
    with sqlite_db.read() as s:
        conn = s.connection()
        for query in queries:
            sql = str(query.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
            assert "USING COVERING INDEX ix_finding_check_state_severity" in plan, plan
