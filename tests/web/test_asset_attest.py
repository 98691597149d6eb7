"""Recording an attestation where the finding says to: on the asset page (issue #19)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard.db.models.evidence import Attestation
from radguard.db.models.findings import Finding
from radguard.db.models.inventory import Asset
from radguard.db.models.web import AuditEvent
from radguard.db.session import Database
from radguard.readiness.dashboard import assess
from tests.web.conftest import csrf_of, demo_open_finding

CHECK = "RG-REMOTE-SESSION-UNLOGGED"  # reads the remote_sessions_logged attestation


def _seed(db: Database) -> tuple[int, int]:
    return demo_open_finding(db, CHECK)


def test_viewer_sees_no_form_and_cannot_post(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    asset_id, _ = _seed(web_db)
    c = client_for("viewer")
    page = c.get(f"/inventory/{asset_id}")
    assert page.status_code == 200 and 'id="attest-form"' not in page.text
    r = c.post(f"/inventory/{asset_id}/attest", data={"subject": "remote_sessions_logged", "value": "yes",
                                                     "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 403
    with web_db.read() as s:
        assert s.scalars(select(Attestation)).first() is None


def test_contributor_records_it_audited_and_reassessment_closes_the_finding(
        web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    asset_id, finding_id = _seed(web_db)
    c = client_for("contributor")
    listed = c.get(f"/inventory/{asset_id}")
    assert "?subject=remote_sessions_logged#attest-form" in listed.text  # the finding links to its answer
    page = c.get(f"/inventory/{asset_id}", params={"subject": "remote_sessions_logged"})
    assert 'id="attest-form"' in page.text and 'value="remote_sessions_logged" selected' in page.text
    r = c.post(f"/inventory/{asset_id}/attest",
               data={"subject": "remote_sessions_logged", "value": "yes", "expires": "2099-12-31",
                     "evidence": "https://tickets.example/CHG-17", "csrf_token": csrf_of(c)},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    done = c.get(r.headers["location"])
    assert "Recorded: remote support sessions are logged" in done.text
    assert "https://tickets.example/CHG-17" in done.text
    with web_db.read() as s:
        row = s.scalars(select(Attestation)).one()
        assert (row.asset_id, row.subject, row.value, row.attested_by) == (
            asset_id, "remote_sessions_logged", "yes", "contributor")
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "attestation.record")).one()
        assert event.actor == "contributor" and event.target == f"asset:{asset_id}"
        assert event.detail["subject"] == "remote_sessions_logged" and event.detail["value"] == "yes"
    with web_db.transaction() as s:
        assess(s)
    with web_db.read() as s:
        f = s.get(Finding, finding_id)
        assert f is not None and f.state == "mitigated"


def test_bad_input_rerenders_with_what_was_typed_and_stores_nothing(
        web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    asset_id, _ = _seed(web_db)
    c = client_for("contributor")
    r = c.post(f"/inventory/{asset_id}/attest",
               data={"subject": "remote_sessions_logged", "value": "yes", "expires": "next tuesday",
                     "evidence": "CHG-17 kept", "csrf_token": csrf_of(c)})
    assert r.status_code == 400
    assert 'id="attest-error"' in r.text and "expires" in r.text and "YYYY-MM-DD" in r.text
    assert 'value="next tuesday"' in r.text and 'value="CHG-17 kept"' in r.text
    r = c.post(f"/inventory/{asset_id}/attest",
               data={"subject": "remote_sessions_logged", "value": "maybe", "csrf_token": csrf_of(c)})
    assert r.status_code == 400 and "choose yes or no" in r.text
    with web_db.read() as s:
        assert s.scalars(select(Attestation)).first() is None
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "attestation.record")).first() is None
        assert s.get(Asset, asset_id) is not None
