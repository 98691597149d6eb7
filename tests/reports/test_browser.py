"""The HTML report in Debian's Chromium: it draws its charts and asks the network for nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.reports.northwind import cli

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.mark.browser
def test_html_report_renders_charts_offline(northwind_url: str, out_dir: Path) -> None:
    html = out_dir / "technical-browser.html"
    cli("--db", northwind_url, "report", "--audience", "technical", "-o", str(html))
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda req: requests.append(req.url))
            page.goto(html.as_uri())
            page.wait_for_load_state("load")
            charts = page.locator("svg.chart")
            labels = [charts.nth(i).get_attribute("aria-label") for i in range(charts.count())]
            assert {
                "Assets by class",
                "Open findings by severity",
                "Open findings by asset class",
                "Open findings by defense layer",
                "Maturity by domain against target",
                "Framework requirements by coverage status",
            } <= set(labels)
            for i in range(charts.count()):
                box = charts.nth(i).bounding_box()
                assert box is not None and box["width"] > 300 and box["height"] > 100, (labels[i], box)
            # Every chart draws real bars (matplotlib patches), not an empty frame.
            assert page.locator("svg.chart g[id*='patch']").count() > 40
            assert page.locator("h2").all_inner_texts()[:4] == ["Summary", "Inventory", "Findings", "Advisory matches"]
            shot = out_dir / "technical.png"
            page.screenshot(path=str(shot), full_page=False)
            assert shot.stat().st_size > 20_000
        finally:
            browser.close()
    assert requests == [html.as_uri()], f"the report made requests: {requests}"
