"""The offline binder: opened in headless Chromium with no network, and the PDF's text."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Request, Route, sync_playwright

from radguard.db.session import Database
from radguard.readiness.binder import BinderError, BinderOptions, binder_context, export_binder
from tests.conftest import EXAMPLES
from tests.response.test_services import seed

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
OPTIONS = BinderOptions(generated_at=datetime(2026, 11, 21, 12, tzinfo=UTC), outage_hours=48)


@pytest.fixture
def binder_files(sqlite_db: Database, tmp_path: Path) -> tuple[Path, Path]:
    with sqlite_db.transaction() as session:
        seed(session)
    html, pdf = tmp_path / "binder.html", tmp_path / "binder.pdf"
    with sqlite_db.read() as session:
        export_binder(session, OPTIONS, "html", html)
        export_binder(session, OPTIONS, "pdf", pdf)
    return html, pdf


@pytest.mark.browser
def test_html_binder_works_offline_in_chromium(binder_files: tuple[Path, Path]) -> None:
    html, _ = binder_files
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(offline=True)
            page = context.new_page()
            page.on("request", lambda req: requests.append(req.url))

            def refuse(route: Route, request: Request) -> None:
                if request.url.startswith("file://"):
                    route.continue_()
                else:
                    route.abort()

            page.route("**/*", refuse)
            page.goto(html.as_uri())
            team = page.inner_text("#team")
            services = page.inner_text("#services")
            playbooks = page.inner_text("#playbooks")
            external = page.evaluate("document.querySelectorAll('link[href], script, img, iframe, object').length")
            commander = page.inner_text("tr[data-role='incident_commander']")
            isolate = page.inner_text("#playbook-ransomware-pacs table.steps tbody tr:nth-child(3)")
        finally:
            browser.close()
    assert requests == [html.as_uri()], requests  # the file itself and nothing else
    assert external == 0
    assert "Dana Whitfield" in commander and "+1 555 0199 201" in commander and "Marcus Lee" in commander
    assert "Samuel Grant" in team and "Privacy Officer" in team
    assert "Emergency CT read at the scanner console" in services
    assert "Wet reads by phone with read-back" in services
    assert "runs out at hour 36 h" in services  # CT-ED-1 during the 48 h outage
    assert "Ransomware on PACS or VNA" in playbooks
    # Steps name the person holding the role, not just the role.
    assert "Isolate the imaging segment at the firewall" in isolate
    assert "IT / security lead" in isolate and "Marcus Lee" in isolate and "+1 555 0199 310" in isolate


def test_pdf_binder_text(binder_files: tuple[Path, Path]) -> None:
    _, pdf = binder_files
    assert pdf.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    flat = " ".join(text.split())
    for expected in ("Northwind Health Main Campus: imaging downtime binder", "Dana Whitfield", "+1 555 0199 201",
                     "Incident commander", "Reconcile downtime studies after recovery",
                     "Encrypted USB transfer to the offline viewer", "Suspected exfiltration of images",
                     "Incident log sheet", "First image read in downtime"):
        assert expected in flat, expected


def test_binder_context_and_refusals(sqlite_db: Database, tmp_path: Path) -> None:
    with sqlite_db.transaction() as session:
        seed(session, drills=False)
    with sqlite_db.read() as session:
        ctx = binder_context(session, BinderOptions(generated_at=OPTIONS.generated_at, playbooks=("reporting-outage",)))
        assert [row["pb"].id for row in ctx["playbooks"]] == ["reporting-outage"]
        assert "Privacy / legal lead: no alternate if the primary cannot be reached" in ctx["gaps"]
        with pytest.raises(BinderError, match="unknown playbook"):
            binder_context(session, BinderOptions(generated_at=OPTIONS.generated_at, playbooks=("nope",)))
        with pytest.raises(BinderError, match="use html or pdf"):
            export_binder(session, OPTIONS, "docx", tmp_path / "x.docx")


def test_export_command_on_an_empty_database(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rg("--db", sqlite_url, "init")
    out = tmp_path / "empty.html"
    r = rg("--db", sqlite_url, "playbook", "export", "--format", "html", "-o", out)
    assert r.code == 0, r.err
    text = out.read_text()
    assert "No response team has been recorded" in text and "Ransomware on PACS or VNA" in text
    rg("--db", sqlite_url, "inventory", "import", EXAMPLES / "northwind-inventory.yaml")
    r = rg("--db", sqlite_url, "playbook", "export", "--format", "pdf", "-o", tmp_path / "b.pdf",
           "--playbook", "ransomware-pacs", "--json")
    assert r.code == 0 and '"playbooks": 1' in r.out
