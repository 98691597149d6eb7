"""Decisions on findings (both engines) and attestations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from radguard.checks.attestations import list_attestations, record_attestation
from radguard.checks.findings import TransitionError, finding_record, list_findings, transition
from radguard.checks.loader import Catalog
from radguard.db.models.findings import Finding
from radguard.db.session import Database
from radguard.errors import InputError, NotFoundError
from radguard.inventory.importer import import_inventory
from radguard.readiness.dashboard import assess
from tests.checks.conftest import NOW
from tests.conftest import EXAMPLES


@pytest.fixture
def assessed(database: Database, own_catalog: Catalog) -> Database:
    with database.transaction() as session:
        import_inventory(session, EXAMPLES / "northwind-inventory.yaml")
        assess(session, now=NOW, catalog=own_catalog)
    return database


def _one(db: Database, check_id: str) -> int:
    with db.read() as session:
        fid = session.scalar(select(Finding.id).where(Finding.check_id == check_id).order_by(Finding.id))
    assert fid is not None
    return fid


def test_transitions_and_history(assessed: Database) -> None:
    fid = _one(assessed, "RG-REMOTE-NO-MFA")
    with assessed.transaction() as session:
        f = transition(session, fid, "accept", by="CISO", reason="replacement in Q2",
                       until=NOW + timedelta(days=90), now=NOW)
        assert (f.state, f.decided_by, f.accepted_until) == ("risk_accepted", "CISO", NOW + timedelta(days=90))
        f = transition(session, fid, "resolve", by="Biomed", reason="MFA enabled on vendor portal", now=NOW)
        assert f.state == "mitigated" and f.closed_at == NOW and f.accepted_until is None
        f = transition(session, fid, "reopen", by="Auditor", reason="MFA bypass found", now=NOW)
        assert f.state == "reopened" and f.closed_at is None and f.due is not None
        f = transition(session, fid, "false-positive", by="Auditor", reason="duplicate of gateway finding", now=NOW)
        record = finding_record(f, events=True)
    assert [h["to"] for h in record["history"]] == ["open", "risk_accepted", "mitigated", "reopened",
                                                   "false_positive"]
    assert record["history"][1]["actor"] == "CISO" and record["history"][1]["reason"] == "replacement in Q2"
    for key in ("id", "check_id", "title", "asset", "state", "severity", "risk_score", "risk_explanation", "due",
                "first_seen", "last_seen", "evidence", "safeguard_type", "defense_layer", "frameworks"):
        assert key in record
    assert record["asset"]["name"] and record["frameworks"]["hph_cpg"] == ["E3"]


def test_invalid_decisions_are_refused(assessed: Database) -> None:
    fid = _one(assessed, "RG-ASSET-STALE")
    with assessed.transaction() as session:
        with pytest.raises(InputError, match="needs an end date"):
            transition(session, fid, "accept", by="CISO", reason="x", now=NOW)
        with pytest.raises(InputError, match="not in the future"):
            transition(session, fid, "accept", by="CISO", reason="x", until=NOW - timedelta(days=1), now=NOW)
        with pytest.raises(InputError, match="give a reason"):
            transition(session, fid, "resolve", by="CISO", reason=" ", now=NOW)
        with pytest.raises(TransitionError, match="applies only to mitigated or risk_accepted or false_positive"):
            transition(session, fid, "reopen", by="CISO", reason="x", now=NOW)
        with pytest.raises(NotFoundError):
            transition(session, 999999, "resolve", by="CISO", reason="x", now=NOW)


def test_list_filters(assessed: Database) -> None:
    with assessed.read() as session:
        everything = list_findings(session)
        crit = list_findings(session, severities=["critical"])
        assert crit and all(f.severity == "critical" for f in crit)
        mine = list_findings(session, asset_ref="NWH-MAIN/CT-ED-1")
        assert mine and all(f.asset_id == mine[0].asset_id for f in mine)
        assert {f.check_id for f in list_findings(session, check_ids=["rg-no-owner", "RG-ASSET-STALE"])} <= {
            "RG-NO-OWNER", "RG-ASSET-STALE"}
        assert len(list_findings(session, states=["open"])) == len(everything)
        assert list_findings(session, states=["mitigated"]) == []
        scores = [f.risk_score for f in everything]
        assert scores == sorted(scores, reverse=True)
        with pytest.raises(InputError, match="state"):
            list_findings(session, states=["closed"])


def test_attestations_record_list_expire(assessed: Database) -> None:
    with assessed.transaction() as session:
        row = record_attestation(session, subject="encrypted_at_rest", value="No", attested_by="PACS admin",
                                 asset_ref="NWH-MAIN/PACS-CORE", attested_at=NOW - timedelta(days=10),
                                 expires_at=NOW + timedelta(days=355), evidence_link="https://tickets/1")
        assert row.value == "no"
        record_attestation(session, subject="baa_signed", value="yes", attested_by="Privacy", site_code="NWH-OIC",
                           attested_at=NOW - timedelta(days=400), expires_at=NOW - timedelta(days=35))
        with pytest.raises(InputError, match="subject"):
            record_attestation(session, subject="Encrypted At Rest", value="yes", attested_by="x", site_code="NWH-OIC")
        with pytest.raises(InputError, match="exactly one"):
            record_attestation(session, subject="baa_signed", value="yes", attested_by="x")
        with pytest.raises(NotFoundError):
            record_attestation(session, subject="baa_signed", value="yes", attested_by="x", site_code="NOPE")
    with assessed.read() as session:
        assert [a.subject for a in list_attestations(session, now=NOW)] == ["encrypted_at_rest"]
        assert len(list_attestations(session, include_expired=True, now=NOW)) == 2
        assert len(list_attestations(session, site_code="NWH-OIC", include_expired=True, now=NOW)) == 1
