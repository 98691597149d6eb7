"""Editing the inventory fields a fix asks for on the asset page (issue #19): validated by the
inventory stage's own write function as an import would be, audited, refusals keep what was typed."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard.db.models.findings import Finding
from radguard.db.models.inventory import Asset
from radguard.db.models.web import AuditEvent
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.inventory.edits import update_asset_fields
from radguard.readiness.dashboard import assess
from tests.web.conftest import csrf_of, demo_open_finding

CHECK = "RG-REMOTE-NO-MFA"  # fix: "record remote_access_mfa=true"


def _seed(db: Database) -> tuple[int, int]:
    return demo_open_finding(db, CHECK)


def _fields(db: Database, asset_id: int) -> tuple[object, ...]:
    with db.read() as s:
        a = s.get(Asset, asset_id)
        assert a is not None
        return a.owner, a.criticality, a.network_zone, a.remote_access, a.remote_access_mfa, a.end_of_support


def test_viewer_sees_no_form_and_cannot_post(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    asset_id, _ = _seed(web_db)
    before = _fields(web_db, asset_id)
    c = client_for("viewer")
    assert 'id="edit-form"' not in c.get(f"/inventory/{asset_id}").text
    r = c.post(f"/inventory/{asset_id}/edit", data={"remote_access_mfa": "yes", "csrf_token": csrf_of(c)},
               follow_redirects=False)
    assert r.status_code == 403 and _fields(web_db, asset_id) == before


def test_contributor_records_mfa_audited_and_reassessment_closes_the_finding(
        web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    asset_id, finding_id = _seed(web_db)
    c = client_for("contributor")
    page = c.get(f"/inventory/{asset_id}").text
    assert f'href="/inventory/{asset_id}?field=remote_access_mfa#edit-remote_access_mfa">record remote access MFA' \
        in page
    opened = c.get(f"/inventory/{asset_id}", params={"field": "remote_access_mfa"}).text
    assert '<details id="asset-edit" open>' in opened
    r = c.post(f"/inventory/{asset_id}/edit",
               data={"remote_access_mfa": "yes", "owner": "Imaging IT (R. Patel)", "criticality": "4",
                     "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    done = c.get(r.headers["location"]).text
    assert "Saved: " in done and "remote access MFA" in done
    assert "Imaging IT (R. Patel)" in done
    owner, criticality, _, _, mfa, _ = _fields(web_db, asset_id)
    assert (owner, criticality, mfa) == ("Imaging IT (R. Patel)", 4, True)
    with web_db.read() as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "asset.edit")).one()
        assert event.actor == "contributor" and event.target == f"asset:{asset_id}"
        assert event.detail["changed"]["remote_access_mfa"]["to"] is True
        assert event.detail["changed"]["owner"]["to"] == "Imaging IT (R. Patel)"
    # The same values again change nothing and write no second audit entry.
    r = c.post(f"/inventory/{asset_id}/edit", data={"remote_access_mfa": "yes", "csrf_token": csrf_of(c)},
               follow_redirects=False)
    assert r.status_code == 303 and "Nothing changed." in c.get(r.headers["location"]).text
    with web_db.read() as s:
        assert len(s.scalars(select(AuditEvent).where(AuditEvent.action == "asset.edit")).all()) == 1
    with web_db.transaction() as s:
        assess(s)
    with web_db.read() as s:
        f = s.get(Finding, finding_id)
        assert f is not None and f.state == "mitigated"


def test_bad_input_rerenders_with_what_was_typed_and_stores_nothing(
        web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    asset_id, _ = _seed(web_db)
    before = _fields(web_db, asset_id)
    c = client_for("contributor")
    for data, field, words in (
            ({"criticality": "7", "owner": "Dr Someone", "network_zone": "imaging-vlan"}, "criticality", "5"),
            ({"end_of_support": "20277-01-01", "owner": "Dr Someone", "network_zone": "imaging-vlan"},
             "end_of_support", "date"),
            ({"remote_access": "sometimes", "owner": "Dr Someone", "network_zone": "imaging-vlan"},
             "remote_access", "on-demand")):
        r = c.post(f"/inventory/{asset_id}/edit", data={**data, "csrf_token": csrf_of(c)}, follow_redirects=False)
        assert r.status_code == 400, r.text
        error = re.search(r'<p class="error" role="alert" id="edit-error">([^<]+)</p>', r.text)
        assert error and field in error.group(1) and words in error.group(1), error
        assert 'value="Dr Someone"' in r.text and 'value="imaging-vlan"' in r.text
        assert '<details id="asset-edit" open>' in r.text
        assert _fields(web_db, asset_id) == before
    with web_db.read() as s:
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "asset.edit")).first() is None


def test_the_write_function_refuses_other_fields_and_blank_clears(web_db: Database) -> None:
    asset_id, _ = _seed(web_db)
    with web_db.transaction() as s:
        asset = s.get(Asset, asset_id)
        assert asset is not None
        with pytest.raises(InputError, match=r"vendor.*cannot be changed here"):
            update_asset_fields(s, asset, {"vendor": "Acme"})
        changed = update_asset_fields(s, asset, {"owner": "", "network_zone": " imaging "})
        assert asset.owner is None and asset.network_zone == "imaging"
        assert set(changed) <= {"owner", "network_zone"} and changed["network_zone"]["to"] == "imaging"


@pytest.mark.parametrize(("field", "text", "refusal"), [
    ("network_zone", "imaging\x00core", r"network_zone.*control character \(U\+0000\)"),
    ("owner", "PACS team\x1b[2J", r"owner.*control character \(U\+001B\)"),
    ("owner", "a\x85b", r"owner.*control character \(U\+0085\)"),
    ("network_zone", "z" * 100_000, r"network_zone': 'z{80}'… \(100,000 characters\)"),
    ("criticality", "9" * 100_000, r"criticality': '9{80}'… \(100,000 characters\)"),
    ("criticality", "\u00b2", r"criticality': '\u00b2' is not a whole number"),
    ("end_of_support", "0000-00-00", r"end_of_support': '0000-00-00'"),
])
def test_hostile_field_edits_are_refused_and_store_nothing(web_db: Database, field: str, text: str,
                                                           refusal: str) -> None:
    """A NUL reached the database (PostgreSQL refuses it: a 500), ESC reached terminals, and a pasted
    100 kB value was echoed back whole; each is now refused naming the field, and nothing changes."""
    asset_id, _ = _seed(web_db)
    with web_db.transaction() as s:
        asset = s.get(Asset, asset_id)
        assert asset is not None
        before = (asset.owner, asset.network_zone, asset.criticality, asset.end_of_support)
        with pytest.raises(InputError, match=refusal) as err:
            update_asset_fields(s, asset, {field: text})
        assert len(str(err.value)) < 400
        assert (asset.owner, asset.network_zone, asset.criticality, asset.end_of_support) == before
