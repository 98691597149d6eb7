"""Real-browser flows (Playwright on Debian's Chromium, CSP active) for checklists, drills and
reports; each is checked in the database or on disk afterwards, not only on the page."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from radguard.db.models.checklists import ChecklistAnswer
from radguard.db.models.response import Drill
from radguard.db.models.web import AuditEvent
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.readiness.checklists.assessments import create_assessment
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.dashboard import assess
from radguard.response.drills import DrillDoc, plan_drill
from radguard.response.services import import_services
from radguard.response.team import import_team
from radguard.web.app import create_app
from tests.conftest import EXAMPLES
from tests.support.browser import axe_violations, chromium, live_server
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.browser


class Session:
    """A signed-in page that records console errors and every URL it requests."""

    def __init__(self, browser: Any, base: str, username: str) -> None:
        self.base = base
        self.context = browser.new_context(accept_downloads=True)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(base + "/login")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_url(base + "/")

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors  # the CSP blocked nothing the page relies on
        assert all(u.startswith(self.base) for u in self.requests), [u for u in self.requests
                                                                     if not u.startswith(self.base)]


@pytest.fixture
def northwind(web_db: Database) -> Database:
    with web_db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
        import_team(s, EXAMPLES / "northwind-team.yaml")
        import_services(s, EXAMPLES / "northwind-services.yaml")
    with web_db.transaction() as s:
        assess(s)
    return web_db


@pytest.fixture
def served(northwind: Database) -> Iterator[tuple[str, Any]]:
    with live_server(create_app(northwind)) as base, chromium() as browser:
        yield base, browser


def test_answer_a_checklist_question(northwind: Database, served: tuple[str, Any]) -> None:
    with northwind.transaction() as s:
        aid = create_assessment(s, "Northwind Health", "medium", created_by="assessor").id
    question = load_catalog().questions_for("medium")[0]
    base, browser = served
    user = Session(browser, base, "contributor")
    page = user.page
    page.click("nav >> text=Checklists")
    page.click(f"a[href='/checklists/{aid}']")
    section = page.locator(f"section#{question.id}")
    expect(section).to_contain_text(question.guidance)
    section.locator("input[name=answer][value='3']").check()
    section.locator("input[name=owner]").fill("Imaging director")
    section.locator("button[type=submit]").click()
    # htmx swapped the question in place: no page load, the answer and its author are shown
    saved = page.locator(f"section#{question.id}")
    expect(saved).to_contain_text("Saved.", timeout=10000)
    expect(saved).to_contain_text("by contributor")
    assert page.url.endswith(f"/checklists/{aid}")
    assert axe_violations(page) == []  # the checklist page, with the answered question swapped in
    user.assert_clean()
    with northwind.read() as s:
        row = s.scalar(select(ChecklistAnswer).where(ChecklistAnswer.assessment_id == aid,
                                                     ChecklistAnswer.question_id == question.id))
        assert row is not None and row.value == 3 and row.owner == "Imaging director"
        assert row.answered_by == "contributor"


def test_record_a_drill_timeline_live(northwind: Database, served: tuple[str, Any]) -> None:
    with northwind.transaction() as s:
        plan_drill(s, DrillDoc(key="2027-01-functional", kind="functional", playbook="ransomware-pacs",
                               date=date(2027, 1, 20), services=["ct-main"]))
    base, browser = served
    user = Session(browser, base, "contributor")
    page = user.page
    page.goto(base + "/readiness/drills/2027-01-functional")
    for milestone, role in (("detected", "imaging_informatics"), ("declared", "incident_commander")):
        page.select_option("#record-event select[name=milestone]", milestone)
        page.select_option("#record-event select[name=role]", role)
        page.click("#record-event button[type=submit]")
        expect(page.locator(f"#timeline tr[data-milestone={milestone}]")).to_be_visible(timeout=10000)
    page.fill("#record-details input[name=lesson]", "The downtime phone list was out of date")
    page.click("#record-details button[type=submit]")
    expect(page.locator("#drill-record")).to_contain_text("The downtime phone list was out of date",
                                                          timeout=10000)
    user.assert_clean()
    with northwind.read() as s:
        drill = s.scalar(select(Drill).where(Drill.key == "2027-01-functional"))
        assert drill is not None
        assert [(e.milestone, e.role) for e in drill.events] == [("detected", "imaging_informatics"),
                                                                 ("declared", "incident_commander")]
        assert drill.events[0].at <= drill.events[1].at
        assert [lesson.text for lesson in drill.lessons] == ["The downtime phone list was out of date"]
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "drill.event")) is not None


def test_download_a_report(northwind: Database, served: tuple[str, Any], tmp_path: Path) -> None:
    base, browser = served
    user = Session(browser, base, "viewer")
    page = user.page
    page.click("nav >> text=Reports")
    page.select_option("#report-form select[name=audience]", "technical")
    with page.expect_download() as info:
        page.click("#report-form button[type=submit]")
    download = info.value
    assert download.suggested_filename.startswith("radguard-technical-report-")
    target = tmp_path / download.suggested_filename
    download.save_as(str(target))
    text = target.read_text(encoding="utf-8")
    assert target.stat().st_size > 10_000 and "RG-REMOTE-ALWAYS-ON" in text and "<script" not in text
    with page.expect_download() as info:
        page.click("#export-findings button[type=submit]")
    csv_path = tmp_path / "findings.csv"
    info.value.save_as(str(csv_path))
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("finding_id,fingerprint,check_id") and any("RG-REMOTE-ALWAYS-ON" in x for x in lines)
    user.assert_clean()
    with northwind.read() as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.actor == "viewer")).all()
        assert "report.download" in actions and "export.download" in actions
