"""The manager's day in a real browser (Playwright on Debian's Chromium, CSP active, #19):
find the riskiest device, and open the roadmap and export it. Each is checked against the
stages' own answers (the findings list's order, ``build_roadmap`` and its CSV), not only on
the page, and each page is checked with axe-core (WCAG 2 A/AA, serious and critical).
Screenshots go to the test's directory, and to docs/img when ``RADGUARD_DOC_SCREENSHOTS=1``
(how the ones in the docs are made: ``tests.support.browser.screenshot``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from radguard.checks.findings import list_findings
from radguard.db.models.inventory import Asset
from radguard.db.session import Database
from radguard.readiness.roadmap import build_roadmap, to_csv
from tests.support.browser import axe_violations, screenshot
from tests.web.test_browser_flows import Session, northwind, served  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


def test_find_the_riskiest_device(northwind: Database, served: tuple[str, Any], tmp_path: Path) -> None:  # noqa: F811
    base, browser = served
    with northwind.read() as s:
        top = list_findings(s, states=["open"], sort="risk", limit=1)[0]
        expected = s.scalars(select(Asset).where(Asset.id == top.asset_id)).one()
        top_id, asset_id, heading = top.id, expected.id, f"{expected.site.code}/{expected.name}"
    user = Session(browser, base, "viewer")
    page = user.page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("nav >> text=Findings")
    page.wait_for_url(base + "/findings")
    page.locator("table.list tbody tr").first.locator("a[href^='/findings/']").click()
    page.wait_for_url(f"{base}/findings/{top_id}")
    page.locator(f"a[href='/inventory/{asset_id}']").first.click()
    page.wait_for_url(f"{base}/inventory/{asset_id}")
    assert page.locator("h1").inner_text() == heading
    assert page.locator(f"tr[data-finding='{top_id}'] a[href='/findings/{top_id}']").count() == 1
    screenshot(page, tmp_path, "web-riskiest-device.png")
    assert axe_violations(page) == []
    user.assert_clean()


def test_open_the_roadmap_and_export_it(northwind: Database, served: tuple[str, Any],  # noqa: F811
                                        tmp_path: Path) -> None:
    base, browser = served
    with northwind.read() as s:
        doc = build_roadmap(s)
    owner = next(a["owner"] for a in doc["actions"] if a["owner"])
    user = Session(browser, base, "viewer")
    page = user.page
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("nav >> text=Roadmap")
    page.wait_for_url(base + "/roadmap")
    ranks = [int(r.removeprefix("action-")) for r in
             page.locator("#roadmap-actions tbody tr").evaluate_all("rows => rows.map(r => r.id)")]
    assert ranks == [a["rank"] for a in doc["actions"]]
    screenshot(page, tmp_path, "web-roadmap.png")
    assert axe_violations(page) == []
    assert user.errors == []
    # The check itself sees a violation when there is one (an image without a text alternative).
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<img src=\"/static/x.png\">')")
    assert any(v.startswith("image-alt:") for v in axe_violations(page))
    page.reload()
    user.errors.clear()  # the inserted image's own 404, not the page's
    page.select_option("select[name=owner]", owner)
    page.click("form.filters button[type=submit]")
    page.wait_for_url(lambda url: "owner=" in url)
    owners = page.locator("#roadmap-actions tbody tr").evaluate_all("rows => rows.map(r => r.dataset.owner)")
    assert owners and set(owners) == {owner}
    assert page.locator("select[name=owner]").input_value() == owner
    with page.expect_download() as info:
        page.click("a[href='/roadmap.csv']")
    target = tmp_path / info.value.suggested_filename
    info.value.save_as(str(target))
    assert target.name.startswith("radguard-roadmap-") and target.read_text(encoding="utf-8") == to_csv(doc)
    user.assert_clean()
