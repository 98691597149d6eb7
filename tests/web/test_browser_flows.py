"""Real-browser flows (Playwright on Debian's Chromium, CSP active) for checklists, drills and
reports; each is checked in the database or on disk afterwards, not only on the page. The
checklist and drill pages are saved as screenshots (docs/img with ``RADGUARD_DOC_SCREENSHOTS=1``,
``tests.support.browser.screenshot``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from radguard.checks.engine import AssessSettings
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
from radguard.wording import moment
from tests.conftest import EXAMPLES
from tests.support.browser import axe_violations, chromium, live_server, screenshot
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.browser


class Session:
    """A signed-in page that records console errors and every URL it requests.

    :param timezone_id: the browser's own time zone (Playwright's ``timezone_id``); the machine's if None.
    """

    def __init__(self, browser: Any, base: str, username: str, *, timezone_id: str | None = None) -> None:
        self.base = base
        self.context = browser.new_context(accept_downloads=True, timezone_id=timezone_id)
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


def test_answer_a_checklist_question(northwind: Database, served: tuple[str, Any], tmp_path: Path) -> None:
    with northwind.transaction() as s:
        aid = create_assessment(s, "Northwind Health", "medium", created_by="assessor").id
    question = load_catalog().questions_for("medium")[0]
    base, browser = served
    user = Session(browser, base, "contributor")
    page = user.page
    page.set_viewport_size({"width": 1280, "height": 900})
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
    page.evaluate("window.scrollTo(0, 0)")  # the page's top: the assessment and the first (answered) question
    screenshot(page, tmp_path, "web-checklist-answer.png")
    assert axe_violations(page) == []  # the checklist page, with the answered question swapped in
    user.assert_clean()
    with northwind.read() as s:
        row = s.scalar(select(ChecklistAnswer).where(ChecklistAnswer.assessment_id == aid,
                                                     ChecklistAnswer.question_id == question.id))
        assert row is not None and row.value == 3 and row.owner == "Imaging director"
        assert row.answered_by == "contributor"


BERLIN = ZoneInfo("Europe/Berlin")
# Milliseconds since the epoch -> the browser's own local wall-clock time, as a datetime-local field holds it.
BROWSER_WALL_CLOCK = """ms => { const d = new Date(ms), p = n => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`; }"""


def _unambiguous(*instants: datetime) -> list[datetime]:
    """The instants, moved 3 h earlier together if one falls in the hour Berlin's clocks repeat
    (a wall-clock time there names two instants), so the test means the same every day of the year."""
    def repeated(at: datetime) -> bool:
        local = at.astimezone(BERLIN).replace(tzinfo=None)
        return local.replace(tzinfo=BERLIN, fold=0).utcoffset() != local.replace(tzinfo=BERLIN, fold=1).utcoffset()
    if any(repeated(at) for at in instants):
        instants = tuple(at - timedelta(hours=3) for at in instants)
    return list(instants)


def test_record_a_drill_timeline_live(northwind: Database, tmp_path: Path) -> None:
    """A drill recorded as it happens by someone in Berlin: the browser's clock and the app's
    ``timezone:`` are both Europe/Berlin (not the machine's UTC). Milestones typed into the
    date-time picker in the browser's local time are stored as those UTC instants; one left
    blank ("now") is stored as the moment it was recorded; all are shown back in Berlin time."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    detected_at, declared_at = _unambiguous(now - timedelta(minutes=40), now - timedelta(minutes=25))
    with northwind.transaction() as s:
        plan_drill(s, DrillDoc(key="ct-ransomware-functional", kind="functional", playbook="ransomware-pacs",
                               date=detected_at.astimezone(BERLIN).date(), services=["ct-main"]))
    app = create_app(northwind, settings=AssessSettings(timezone="Europe/Berlin"))
    with live_server(app) as base, chromium() as browser:
        user = Session(browser, base, "contributor", timezone_id="Europe/Berlin")
        page = user.page
        page.set_viewport_size({"width": 1280, "height": 900})
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Europe/Berlin"
        page.goto(base + "/readiness/drills/ct-ransomware-functional")
        expect(page.locator("#at-zone")).to_have_text("Europe/Berlin time")
        for milestone, role, at in (("detected", "imaging_informatics", detected_at),
                                    ("declared", "incident_commander", declared_at)):
            typed = page.evaluate(BROWSER_WALL_CLOCK, int(at.timestamp() * 1000))
            assert typed == at.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")  # the browser's clock is Berlin's
            page.select_option("#record-event select[name=milestone]", milestone)
            page.select_option("#record-event select[name=role]", role)
            page.fill("#record-event input[name=at]", typed)
            page.click("#record-event button[type=submit]")
            expect(page.locator(f"#timeline tr[data-milestone={milestone}]")).to_be_visible(timeout=10000)
        # Escalated now, the time left blank, as a milestone is recorded live.
        before = datetime.now(UTC).replace(microsecond=0)
        page.select_option("#record-event select[name=milestone]", "escalated")
        page.select_option("#record-event select[name=role]", "it_security")
        page.click("#record-event button[type=submit]")
        expect(page.locator("#timeline tr[data-milestone=escalated]")).to_be_visible(timeout=10000)
        after = datetime.now(UTC)
        page.fill("#record-details input[name=lesson]", "The downtime phone list was out of date")
        page.click("#record-details button[type=submit]")
        expect(page.locator("#drill-record")).to_contain_text("The downtime phone list was out of date",
                                                              timeout=10000)
        with northwind.read() as s:
            drill = s.scalar(select(Drill).where(Drill.key == "ct-ransomware-functional"))
            assert drill is not None
            assert [(e.milestone, e.role) for e in drill.events] == [
                ("detected", "imaging_informatics"), ("declared", "incident_commander"), ("escalated", "it_security")]
            stored = [e.at.replace(tzinfo=UTC) for e in drill.events]
            assert [lesson.text for lesson in drill.lessons] == ["The downtime phone list was out of date"]
            assert s.scalar(select(AuditEvent).where(AuditEvent.action == "drill.event")) is not None
        assert stored[:2] == [detected_at, declared_at]  # the Berlin wall-clock times typed, as UTC instants
        assert before <= stored[2] <= after
        shown = page.locator("#timeline tbody tr td:nth-child(2)").all_inner_texts()
        assert shown == [moment(at, BERLIN, seconds=True) for at in stored]
        assert all(moment(at, BERLIN) != moment(at, UTC) for at in stored)  # Berlin is never at UTC's offset
        expect(page.locator("#timeline thead")).to_contain_text("At (Europe/Berlin)")
        page.evaluate("window.scrollTo(0, 0)")  # the timeline, not the form saved last
        screenshot(page, tmp_path, "web-drill-live.png")
        assert axe_violations(page) == []
        user.assert_clean()


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
