"""Positive and negative cases for catalog/ai_cloud.yaml."""

from __future__ import annotations

from sqlalchemy.orm import Session

from radguard.db.models.evidence import Attestation
from tests.checks.conftest import NOW, asset, observe


def test_ai_no_baa_from_attributes(s: Session) -> None:
    found = observe(s, "RG-AI-NO-BAA")
    assert list(found) == ["NWH-MAIN/AI-TRIAGE"]  # baa_signed: false; AI-MAMMO-CAD and clouds have true
    assert found["NWH-MAIN/AI-TRIAGE"].evidence["baa_signed"] == "no"


def test_ai_no_baa_attestation_wins_over_attribute(s: Session) -> None:
    mammo = asset(s, "NWH-MAIN/AI-MAMMO-CAD")
    s.add(Attestation(asset_id=mammo.id, subject="baa_signed", value="no", attested_by="Privacy officer",
                      attested_at=NOW))
    s.add(Attestation(asset_id=asset(s, "NWH-MAIN/AI-TRIAGE").id, subject="baa_signed", value="yes",
                      attested_by="Privacy officer", attested_at=NOW, evidence_link="https://contracts/42"))
    assert list(observe(s, "RG-AI-NO-BAA")) == ["NWH-MAIN/AI-MAMMO-CAD"]


def test_ai_no_baa_missing_attribute_counts_when_phi_flows(s: Session) -> None:
    exchange = asset(s, "NWH-MAIN/CLOUD-IMAGE-EXCHANGE")
    exchange.attributes = {"region": "us-east"}
    assert "NWH-MAIN/CLOUD-IMAGE-EXCHANGE" in observe(s, "RG-AI-NO-BAA")
    exchange.stores_phi = False  # no PHI stored and no PHI flow into it
    assert "NWH-MAIN/CLOUD-IMAGE-EXCHANGE" not in observe(s, "RG-AI-NO-BAA")


def test_cloud_no_immutable_copy(s: Session) -> None:
    found = observe(s, "RG-CLOUD-NO-IMMUTABLE-COPY")
    assert list(found) == ["NWH-MAIN/CLOUD-IMAGE-EXCHANGE"]  # CLOUD-BACKUP has object_lock


def test_ai_no_downtime_bypass(s: Session) -> None:
    assert set(observe(s, "RG-AI-NO-DOWNTIME-BYPASS")) == {"NWH-MAIN/AI-TRIAGE", "NWH-MAIN/AI-MAMMO-CAD"}
    s.add(Attestation(asset_id=asset(s, "NWH-MAIN/AI-TRIAGE").id, subject="downtime_mode", value="yes",
                      attested_by="PACS admin", attested_at=NOW))
    assert set(observe(s, "RG-AI-NO-DOWNTIME-BYPASS")) == {"NWH-MAIN/AI-MAMMO-CAD"}


def test_dictation_no_downtime(s: Session) -> None:
    assert set(observe(s, "RG-DICTATION-NO-DOWNTIME")) == {"NWH-MAIN/RIS", "NWH-MAIN/DICTATION"}
    dictation = asset(s, "NWH-MAIN/DICTATION")
    dictation.attributes = {"downtime_mode": True}
    assert set(observe(s, "RG-DICTATION-NO-DOWNTIME")) == {"NWH-MAIN/RIS"}
