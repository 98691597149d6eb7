"""The PDF report from the web as a background job (issue #19), through the web app with the
real WeasyPrint render: progress while it runs, the download when ready, failures in words,
one job per report at a time."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard.db.models.web import AuditEvent
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.readiness.dashboard import assess
from radguard.web.report_jobs import ReportJobs
from tests.conftest import EXAMPLES
from tests.web.conftest import csrf_of

HX = {"HX-Request": "true"}


def _northwind(db: Database) -> None:
    with db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
    with db.transaction() as s:
        assess(s)


def _wait_done(c: TestClient, url: str, timeout: float = 180.0) -> str:
    """Poll the job's fragment as htmx does until it is ready or failed (no fixed sleep)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = c.get(url, headers=HX)
        assert r.status_code == 200, r.text
        state = re.search(r'data-state="(\w+)"', r.text)
        assert state, r.text
        if state.group(1) in ("ready", "failed"):
            return r.text
        time.sleep(0.2)
    raise AssertionError(f"the job at {url} did not finish in {timeout} s")


def test_generate_pdf_shows_progress_then_downloads_it(app: FastAPI, web_db: Database,
                                                        client_for: Callable[[str], TestClient]) -> None:
    _northwind(web_db)
    c = client_for("viewer")
    jobs = app.state.report_jobs = ReportJobs(web_db)
    # Hold the render lock, as a report being laid out would: the job waits, visibly, and a
    # second request for the same report rejoins it instead of starting another.
    with jobs.render_lock:
        r = c.post("/reports/report", data={"audience": "executive", "fmt": "pdf", "csrf_token": csrf_of(c)},
                   follow_redirects=False)
        assert r.status_code == 303 and re.fullmatch(r"/reports/jobs/\d+", r.headers["location"]), r.text
        url = r.headers["location"]
        page = c.get(url).text  # the whole page, without htmx
        assert 'data-state="queued"' in page and "waiting for another report to finish" in page
        assert f'hx-get="{url}" hx-trigger="every 1s"' in page  # htmx polls it
        assert f'<a href="{url}" id="report-check">check again</a>' in page  # the plain-link fallback
        assert c.get(url + "/download").status_code == 409  # not ready yet
        again = c.post("/reports/report", data={"audience": "executive", "fmt": "pdf", "csrf_token": csrf_of(c)},
                       follow_redirects=False)
        assert again.headers["location"] == url  # one job per report at a time
        other = c.post("/reports/report", data={"audience": "executive", "fmt": "pdf", "site": "NWH-MAIN",
                                                "csrf_token": csrf_of(c)}, follow_redirects=False)
        assert other.headers["location"] != url  # a different report is a job of its own
    done = _wait_done(c, url)
    assert 'data-state="ready"' in done and "hx-trigger" not in done  # polling stops
    link = re.search(r'<a href="([^"]+)" id="report-download"', done)
    assert link and link.group(1) == url + "/download"
    pdf = c.get(link.group(1))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and len(pdf.content) > 10_000
    assert pdf.headers["content-disposition"].startswith('attachment; filename="radguard-executive-report-')
    assert "ready" in _wait_done(c, other.headers["location"])
    # Another person cannot see or take someone's report job.
    assert client_for("admin").get(url).status_code == 404
    with web_db.read() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action.in_(["report.generate", "report.download"]))
                           .order_by(AuditEvent.id)).all()
        assert [(e.action, e.actor, e.detail["format"]) for e in events] == [
            ("report.generate", "viewer", "pdf"), ("report.generate", "viewer", "pdf"),
            ("report.download", "viewer", "pdf")]
        assert events[2].detail["bytes"] == len(pdf.content)
    # Once finished, asking again starts a fresh job (a new render of the current register).
    fresh = c.post("/reports/report", data={"audience": "executive", "fmt": "pdf", "csrf_token": csrf_of(c)},
                   follow_redirects=False)
    assert fresh.headers["location"] != url and c.get(url).status_code == 404
    assert "ready" in _wait_done(c, fresh.headers["location"])


def test_a_failed_job_says_so_in_words(app: FastAPI, web_db: Database, tmp_path: Path,
                                       client_for: Callable[[str], TestClient]) -> None:
    _northwind(web_db)
    not_a_folder = tmp_path / "occupied"
    not_a_folder.write_text("a file where the job's folder should go", encoding="utf-8")
    app.state.report_jobs = ReportJobs(web_db, directory=not_a_folder)
    c = client_for("viewer")
    r = c.post("/reports/report", data={"audience": "executive", "fmt": "pdf", "csrf_token": csrf_of(c)},
               follow_redirects=False)
    done = _wait_done(c, r.headers["location"])
    assert 'data-state="failed"' in done and "The report could not be generated" in done
    assert "the server could not write the PDF (Not a directory)" in done
    assert "Traceback" not in done and str(not_a_folder) not in done
    assert c.get(r.headers["location"] + "/download").status_code == 409
    # An unknown site is refused at once, not left to a job.
    r = c.post("/reports/report", data={"audience": "executive", "fmt": "pdf", "site": "NOWHERE",
                                        "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 404 and "NOWHERE" in r.text


def test_a_job_started_on_one_server_process_is_followed_on_another(app: FastAPI, web_db: Database) -> None:
    """Two apps over one database stand for two ``radguard serve --workers`` processes: the job
    started on one is polled and downloaded on the other (its state and file are not kept in the
    process; tests/web/test_serve_workers.py shows the real processes share sessions)."""
    from radguard.web.app import create_app
    from tests.web.conftest import login

    _northwind(web_db)
    other = create_app(web_db)
    with TestClient(app, base_url="https://testserver") as one, TestClient(other, base_url="https://testserver") as two:
        login(one, "viewer")
        two.cookies = one.cookies  # the same browser, reaching the other process
        r = one.post("/reports/report", data={"audience": "executive", "fmt": "pdf", "csrf_token": csrf_of(one)},
                     follow_redirects=False)
        url = r.headers["location"]
        assert "ready" in _wait_done(two, url)
        pdf = two.get(url + "/download")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")


def test_an_unfinished_job_of_a_stopped_process_reads_as_failed(app: FastAPI, web_db: Database,
                                                                client_for: Callable[[str], TestClient]) -> None:
    from radguard.db.base import utcnow
    from radguard.db.models.web import WebJob
    from radguard.web.report_jobs import GONE, HOST, ReportJob

    # A process ID above the kernel's largest can never be running (a finished child's could be reused).
    gone = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    with web_db.transaction() as s:
        row = WebJob(kind=ReportJob.KIND, owner="viewer", state="building",
                     params={"audience": "executive", "site": None, "appendices": []},
                     created_at=utcnow(), host=HOST, pid=gone)
        s.add(row)
        s.flush()
        job_id = row.id
    c = client_for("viewer")
    page = c.get(f"/reports/jobs/{job_id}", headers=HX).text
    assert 'data-state="failed"' in page and GONE.split(";")[0] in page
    # Asking for the same report starts a fresh job instead of rejoining the dead one.
    r = c.post("/reports/report", data={"audience": "executive", "fmt": "pdf", "csrf_token": csrf_of(c)},
               follow_redirects=False)
    assert r.headers["location"] != f"/reports/jobs/{job_id}"


def test_one_re_rank_for_every_server_process(web_db: Database) -> None:
    """The re-rank is one job for the whole organisation across processes too: asked on another
    process while it is unfinished, the same job is returned and seen there."""
    from radguard.web.report_jobs import RerankJobs

    _northwind(web_db)
    one, two = RerankJobs(web_db), RerankJobs(web_db)
    with one.run_lock:  # the work waits, as behind another re-rank
        job, started = one.start("assessor")
        assert started
        seen = two.latest()
        assert seen is not None and seen.id == job.id and not seen.done
        again, started_again = two.start("admin")
        assert again.id == job.id and not started_again
    deadline = time.monotonic() + 180
    while (latest := two.latest()) is not None and not latest.done:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert latest is not None and latest.state == "ready", latest
