"""The feeds and report schedule kinds: each run does the real work and its history says what it did."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from radguard.db.models.feeds import KevEntry
from radguard.db.session import Database
from radguard.distributed.schedules import history, run_schedule
from tests.conftest import FIXTURES


def test_feeds_schedule_refreshes_from_a_directory(sqlite_db: Database, rg: Callable[..., Any],
                                                   tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    shutil.copy(FIXTURES / "feeds" / "kev-subset.json", mirror / "kev.json")
    added = rg("--db", sqlite_db.url, "schedule", "add", "feeds-daily", "--kind", "feeds", "--every-hours", "24",
               "--feeds-dir", str(mirror))
    assert added.code == 0, added.err
    run = rg("--db", sqlite_db.url, "schedule", "run-now", "feeds-daily")
    assert run.code == 0, run.err
    counts = json.loads(run.out)["counts"]
    with sqlite_db.read() as s:
        kev = s.scalar(select(func.count()).select_from(KevEntry))
    assert kev and counts["kev_added"] == kev
    # a second run finds nothing new; a broken file fails the run, named, and stores nothing
    assert run_schedule(sqlite_db, "feeds-daily")["counts"]["kev_added"] == 0  # type: ignore[index]
    (mirror / "broken.json").write_text("{not json")
    failed = run_schedule(sqlite_db, "feeds-daily")
    assert failed is not None and failed["status"] == "failed" and "broken.json" in str(failed["error"])
    assert [r["status"] for r in history(sqlite_db, "feeds-daily")] == ["failed", "ok", "ok"]
    missing = rg("--db", sqlite_db.url, "schedule", "add", "feeds-x", "--kind", "feeds", "--every-hours", "24",
                 "--feeds-dir", str(tmp_path / "nowhere"))
    assert missing.code != 0 and "--feeds-dir" in missing.err


def test_report_schedule_writes_one_file_per_run(sqlite_db: Database, rg: Callable[..., Any],
                                                 tmp_path: Path) -> None:
    out = tmp_path / "reports"
    out.mkdir()
    added = rg("--db", sqlite_db.url, "schedule", "add", "monthly-report", "--kind", "report", "--every-hours",
               "720", "--report-dir", str(out), "--format", "html")
    assert added.code == 0, added.err
    run = rg("--db", sqlite_db.url, "schedule", "run-now", "monthly-report")
    assert run.code == 0, run.err
    written = Path(json.loads(run.out)["counts"]["file"])
    assert written.parent == out and written.name.startswith("radguard-executive-organization-")
    assert "<html" in written.read_text(encoding="utf-8").lower()
    assert history(sqlite_db, "monthly-report")[0]["counts"]["bytes"] == written.stat().st_size
    bad = rg("--db", sqlite_db.url, "schedule", "add", "r2", "--kind", "report", "--every-hours", "720",
             "--report-dir", str(out), "--audience", "board")
    assert bad.code != 0 and "--audience" in bad.err
    dup = rg("--db", sqlite_db.url, "schedule", "add", "monthly-report", "--kind", "assess", "--every-hours", "1")
    assert dup.code != 0 and "exists" in dup.err
