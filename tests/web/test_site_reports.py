"""Reports for site-limited accounts (#20): the executive and technical reports cut to the account's sites.

Two sites' distinctive rows (``tests.web.site_estate``). An account limited to NWH-MAIN takes
the executive and technical reports as HTML and as a PDF (the web's background job; its text
read back with pdftotext): NWH-MAIN's markers are there, none of NWH-OIC's, and the cover says
which sites it covers. An unrestricted administrator taking the same reports sees both sites'
markers (the control, so each absence could fail). Another site is a 404; the organisation's
self-assessment is shown labelled organisation-wide.
"""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard.db.models.checklists import ChecklistAssessment
from radguard.db.models.web import AuditEvent
from radguard.db.session import Database
from radguard.readiness.checklists.assessments import create_assessment
from radguard.reports.build import build_report
from radguard.reports.scope import Scope
from tests.web.conftest import csrf_of, login
from tests.web.site_estate import MAIN_MARKERS, leaks, seed_two_sites

HX = {"HX-Request": "true"}
COVER = "1 site (NWH-MAIN): the sites this account may see"
# NWH-MAIN's markers each report shows (the executive one lists no drill).
SHOWN = {"executive": [m for m in MAIN_MARKERS if "drill" not in m], "technical": list(MAIN_MARKERS)}


@pytest.fixture
def estate(web_db: Database) -> dict[str, dict[str, str]]:
    """The two sites; NWH-MAIN's self-assessment replaced by the organisation's (NWH-OIC keeps its own)."""
    ids = seed_two_sites(web_db)
    with web_db.transaction() as s:
        s.delete(s.get(ChecklistAssessment, int(ids["NWH-MAIN"]["assessment_id"])))
        create_assessment(s, "Northwind Health", "medium")
    return ids


def _client(app: FastAPI, username: str) -> TestClient:
    c = TestClient(app, base_url="https://testserver")
    c.headers["accept"] = "text/html"
    return login(c, username)


def _report(c: TestClient, audience: str, fmt: str = "html", site: str = "", appendix: str = "") -> TestClient:
    return c.post("/reports/report", data={"audience": audience, "fmt": fmt, "site": site, "appendix": appendix,
                                           "csrf_token": csrf_of(c)}, follow_redirects=False)


def _pdf_text(c: TestClient, audience: str, tmp_path: Path, timeout: float = 240.0) -> tuple[str, str]:
    """Generate the PDF through the job page, poll it as htmx does until ready; its text and the job's page."""
    r = _report(c, audience, "pdf", appendix="none")
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    deadline = time.monotonic() + timeout
    while True:
        page = c.get(url, headers=HX)
        assert page.status_code == 200, page.text
        state = re.search(r'data-state="(\w+)"', page.text)
        assert state, page.text
        if state.group(1) == "ready":
            break
        assert state.group(1) != "failed", page.text
        assert time.monotonic() < deadline, f"the job at {url} did not finish in {timeout} s"
        time.sleep(0.2)
    download = c.get(url + "/download")
    assert download.status_code == 200 and download.content.startswith(b"%PDF")
    path = tmp_path / f"{audience}-{time.monotonic_ns()}.pdf"
    path.write_bytes(download.content)
    return subprocess.run(["/usr/bin/pdftotext", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout, url


def test_a_site_accounts_html_reports_hold_only_its_sites(app: FastAPI, web_db: Database,
                                                          estate: dict[str, dict[str, str]]) -> None:
    scoped, everyone = _client(app, "main.viewer"), _client(app, "viewer")
    page = scoped.get("/reports").text
    assert 'id="report-form"' in page and 'id="site-limited"' in page and 'id="export-oscal"' not in page
    for audience in ("executive", "technical"):
        r = _report(scoped, audience)
        assert r.status_code == 200, r.text
        assert leaks(r.text) == [], (audience, leaks(r.text))
        assert leaks(r.text, markers=MAIN_MARKERS) == SHOWN[audience], audience
        assert COVER in r.text
        assert 'id="maturity-organisation-wide"' in r.text or 'id="checklist-organisation-wide"' in r.text
        control = _report(everyone, audience)
        assert control.status_code == 200
        assert leaks(control.text) and leaks(control.text, markers=MAIN_MARKERS) == SHOWN[audience], audience
        assert COVER not in control.text and "all 2 sites" in control.text
    technical = _report(scoped, "technical").text
    assert "organization-wide" in technical  # the organisation-wide findings, in their own row
    # One of its sites named: the same cut, as a site report; another site is as unknown as none.
    own = _report(scoped, "technical", site="NWH-MAIN")
    assert own.status_code == 200 and leaks(own.text) == []
    assert _report(scoped, "executive", site="NWH-OIC").status_code == 404
    assert _report(scoped, "executive", "pdf", site="NWH-OIC").status_code == 404
    with web_db.read() as s:
        audit = [e.detail for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "report.download",
                                                                       AuditEvent.actor == "main.viewer"))]
    assert audit and all(d.get("cut_to_sites") == ["NWH-MAIN"] for d in audit)


def test_a_site_accounts_pdf_report_holds_only_its_sites(app: FastAPI, estate: dict[str, dict[str, str]],
                                                         tmp_path: Path) -> None:
    scoped, everyone = _client(app, "main.viewer"), _client(app, "viewer")
    text, url = _pdf_text(scoped, "executive", tmp_path)
    assert leaks(text) == [], leaks(text)
    assert "NWH-MAIN" in text and COVER in " ".join(text.split())
    control, _ = _pdf_text(everyone, "executive", tmp_path)
    assert leaks(control) and "NWH-MAIN" in control and COVER not in " ".join(control.split())
    # The job is the account's own: another account (even unrestricted) does not reach it.
    assert everyone.get(url).status_code == 404


def test_a_cut_report_never_shows_another_sites_own_self_assessment(web_db: Database,
                                                                   estate: dict[str, dict[str, str]]) -> None:
    """Without the organisation's self-assessment, NWH-MAIN's reader gets none — not NWH-OIC's own."""
    with web_db.read() as s:
        assert build_report(s, scope=Scope(s, visible=frozenset({"NWH-MAIN"}))).readiness.available
    with web_db.transaction() as s:
        for a in s.scalars(select(ChecklistAssessment).where(ChecklistAssessment.site_code == "")):
            s.delete(a)
    with web_db.read() as s:
        assert not build_report(s, scope=Scope(s, visible=frozenset({"NWH-MAIN"}))).readiness.available
        assert build_report(s).readiness.available  # the control: the whole organisation's report shows OIC's
