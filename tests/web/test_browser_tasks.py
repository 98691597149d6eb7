"""More of the manager's day in a real browser (Playwright on Debian's Chromium, CSP active, #19):
accept a risk from the finding page, download the executive PDF (a background job the page polls
with htmx), and every page reachable from the navigation checked with axe-core (no serious or
critical WCAG 2 A/AA violation). Each flow is checked in the database or the file afterwards. The
risk and PDF pages are saved as screenshots (docs/img with ``RADGUARD_DOC_SCREENSHOTS=1``,
``tests.support.browser.screenshot``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from radguard.checks.findings import list_findings
from radguard.db.models.findings import Finding
from radguard.db.models.web import AuditEvent
from radguard.db.session import Database
from radguard.distributed.schedules import add_schedule
from radguard.readiness.checklists.assessments import create_assessment
from radguard.response.drills import DrillDoc, plan_drill
from tests.support.browser import axe_violations, screenshot
from tests.web.test_browser_flows import Session, northwind, served  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def test_accept_a_risk_from_the_finding_page(northwind: Database, served: tuple[str, Any],  # noqa: F811
                                              tmp_path: Path) -> None:
    base, browser = served
    with northwind.read() as s:
        top = list_findings(s, states=["open"], sort="risk", limit=1)[0]
        finding_id = top.id
    until = (datetime.now(UTC) + timedelta(days=90)).date()
    user = Session(browser, base, "assessor")
    page = user.page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("nav >> text=Findings")
    page.locator("table.list tbody tr").first.locator("a[href^='/findings/']").click()
    page.wait_for_url(f"{base}/findings/{finding_id}")
    form = page.locator("form[action='/findings/decide']").last
    form.locator("select[name=action]").select_option("accept")
    # First without an end date: refused beside the form, the reason kept.
    form.locator("[name=reason]").fill("Vendor patch scheduled for the next maintenance window")
    form.locator("button[type=submit]").click()
    expect(page.locator("#decision-error")).to_be_visible(timeout=10000)
    assert user.errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]
    user.errors.clear()  # the refusal's own status (the page re-rendered with the error), nothing else
    form = page.locator("form[action='/findings/decide']").last
    assert form.locator("[name=reason]").input_value() == "Vendor patch scheduled for the next maintenance window"
    form.locator("input[name=until]").fill(until.isoformat())  # the browser's date picker
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{base}/findings/{finding_id}?saved=1")
    expect(page.locator("p.saved")).to_contain_text("risk accepted")
    screenshot(page, tmp_path, "web-accept-risk.png")
    assert axe_violations(page) == []
    user.assert_clean()
    with northwind.read() as s:
        row = s.get(Finding, finding_id)
        assert row is not None and row.state == "risk_accepted"
        assert row.accepted_until == datetime.combine(until, time(23, 59), tzinfo=UTC)  # the app's zone: UTC
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "finding.accept",
                                                 AuditEvent.target == f"finding:{finding_id}")) is not None


def test_download_the_executive_pdf(northwind: Database, served: tuple[str, Any], tmp_path: Path) -> None:  # noqa: F811
    base, browser = served
    user = Session(browser, base, "viewer")
    page = user.page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("nav >> text=Reports")
    page.select_option("#report-form select[name=audience]", "executive")
    page.select_option("#report-form select[name=fmt]", "pdf")
    page.click("#report-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/reports/jobs/\d+$"))
    job_url = page.url
    # The page polls the job with htmx and swaps in the download link once the PDF is laid out.
    link = page.locator("#report-download")
    expect(link).to_be_visible(timeout=180_000)
    assert page.url == job_url  # no reload: htmx replaced the job's state in place
    page.set_viewport_size({"width": 1280, "height": 300})  # the job page is short: no empty window below it
    screenshot(page, tmp_path, "web-executive-pdf.png")
    assert axe_violations(page) == []
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename.startswith("radguard-executive-report-")
    assert download.suggested_filename.endswith(".pdf")
    target = tmp_path / download.suggested_filename
    download.save_as(str(target))
    data = target.read_bytes()
    assert data.startswith(b"%PDF-") and len(data) > 10_000
    user.assert_clean()
    with northwind.read() as s:
        downloads = s.scalars(select(AuditEvent).where(AuditEvent.action == "report.download")).all()
        assert [(e.actor, e.detail["format"], e.detail["bytes"]) for e in downloads] == [("viewer", "pdf", len(data))]


def _shape(path: str) -> str:
    """A page's kind: its path with numbers and keys replaced, so one finding page stands for all."""
    parts = urlsplit(path).path.strip("/").split("/")
    return "/" + "/".join("N" if p.isdigit() else p for p in parts[:2]) + ("/…" if len(parts) > 2 else "")


SKIP = re.compile(r"(\.csv|\.json|/download|/logout|/static/|/api/)")


def test_every_page_from_the_nav_is_accessible(northwind: Database, served: tuple[str, Any]) -> None:  # noqa: F811
    """axe-core on each page the navigation links, and on one page of each kind reachable from
    those in two clicks (one finding page stands for all of them)."""
    with northwind.transaction() as s:
        create_assessment(s, "Northwind Health", "medium", created_by="assessor")
        plan_drill(s, DrillDoc(key="2027-01-tabletop", kind="tabletop", playbook="ransomware-pacs",
                               date=datetime(2027, 1, 20).date(), services=["ct-main"]))
        asset_id = s.scalars(select(Finding.asset_id).where(Finding.asset_id.is_not(None))).first()
    add_schedule(northwind, "nightly-feeds", "feeds", 24)
    base, browser = served
    user = Session(browser, base, "admin")  # an admin's nav has every link
    page = user.page
    page.set_viewport_size({"width": 1024, "height": 800})
    nav = page.locator("header nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    assert {"/", "/inventory", "/findings", "/roadmap", "/checklists", "/readiness", "/reports",
            "/schedules", "/sensors", "/admin/users", "/admin/audit"} <= set(nav), nav
    seen_shapes: set[str] = set()
    queue: list[str] = []
    for href in nav:
        seen_shapes.add(_shape(href))
        queue.append(href)
    # The asset page with its edit form open (closed, axe would skip the form's controls).
    queue.append(f"/inventory/{asset_id}?field=owner")
    problems: dict[str, list[str]] = {}
    visited: list[str] = []
    depth = {href: 0 for href in queue}
    depth[queue[-1]] = 2
    while queue:
        href = queue.pop(0)
        response = page.goto(base + href)
        assert response is not None and response.status == 200, (href, response.status if response else None)
        page.wait_for_load_state("networkidle")
        visited.append(href)
        found = axe_violations(page)
        if found:
            problems[href] = found
        if depth[href] < 2:  # the pages the nav pages link to, and theirs: one of each kind
            links = page.locator("main a[href^='/']").evaluate_all("links => links.map(a => a.getAttribute('href'))")
            for link in links:
                target = link.split("#")[0]
                if not target or SKIP.search(target) or _shape(target) in seen_shapes:
                    continue
                seen_shapes.add(_shape(target))
                depth[target] = depth[href] + 1
                queue.append(target)
    assert problems == {}, problems
    assert len(visited) >= 24, " ".join(visited)
    assert "/schedules/nightly-feeds" in visited  # the walk reached the pages below the nav, not only the nav
    user.assert_clean()


def test_nav_pages_at_tablet_width(northwind: Database, served: tuple[str, Any]) -> None:  # noqa: F811
    """At 768 px (a tablet held upright) each nav page passes axe and needs no sideways scrolling:
    the page is no wider than the window (wide tables scroll inside their own box)."""
    base, browser = served
    user = Session(browser, base, "admin")
    page = user.page
    page.set_viewport_size({"width": 768, "height": 1024})
    page.goto(base + "/")
    nav = page.locator("header nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    problems: dict[str, list[str]] = {}
    for href in nav:
        if SKIP.search(href):
            continue
        response = page.goto(base + href)
        assert response is not None and response.status == 200, href
        page.wait_for_load_state("networkidle")
        found = axe_violations(page)
        wide = page.evaluate("document.documentElement.scrollWidth")
        if wide > 768:
            found = [*found, f"page is {wide} px wide at a 768 px window"]
        if found:
            problems[href] = found
    assert problems == {}, problems
    user.assert_clean()
