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


def test_api_finding_record_carries_its_ticket_keys(web_db: Database,
                                                    client_for: Callable[[str], TestClient]) -> None:
    """The API's finding is the same record as `findings show --json`: with the keys it was handed to."""
    _seed(web_db)
    api = client_for("viewer")
    before = api.get("/api/v1/findings").json()
    assert before and all(item["tickets"] == {} for item in before)
    with web_db.transaction() as s:
        servicenow_import_set(s, ["open", "reopened", "mitigated", "risk_accepted", "false_positive"])
    after = {item["id"]: item["tickets"] for item in api.get("/api/v1/findings").json()}
    assert after and all(keys == {"servicenow": f"RG-{fid}"} for fid, keys in after.items())
