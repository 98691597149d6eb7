"""Reports and exports as downloads: attachments, the same content as the CLI, audited, CSRF."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard.db.models.web import AuditEvent
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.readiness.dashboard import assess
from tests.conftest import EXAMPLES
from tests.web.conftest import csrf_of


def _northwind(db: Database) -> None:
    with db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
    with db.transaction() as s:
        assess(s)


def test_executive_report_html_download(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    _northwind(web_db)
    c = client_for("viewer")
    assert 'id="report-form"' in c.get("/reports").text
    r = c.post("/reports/report", data={"audience": "executive", "fmt": "html", "csrf_token": csrf_of(c)})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="radguard-executive-report-') and disposition.endswith('.html"')
    assert "Imaging cybersecurity readiness: executive summary" in r.text and "The five risks" in r.text
    with web_db.read() as s:
        ev = s.scalar(select(AuditEvent).where(AuditEvent.action == "report.download"))
        assert ev is not None and ev.actor == "viewer" and ev.detail["format"] == "html"


def test_technical_pdf_and_site_scope(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    _northwind(web_db)
    c = client_for("assessor")
    r = c.post("/reports/report", data={"audience": "technical", "fmt": "pdf", "site": "NWH-MAIN",
                                        "csrf_token": csrf_of(c)})  # a background job (test_report_jobs.py)
    job = r.url.path
    deadline = time.monotonic() + 180
    while 'data-state="ready"' not in r.text and 'data-state="failed"' not in r.text:
        assert time.monotonic() < deadline, r.text
        time.sleep(0.2)
        r = c.get(job)
    r = c.get(job + "/download")
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    assert "-NWH-MAIN-" in r.headers["content-disposition"]
    r = c.post("/reports/report", data={"audience": "technical", "fmt": "html", "site": "NOWHERE",
                                        "csrf_token": csrf_of(c)})
    assert r.status_code == 404 and "NOWHERE" in r.text
    r = c.post("/reports/report", data={"audience": "board", "csrf_token": csrf_of(c)})
    assert r.status_code == 400


def test_technical_report_appendix_choice(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    _northwind(web_db)
    c = client_for("viewer")
    assert '<select name="appendix">' in c.get("/reports").text
    sizes = {}
    for choice in ("assets,frameworks", "none", "frameworks"):
        r = c.post("/reports/report", data={"audience": "technical", "fmt": "html", "appendix": choice,
                                            "csrf_token": csrf_of(c)})
        assert r.status_code == 200, r.text
        sizes[choice] = len(r.content)
        assert ("Appendix A: per-asset detail" in r.text) == (choice == "assets,frameworks"), choice
        assert ("framework mappings</h2>" in r.text) == (choice != "none"), choice
    assert sizes["none"] < sizes["frameworks"] < sizes["assets,frameworks"]
    with web_db.read() as s:
        details = [e.detail for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "report.download"))]
    assert [d["appendices"] for d in details] == [["assets", "frameworks"], [], ["frameworks"]]
    r = c.post("/reports/report", data={"audience": "technical", "fmt": "html", "appendix": "everything",
                                        "csrf_token": csrf_of(c)})
    assert r.status_code == 400 and "is not an appendix" in r.text


def test_table_and_oscal_exports(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    _northwind(web_db)
    c = client_for("viewer")
    token = csrf_of(c)
    r = c.post("/reports/export/findings", data={"fmt": "csv", "csrf_token": token})
    assert r.status_code == 200 and r.headers["content-disposition"].endswith('.csv"')
    header = r.text.splitlines()[0]
    assert "check_id" in header and len(r.text.splitlines()) > 2
    r = c.post("/reports/export/inventory", data={"fmt": "json", "csrf_token": token})
    doc = json.loads(r.text)
    assert r.status_code == 200 and doc  # the same document `radguard export inventory --format json` writes
    r = c.post("/reports/export/oscal", data={"csrf_token": token})
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(r.content)).namelist()
    assert sorted(names) == ["radguard-assessment-results.json", "radguard-assessment-results.poam.json"]
    assert c.post("/reports/export/secrets", data={"csrf_token": token}).status_code == 404
    assert c.post("/reports/export/findings", data={"fmt": "xml", "csrf_token": token}).status_code == 400
    with web_db.read() as s:
        kinds = s.scalars(select(AuditEvent.target).where(AuditEvent.action == "export.download")).all()
        assert sorted(kinds) == ["export:findings", "export:inventory", "export:oscal"]


def test_downloads_need_the_csrf_token(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    c = client_for("viewer")
    assert c.post("/reports/report", data={"audience": "executive"}).status_code == 403
    assert c.post("/reports/export/findings", data={"fmt": "csv", "csrf_token": "forged"}).status_code == 403
    with web_db.read() as s:
        assert s.scalar(select(AuditEvent).where(AuditEvent.action.in_(["report.download",
                                                                         "export.download"]))) is None
