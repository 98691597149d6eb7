"""Real browser tests (Playwright on Debian's Chromium) against a live server.

Each flow is checked in the database afterwards, not just on the page.
"""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from radguard.db.models.findings import Finding
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.readiness.dashboard import assess
from radguard.web.app import create_app
from tests.conftest import EXAMPLES
from tests.support.browser import chromium, live_server
from tests.web.conftest import PASSWORD


def test_sign_in_browse_inventory_and_accept_a_risk(web_db: Database) -> None:
    with web_db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
    with web_db.transaction() as s:
        assess(s)
    with web_db.read() as s:
        target = s.scalar(select(Finding).where(Finding.check_id == "RG-REMOTE-ALWAYS-ON").order_by(Finding.id))
        assert target is not None
        target_id = target.id
    app = create_app(web_db)
    requests: list[str] = []
    with live_server(app) as base, chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(60_000)
        page.on("request", lambda r: requests.append(r.url))
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(base + "/inventory")
        page.wait_for_url("**/login**")
        page.fill("input[name=username]", "assessor")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/inventory")
        page.fill("input[name=q]", "PACS")
        # htmx swaps in the filtered rows without a page load
        expect(page.locator("#rows")).not_to_contain_text("DX-ED", timeout=10000)
        rows = page.inner_text("#rows")
        assert "PACS-CORE" in rows and "OIC-MINIPACS" in rows and "2 assets" in rows
        page.goto(f"{base}/findings?check=RG-REMOTE-ALWAYS-ON")
        page.check(f"input[name=ids][value='{target_id}']")
        page.select_option("select[name=action]", "accept")
        page.fill("input[name=reason]", "brokered access arrives in Q3")
        page.fill("input[name=until]", (date.today() + timedelta(days=200)).isoformat())
        with page.expect_navigation(url="**/findings?**"):
            page.click("#triage button[type=submit]", no_wait_after=True)
        expect(page.locator("#triage")).not_to_contain_text("brokered access")
        page.screenshot(path=str(web_db.url.split("///", 1)[1]) + ".png")
        assert errors == [], errors  # CSP blocks nothing we rely on
    assert all(u.startswith(base) for u in requests), [u for u in requests if not u.startswith(base)]
    with web_db.read() as s:
        f = s.get(Finding, target_id)
        assert f is not None and f.state == "risk_accepted" and f.decision_reason == "brokered access arrives in Q3"
