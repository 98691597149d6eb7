"""The vendor and MDS2-driven checks, each called directly with a CheckContext.

Northwind (inventory and vendor register) is loaded once into a template database and copied
per test. Every check has a positive case (the safeguard is missing) and a negative one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from radguard.checks.registry import CheckContext, Observation, load_evaluators
from radguard.db.models.evidence import Evidence
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.inventory.mds2 import import_mds2
from radguard.inventory.queries import find_asset
from radguard.inventory.sbom import import_sbom
from radguard.inventory.vendors import import_vendors
from tests.conftest import EXAMPLES, FIXTURES
from tests.support.templates import build_template, copy_of
from tests.vendors.mds2_forms import STRONG_DEVICE, WEAK_DEVICE

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
BEFORE_NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _seed(s: Session) -> None:
    import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
    import_vendors(s, EXAMPLES / "northwind-vendors.yaml")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("nw-vendors") / "nw.db", _seed)


@pytest.fixture
def nw(template: Path, tmp_path: Path) -> Iterator[Database]:
    with copy_of(template, tmp_path, "nw.db") as db:
        yield db


Observe = Callable[..., list[Observation]]


@pytest.fixture
def observe(nw: Database) -> Observe:
    evaluators = load_evaluators()

    def run(check_id: str, **settings: Any) -> list[Observation]:
        with nw.read() as s:
            return list(evaluators[check_id](CheckContext(s, now=NOW, settings=settings)))

    return run


def _by_subject(observations: list[Observation]) -> dict[str, Observation]:
    return {o.subject or "": o for o in observations}


def _mds2(db: Database, tmp_path: Path, asset: str, answers: dict[str, Any], name: str | None = None) -> int:
    path = tmp_path / (name or f"{asset.replace('/', '_')}.csv")
    lines = ["question_id,answer"] + [f"{q},\"{v.date().isoformat() if isinstance(v, datetime) else v}\""
                                      for q, v in answers.items()]
    path.write_text("\n".join(lines) + "\n")
    with db.transaction() as s:
        import_mds2(s, path, asset)
        asset_id = find_asset(s, asset).id
    _settle(db)
    return asset_id


def _sbom(db: Database, path: Path, asset: str) -> None:
    with db.transaction() as s:
        import_sbom(s, path, asset)
    _settle(db)


def _settle(db: Database) -> None:
    """Date new evidence just before the fixed assessment time (imports stamp the wall clock)."""
    with db.transaction() as s:
        s.execute(update(Evidence).where(Evidence.collected_at > NOW).values(collected_at=BEFORE_NOW))


def _asset_id(db: Database, ref: str) -> int:
    with db.read() as s:
        return find_asset(s, ref).id


def _vendors(db: Database, tmp_path: Path, *vendors: dict[str, Any]) -> None:
    path = tmp_path / "extra-vendors.json"
    path.write_text(json.dumps({"vendors": list(vendors)}))
    with db.transaction() as s:
        import_vendors(s, path)


# --- vendor register checks -------------------------------------------------------------------

def test_no_baa(observe: Observe, nw: Database, tmp_path: Path) -> None:
    found = _by_subject(observe("RG-VENDOR-NO-BAA"))
    assert {"vendor:Example Cloud Backup", "vendor:iCAD", "vendor:Softneta"} <= set(found)
    assert found["vendor:Example Cloud Backup"].evidence["baa_signed"] is False
    assert "vendor:Philips" not in found and "vendor:NextGen" not in found  # signed; no PHI
    # PHI access not recorded: inferred from the linked assets.
    _vendors(nw, tmp_path,
             {"name": "Unrecorded A", "products": [{"name": "x", "assets": ["NWH-MAIN/US-2"]}]},
             {"name": "Unrecorded B", "products": [{"name": "y", "assets": ["NWH-MAIN/CORE-SW-IMG"]}]})
    found = _by_subject(observe("RG-VENDOR-NO-BAA"))
    assert found["vendor:Unrecorded A"].evidence["phi_assets"] == ["NWH-MAIN/US-2"]
    assert "vendor:Unrecorded B" not in found


def test_no_cvd(observe: Observe) -> None:
    found = _by_subject(observe("RG-VENDOR-NO-CVD"))
    assert {"vendor:iCAD", "vendor:Softneta", "vendor:Example Telerad", "vendor:Nuance"} == set(found)
    assert "vendor:Carestream" not in found  # a named security contact is enough


def test_contract_terms(observe: Observe, nw: Database, tmp_path: Path) -> None:
    found = {(o.subject, o.key): o for o in observe("RG-VENDOR-TERMS")}
    ge = found[("vendor:GE Healthcare", "NWH-SVC-GEHC-2022")].evidence["missing"]
    assert ge == ["patch timeline within 60 days (contract says 90)",
                  "end-of-life notice of at least 36 months", "incident notification time"]
    assert ("vendor:Example Telerad", "no-contract") in found
    assert not any(subject == "vendor:Philips" for subject, _ in found)  # all three terms present
    assert not any(subject == "vendor:Siemens Healthineers" for subject, _ in found)
    # A laxer patch maximum clears GE's patch term but not the others.
    relaxed = {(o.subject, o.key): o for o in observe("RG-VENDOR-TERMS", vendor_patch_days_max=90)}
    assert len(relaxed[("vendor:GE Healthcare", "NWH-SVC-GEHC-2022")].evidence["missing"]) == 2
    # Only expired contracts: no current contract.
    _vendors(nw, tmp_path, {"name": "Lapsed", "contracts": [
        {"reference": "OLD-1", "expires": "2025-12-31", "patch_days": 30, "eol_notice_months": 36,
         "incident_notification_hours": 24}]})
    lapsed = {(o.subject, o.key): o for o in observe("RG-VENDOR-TERMS")}[("vendor:Lapsed", "no-contract")]
    assert lapsed.evidence["expired_contracts"] == ["OLD-1"]


def test_review_overdue(observe: Observe) -> None:
    found = _by_subject(observe("RG-VENDOR-REVIEW-OVERDUE"))
    assert found["vendor:Philips"].evidence["last_review"] == "2025-03-14"
    assert found["vendor:iCAD"].evidence["last_review"] is None
    assert "vendor:Siemens Healthineers" not in found and "vendor:Hyland" not in found
    longer = _by_subject(observe("RG-VENDOR-REVIEW-OVERDUE", vendor_review_max_days=730))
    assert "vendor:Philips" not in longer and "vendor:iCAD" in longer


def test_remote_unbrokered(observe: Observe) -> None:
    found = _by_subject(observe("RG-VENDOR-REMOTE-UNBROKERED"))
    assert found["vendor:Philips"].evidence["reasons"] == ["always-on connection"]
    assert found["vendor:GE Healthcare"].evidence["reasons"] == ["sessions not logged"]
    assert found["vendor:Hologic"].evidence["reasons"] == ["always-on connection", "session logging not recorded"]
    assert found["vendor:Philips"].exposure > found["vendor:GE Healthcare"].exposure
    for ok in ("Siemens Healthineers", "Hyland", "Fujifilm", "Carestream", "NextGen"):
        assert f"vendor:{ok}" not in found


def test_no_sbom_or_mds2(observe: Observe, nw: Database, tmp_path: Path) -> None:
    ct2 = _asset_id(nw, "NWH-MAIN/CT-2")
    mr1 = _mds2(nw, tmp_path, "NWH-MAIN/MR-1", STRONG_DEVICE)
    _mds2(nw, tmp_path, "NWH-MAIN/CT-2", STRONG_DEVICE)
    _sbom(nw, FIXTURES / "vendors" / "router-appliance.cdx.json", "NWH-MAIN/CT-2")
    found = {o.asset_id: o for o in observe("RG-NO-SBOM-MDS2")}
    assert ct2 not in found
    assert found[mr1].evidence["missing"] == ["SBOM"]
    assert found[_asset_id(nw, "NWH-MAIN/CT-ED-1")].evidence["missing"] == ["MDS2", "SBOM"]
    assert _asset_id(nw, "NWH-MAIN/READ-WS-1") not in found  # workstations are not in scope
    assert _asset_id(nw, "NWH-MAIN/AI-TRIAGE") in found


# --- MDS2-driven checks -------------------------------------------------------------------------

MDS2_CHECKS = ["RG-MDS2-DEFAULT-ACCOUNTS", "RG-MDS2-REMOTE-NOT-OWNER-CONTROLLED", "RG-MDS2-NO-TRANSMISSION-ENCRYPTION",
               "RG-MDS2-NO-MALWARE-PROTECTION", "RG-MDS2-NO-AUDIT-LOGGING", "RG-MDS2-REMOVABLE-MEDIA",
               "RG-MDS2-NO-SBOM", "RG-MDS2-NO-CVD"]


@pytest.mark.parametrize("check_id", MDS2_CHECKS)
def test_mds2_check_fires_on_attested_no_and_not_on_yes(observe: Observe, nw: Database, tmp_path: Path,
                                                        check_id: str) -> None:
    weak = _mds2(nw, tmp_path, "NWH-MAIN/CT-ED-1", WEAK_DEVICE)
    strong = _mds2(nw, tmp_path, "NWH-MAIN/CT-2", STRONG_DEVICE)
    found = observe(check_id)
    assert [o.asset_id for o in found] == [weak]
    assert found[0].evidence["mds2_evidence_id"] > 0 and found[0].evidence["answers"]
    assert strong not in {o.asset_id for o in found}


def test_no_mds2_no_mds2_findings(observe: Observe) -> None:
    for check_id in MDS2_CHECKS:
        assert observe(check_id) == []


def test_default_accounts_lists_each_attested_no(observe: Observe, nw: Database, tmp_path: Path) -> None:
    _mds2(nw, tmp_path, "NWH-MAIN/CT-ED-1", {**STRONG_DEVICE, "SGUD-3.1": "No"})
    (obs,) = observe("RG-MDS2-DEFAULT-ACCOUNTS")
    assert obs.evidence["attested_no"] == ["SGUD-3.1"]


def test_conditions_that_excuse_a_no(observe: Observe, nw: Database, tmp_path: Path) -> None:
    # No PII handled: cleartext transmission is not a PHI finding.
    _mds2(nw, tmp_path, "NWH-MAIN/CT-ED-1", {**WEAK_DEVICE, "MPII-1": "No"})
    # Encryption off by default but the customer can turn it on; cannot host executables.
    _mds2(nw, tmp_path, "NWH-MAIN/CT-2", {**WEAK_DEVICE, "CONN-7": "Yes", "TXCF-2.1": "Yes", "MLDP-1": "No",
                                          "CONN-1.2.2": "No", "CONN-1.2.3": "No"})
    assert observe("RG-MDS2-NO-TRANSMISSION-ENCRYPTION") == []
    assert [o.asset_id for o in observe("RG-MDS2-NO-MALWARE-PROTECTION")] == [_asset_id(nw, "NWH-MAIN/CT-ED-1")]
    assert [o.asset_id for o in observe("RG-MDS2-REMOVABLE-MEDIA")] == [_asset_id(nw, "NWH-MAIN/CT-ED-1")]


def test_allow_listing_is_a_compensating_control(observe: Observe, nw: Database, tmp_path: Path) -> None:
    _mds2(nw, tmp_path, "NWH-MAIN/CT-ED-1", {**WEAK_DEVICE, "MLDP-4": "Yes"})
    assert observe("RG-MDS2-NO-MALWARE-PROTECTION") == []


def test_audit_log_kept_but_not_exportable(observe: Observe, nw: Database, tmp_path: Path) -> None:
    _mds2(nw, tmp_path, "NWH-MAIN/CT-ED-1", {**WEAK_DEVICE, "AUDT-1": "Yes", "AUDT-2": "Yes"})
    (obs,) = observe("RG-MDS2-NO-AUDIT-LOGGING")
    assert obs.key == "not-exported"
    _mds2(nw, tmp_path, "NWH-MAIN/CT-ED-1", {**WEAK_DEVICE, "AUDT-2": "Yes", "AUDT-5.3": "Yes, syslog"}, "b.csv")
    assert observe("RG-MDS2-NO-AUDIT-LOGGING") == []


def test_free_text_is_not_read_as_no(observe: Observe, nw: Database, tmp_path: Path) -> None:
    _mds2(nw, tmp_path, "NWH-MAIN/CT-ED-1", {"DOC-1": "Acme", "PAUT-4": "See note 4", "RMOT-1": "Yes",
                                             "RMOT-1.1": "Depends on contract", "SBOM-1": "On request",
                                             "DOC-8": "Contact sales", "SAHD-11": "Optional"})
    for check_id in MDS2_CHECKS:
        assert observe(check_id) == [], check_id


def test_an_imported_sbom_answers_sbom_1_no(observe: Observe, nw: Database, tmp_path: Path) -> None:
    _mds2(nw, tmp_path, "NWH-MAIN/CT-ED-1", WEAK_DEVICE)
    _sbom(nw, FIXTURES / "vendors" / "workstation.cdx.xml", "NWH-MAIN/CT-ED-1")
    assert observe("RG-MDS2-NO-SBOM") == []


def test_newest_statement_wins_and_future_evidence_is_ignored(observe: Observe, nw: Database,
                                                              tmp_path: Path) -> None:
    asset = _mds2(nw, tmp_path, "NWH-MAIN/CT-ED-1", WEAK_DEVICE, "old.csv")
    _mds2(nw, tmp_path, "NWH-MAIN/CT-ED-1", STRONG_DEVICE, "new.csv")
    with nw.transaction() as s:
        s.execute(update(Evidence).where(Evidence.source == "old.csv").values(collected_at=datetime(2025, 1, 1)))
        s.execute(update(Evidence).where(Evidence.source == "new.csv").values(collected_at=datetime(2026, 1, 1)))
    assert observe("RG-MDS2-DEFAULT-ACCOUNTS") == []
    with nw.transaction() as s:  # the strong statement is dated after the assessment: the old one counts
        s.execute(update(Evidence).where(Evidence.source == "new.csv").values(collected_at=datetime(2027, 1, 1)))
    assert [o.asset_id for o in observe("RG-MDS2-DEFAULT-ACCOUNTS")] == [asset]


# --- MDS2 answers that feed the other checks -----------------------------------------------------

def _set(db: Database, ref: str, **values: Any) -> None:
    with db.transaction() as s:
        asset = find_asset(s, ref)
        for name, value in values.items():
            setattr(asset, name, value)


def _on(observations: list[Observation], asset_id: int) -> list[Observation]:
    return [o for o in observations if o.asset_id == asset_id]


def test_paut_8_feeds_remote_mfa(observe: Observe, nw: Database, tmp_path: Path) -> None:
    ct = _mds2(nw, tmp_path, "NWH-MAIN/CT-ED-1", {"RMOT-1": "Yes", "PAUT-8": "No"})  # always-on, MFA false
    (obs,) = _on(observe("RG-REMOTE-NO-MFA"), ct)
    assert obs.evidence["mds2"]["answers"] == {"RMOT-1": "yes", "PAUT-8": "no"}
    assert "the device itself has no MFA (MDS2 PAUT-8)" in (obs.summary or "")
    # The inventory does not say whether US-2 has a remote path: the manufacturer's form decides.
    us2 = _mds2(nw, tmp_path, "NWH-MAIN/US-2", {"RMOT-1": "Yes", "PAUT-8": "No"})
    assert _on(observe("RG-REMOTE-NO-MFA"), us2) == []  # recorded as remote_access none
    _set(nw, "NWH-MAIN/US-2", remote_access=None)
    (obs,) = _on(observe("RG-REMOTE-NO-MFA"), us2)
    assert obs.evidence["remote_access"] is None and obs.evidence["mds2"]["answers"]["PAUT-8"] == "no"
    _mds2(nw, tmp_path, "NWH-MAIN/US-2", {"RMOT-1": "Yes", "PAUT-8": "Yes"}, "us2-b.csv")
    assert _on(observe("RG-REMOTE-NO-MFA"), us2) == []
    # MFA recorded on the path: the device's own lack of MFA is not a finding.
    _set(nw, "NWH-MAIN/US-2", remote_access="on-demand", remote_access_mfa=True)
    _mds2(nw, tmp_path, "NWH-MAIN/US-2", {"RMOT-1": "Yes", "PAUT-8": "No"}, "us2-c.csv")
    assert _on(observe("RG-REMOTE-NO-MFA"), us2) == []


def test_conn_4_feeds_phi_cleartext_offsite(observe: Observe, nw: Database, tmp_path: Path) -> None:
    weak = {"MPII-1": "Yes", "CONN-4": "Yes", "CONN-7": "No"}
    ct = _mds2(nw, tmp_path, "NWH-MAIN/CT-ED-1", weak)
    (obs,) = [o for o in observe("RG-PHI-CLEARTEXT-OFFSITE") if o.key == "mds2:CONN-4"]
    assert obs.asset_id == ct and obs.evidence["answers"] == {"CONN-4": "yes", "MPII-1": "yes", "CONN-7": "no"}
    assert "CONN-4" in (obs.summary or "") and "no TLS (CONN-7)" in (obs.summary or "")
    for other in ({**weak, "CONN-4": "No"}, {**weak, "MPII-1": "No"}, {**weak, "CONN-7": "Yes"},
                  {**weak, "CONN-4": "See note 3"}):
        _mds2(nw, tmp_path, "NWH-MAIN/CT-ED-1", other, "again.csv")
        assert [o for o in observe("RG-PHI-CLEARTEXT-OFFSITE") if o.key == "mds2:CONN-4"] == [], other


def test_csup_2_4_weighs_on_missing_patch_terms(observe: Observe, nw: Database, tmp_path: Path) -> None:
    def ge() -> Observation:
        found = {(o.subject, o.key): o for o in observe("RG-VENDOR-TERMS")}
        return found[("vendor:GE Healthcare", "NWH-SVC-GEHC-2022")]

    before = ge()
    assert "vendor_patched_devices" not in before.evidence
    _mds2(nw, tmp_path, "NWH-MAIN/MR-2", {"CSUP-2": "Yes", "CSUP-2.4": "No"})  # a GE device
    _mds2(nw, tmp_path, "NWH-MAIN/US-1", {"CSUP-2": "Yes", "CSUP-2.4": "Yes", "CSUP-2.2": "No"})
    after = ge()
    assert after.evidence["vendor_patched_devices"] == ["NWH-MAIN/MR-2"]
    assert after.exposure > before.exposure
    assert "1 of its devices take OS updates only through it" in (after.summary or "")
    # Philips's contract has every term: a vendor-patched Philips device changes nothing.
    _mds2(nw, tmp_path, "NWH-MAIN/CT-ED-1", {"CSUP-2.2": "Yes"})
    assert not [o for o in observe("RG-VENDOR-TERMS") if o.subject == "vendor:Philips"]


def test_rdmp_3_feeds_eos_unknown(observe: Observe, nw: Database, tmp_path: Path) -> None:
    triage, cad = _asset_id(nw, "NWH-MAIN/AI-TRIAGE"), _asset_id(nw, "NWH-MAIN/AI-MAMMO-CAD")
    plain = {o.asset_id: o for o in observe("RG-EOS-UNKNOWN")}
    assert {triage, cad} <= set(plain) and "mds2" not in plain[triage].evidence
    _mds2(nw, tmp_path, "NWH-MAIN/AI-TRIAGE", {"RDMP-3": "No"})
    _mds2(nw, tmp_path, "NWH-MAIN/AI-MAMMO-CAD", {"RDMP-3": "Yes"})
    found = {o.asset_id: o for o in observe("RG-EOS-UNKNOWN")}
    assert found[triage].evidence["mds2"]["answers"] == {"RDMP-3": "no"}
    assert found[triage].exposure > plain[triage].exposure == found[cad].exposure
    assert "publishes no support dates" in (found[triage].summary or "")
    assert "publishes support dates (MDS2 RDMP-3)" in (found[cad].summary or "")


def test_didt_1_1_names_senders_that_can_deidentify(observe: Observe, nw: Database, tmp_path: Path) -> None:
    triage = _asset_id(nw, "NWH-MAIN/AI-TRIAGE")
    (before,) = _on(observe("RG-AI-NO-BAA"), triage)
    assert "deidentifying_senders" not in before.evidence
    _mds2(nw, tmp_path, "NWH-MAIN/PACS-CORE", {"DIDT-1": "Yes", "DIDT-1.1": "Yes"})  # sends studies to AI-TRIAGE
    _mds2(nw, tmp_path, "NWH-MAIN/CT-ED-1", {"DIDT-1.1": "Yes"})  # sends to the PACS, not the AI tool
    (after,) = _on(observe("RG-AI-NO-BAA"), triage)
    assert after.evidence["deidentifying_senders"] == ["NWH-MAIN/PACS-CORE"]
    assert "NWH-MAIN/PACS-CORE can de-identify before sending (MDS2 DIDT-1.1)" in (after.summary or "")


def test_audt_4_1_1_no_is_excused_by_a_recorded_time_source(observe: Observe, nw: Database, tmp_path: Path) -> None:
    assert observe("RG-TIME-NOT-SYNCED") == []  # no MDS2, no probe, no record: nothing to go on
    _mds2(nw, tmp_path, "NWH-MAIN/CT-2", STRONG_DEVICE)  # AUDT-4.1.1 yes
    _mds2(nw, tmp_path, "NWH-MAIN/MR-1", {"AUDT-4.1.1": "Depends on the software release"})
    ct = _mds2(nw, tmp_path, "NWH-MAIN/CT-ED-1", {"AUDT-4.1": "Yes", "AUDT-4.1.1": "No"})
    (obs,) = observe("RG-TIME-NOT-SYNCED")
    assert obs.asset_id == ct and obs.evidence["mds2"]["answers"] == {"AUDT-4.1": "yes", "AUDT-4.1.1": "no"}
    with nw.transaction() as s:
        asset = find_asset(s, "NWH-MAIN/CT-ED-1")
        asset.attributes = {**(asset.attributes or {}), "time_source": "manual check against the PACS, weekly"}
    assert observe("RG-TIME-NOT-SYNCED") == []
