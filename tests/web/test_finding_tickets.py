"""The finding page shows the ticket key(s) a finding was exported under (Jira, ServiceNow)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard.db.models.findings import Finding
from radguard.db.session import Database
from radguard.integrations.tickets import servicenow_import_set
from tests.web.test_findings_pages import _seed


def test_finding_page_shows_its_ticket_key(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    _seed(web_db)
    with web_db.read() as s:
        fid = s.scalars(select(Finding.id).order_by(Finding.id)).first()
    viewer = client_for("viewer")
    assert "Tickets" not in viewer.get(f"/findings/{fid}").text  # not exported yet: no block
    with web_db.transaction() as s:
        servicenow_import_set(s, ["open", "reopened", "mitigated", "risk_accepted", "false_positive"])
    page = viewer.get(f"/findings/{fid}")
    assert page.status_code == 200 and "<h2>Tickets</h2>" in page.text and f"RG-{fid}" in page.text
