"""Positive and negative cases for catalog/data.yaml."""

from __future__ import annotations

from sqlalchemy.orm import Session

from radguard.db.models.evidence import Attestation, Evidence
from tests.checks.conftest import NOW, asset, observe


def _mds2(s: Session, ref: str, stcf1: str) -> None:
    s.add(Evidence(kind="doc.mds2", asset_id=asset(s, ref).id, received={"form": "MDS2-2019",
                   "answers": {"STCF-1": stcf1, "RMOT-1.1": "yes"}}, sent={}, collected_at=NOW, source="mds2.xlsx"))


def test_phi_unencrypted_from_mds2_and_attestation(s: Session) -> None:
    assert observe(s, "RG-PHI-UNENCRYPTED-AT-REST") == {}
    _mds2(s, "NWH-MAIN/PACS-CORE", "No")
    _mds2(s, "NWH-MAIN/VNA", "Yes")
    s.add(Attestation(asset_id=asset(s, "NWH-MAIN/DICTATION").id, subject="encrypted_at_rest", value="no",
                      attested_by="IT security", attested_at=NOW))
    found = observe(s, "RG-PHI-UNENCRYPTED-AT-REST")
    assert set(found) == {"NWH-MAIN/PACS-CORE", "NWH-MAIN/DICTATION"}
    assert found["NWH-MAIN/PACS-CORE"].evidence["answers"] == {"STCF-1": "No"}


def test_phi_unencrypted_attestation_overrides_mds2(s: Session) -> None:
    _mds2(s, "NWH-MAIN/PACS-CORE", "no")
    s.add(Attestation(asset_id=asset(s, "NWH-MAIN/PACS-CORE").id, subject="encrypted_at_rest", value="yes",
                      attested_by="PACS admin", attested_at=NOW, evidence_link="https://tickets/991"))
    assert observe(s, "RG-PHI-UNENCRYPTED-AT-REST") == {}


def test_phi_cleartext_offsite(s: Session) -> None:
    found = observe(s, "RG-PHI-CLEARTEXT-OFFSITE")
    assert found, "Northwind sends DICOM between its two sites"
    for label, obs in found.items():
        assert obs.evidence["protocol"] in ("dicom", "hl7-mllp", "http"), label
    same_site = [k for k in found if k.startswith("NWH-MAIN/CT-ED-1#")]
    assert same_site == []  # CT-ED-1 → PACS-CORE stays on the main campus


def test_buffer_unknown(s: Session) -> None:
    found = observe(s, "RG-BUFFER-UNKNOWN")
    assert "NWH-MAIN/MR-2" in found
    assert found["NWH-MAIN/DX-ED"].summary == "auto-delete policy not recorded"  # recorded as "unknown"
    assert "NWH-MAIN/CT-ED-1" not in found
    s.add(Attestation(asset_id=asset(s, "NWH-MAIN/MR-2").id, subject="buffer_policy_known", value="yes",
                      attested_by="Modality lead", attested_at=NOW))
    assert "NWH-MAIN/MR-2" not in observe(s, "RG-BUFFER-UNKNOWN")


def test_phi_unknown(s: Session) -> None:
    assert observe(s, "RG-PHI-UNKNOWN") == {}
    ct = asset(s, "NWH-MAIN/CT-2")
    ct.stores_phi = None
    switch = asset(s, "NWH-MAIN/CORE-SW-IMG")
    switch.stores_phi = None
    assert list(observe(s, "RG-PHI-UNKNOWN")) == ["NWH-MAIN/CT-2"]
