"""The roadmap's "Re-rank now" as a background job (issue #18), through the web app: the page
shows it under way while the stored ranking stays, one re-rank at a time, then the new ranking;
a failure is said in words; ``radguard roadmap --re-rank`` stays synchronous with its steps."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from radguard.checks.findings import transition
from radguard.db.models.web import AuditEvent
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.readiness.dashboard import STEPS, assess, rerank
from radguard.readiness.roadmap import ENV_CAPACITY, build_roadmap
from radguard.readiness.roadmap_store import current_roadmap
from radguard.web.report_jobs import RerankJobs
from tests.conftest import EXAMPLES
from tests.web.conftest import csrf_of

HX = {"HX-Request": "true"}
ROW = re.compile(r'<tr id="action-\d+" data-action="([^"]+)"')
JOB = re.compile(r'hx-get="/roadmap/rerank/jobs/(\d+)"')


def poll_rerank(c: TestClient, job_id: int, timeout: float = 180.0) -> Any:
    """Poll the job's fragment as htmx does until it redirects to the new ranking or shows a failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = c.get(f"/roadmap/rerank/jobs/{job_id}", headers=HX)
        assert r.status_code == 200, r.text
        if "hx-redirect" in r.headers or 'data-state="failed"' in r.text:
            return r
        time.sleep(0.1)
    raise AssertionError(f"the re-rank {job_id} did not finish in {timeout} s")


def wait_for_rerank(c: TestClient) -> None:
    """Follow the roadmap page's re-rank under way (if any) until it is done."""
    m = JOB.search(c.get("/roadmap").text)
    if m:
        r = poll_rerank(c, int(m.group(1)))
        assert r.headers.get("hx-redirect") == "/roadmap?reranked=1", r.text


def _stale(db: Database) -> list[str]:
    """Northwind assessed, then every finding of its top finding action resolved; the live order."""
    with db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
    with db.transaction() as s:
        assess(s)
    with db.read() as s:
        top = next(a for a in current_roadmap(s, full=True).doc["actions"] if a["kind"] == "finding")
    with db.transaction() as s:
        for f in top["why"]["findings"]:
            transition(s, f["id"], "resolve", by="tester", reason="patched")
    with db.read() as s:
        assert current_roadmap(s).stale
        return [a["id"] for a in build_roadmap(s)["actions"]]


def _reranks(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "roadmap.rerank"))
                   or 0)


def test_rerank_runs_in_the_background_then_the_page_shows_the_new_ranking(
        app: FastAPI, web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    live = _stale(web_db)
    assessor, viewer = client_for("assessor"), client_for("viewer")
    stored = ROW.findall(viewer.get("/roadmap").text)
    assert stored != live
    jobs = app.state.rerank_jobs = RerankJobs(web_db)
    # Hold the job's lock, as a re-rank under way would: the job waits, visibly, and a second
    # press joins it instead of starting another.
    with jobs.run_lock:
        r = assessor.post("/roadmap/rerank", data={"csrf_token": csrf_of(assessor)}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/roadmap#rerank-job"
        page = assessor.get("/roadmap").text
        m = JOB.search(page)
        assert m, page
        job_id = int(m.group(1))
        assert 'id="rerank-job" data-state="queued"' in page and "Re-ranking…" in page
        assert 'href="/roadmap#rerank-job" id="rerank-check">check again' in page  # without JavaScript
        assert "Re-rank now" not in page and "not yet reflected" in page and ROW.findall(page) == stored
        assert ROW.findall(viewer.get("/roadmap").text) == stored and "Re-ranking…" in viewer.get("/roadmap").text
        again = assessor.post("/roadmap/rerank", data={"csrf_token": csrf_of(assessor)}, follow_redirects=False)
        assert again.status_code == 303 and jobs.latest() is not None and jobs.latest().id == job_id  # type: ignore[union-attr]
        fragment = viewer.get(f"/roadmap/rerank/jobs/{job_id}", headers=HX)
        assert fragment.status_code == 200 and 'data-state="queued"' in fragment.text
        plain = viewer.get(f"/roadmap/rerank/jobs/{job_id}", follow_redirects=False)
        assert plain.status_code == 303 and plain.headers["location"] == "/roadmap#rerank-job"
    done = poll_rerank(viewer, job_id)
    assert done.headers["hx-redirect"] == "/roadmap?reranked=1"
    page = viewer.get("/roadmap?reranked=1").text
    assert ROW.findall(page) == live and "Ranked again now." in page
    assert "not yet reflected" not in page and 'id="rerank-job"' not in page
    assert _reranks(web_db) == 1  # one re-rank, audited once
    assert viewer.get("/roadmap/rerank/jobs/999", headers=HX).status_code == 404
    assert viewer.post("/roadmap/rerank", data={"csrf_token": csrf_of(viewer)}).status_code == 403


def test_a_failed_rerank_is_said_in_words_and_the_stored_ranking_stays(
        app: FastAPI, web_db: Database, client_for: Callable[[str], TestClient],
        monkeypatch: pytest.MonkeyPatch) -> None:
    _stale(web_db)
    assessor = client_for("assessor")
    stored = ROW.findall(assessor.get("/roadmap").text)
    jobs = app.state.rerank_jobs = RerankJobs(web_db)
    with jobs.run_lock:
        assessor.post("/roadmap/rerank", data={"csrf_token": csrf_of(assessor)})
        job = jobs.latest()
        assert job is not None and not job.done
        monkeypatch.setenv(ENV_CAPACITY, "lots")  # the ranking refuses it: the job fails
    done = poll_rerank(assessor, job.id)
    assert 'data-state="failed"' in done.text and "hx-get" not in done.text
    assert f"environment variable {ENV_CAPACITY}: &#39;lots&#39; is not a number" in done.text
    monkeypatch.delenv(ENV_CAPACITY)
    page = assessor.get("/roadmap").text
    assert "The re-rank could not be done" in page and ROW.findall(page) == stored and "not yet reflected" in page
    assert "Re-rank now" in page  # it can be tried again


def test_the_cli_rerank_is_synchronous_and_reports_each_step(web_db: Database, rg: Any) -> None:
    live = _stale(web_db)
    out = rg("--db", web_db.url, "roadmap", "--re-rank", "--format", "csv")
    assert out.code == 0 and "not yet reflected" not in out.err
    assert [line.split(",")[2] for line in out.out.splitlines()[1:]] == live  # ranked before it printed
    with web_db.read() as s:
        assert not current_roadmap(s).stale
    # The steps its progress bar shows (cli.common.progress_bar, on standard error), in order.
    with web_db.transaction() as s:
        steps: list[str] = []
        rerank(s, on_step=steps.append)
    assert steps == list(STEPS) == ["reading", "ranking", "storing"]
