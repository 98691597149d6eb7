"""Positive and negative cases for catalog/dicom.yaml."""

from __future__ import annotations

from sqlalchemy.orm import Session

from radguard.db.models.inventory import Endpoint
from tests.checks.conftest import add_probe, asset, observe

OPEN_DICOM = {"accepts_unknown_calling_ae": False, "accepts_any_called_ae": False, "anonymous_query": None,
              "echo": True, "product": "Orthanc", "version": "1.12.3", "reject": None, "accepted_services": []}


def test_any_calling_ae_flags_only_the_permissive_endpoint(s: Session) -> None:
    add_probe(s, "10.20.2.10", 104, asset_ref="NWH-MAIN/PACS-CORE",
              dicom={**OPEN_DICOM, "accepts_unknown_calling_ae": True})
    add_probe(s, "10.30.2.11", 104, asset_ref="NWH-MAIN/VNA", dicom=OPEN_DICOM)
    found = observe(s, "RG-DICOM-ANY-CALLING-AE")
    assert list(found) == ["NWH-MAIN/PACS-CORE#10.20.2.10:104"]
    assert found["NWH-MAIN/PACS-CORE#10.20.2.10:104"].evidence["accepts_unknown_calling_ae"] is True


def test_any_calling_ae_uses_the_newest_probe(s: Session) -> None:
    from datetime import timedelta

    from tests.checks.conftest import NOW

    add_probe(s, "10.20.2.10", 104, asset_ref="NWH-MAIN/PACS-CORE", at=NOW - timedelta(days=2),
              dicom={**OPEN_DICOM, "accepts_unknown_calling_ae": True})
    add_probe(s, "10.20.2.10", 104, asset_ref="NWH-MAIN/PACS-CORE", at=NOW - timedelta(days=1), dicom=OPEN_DICOM)
    assert observe(s, "RG-DICOM-ANY-CALLING-AE") == {}


def test_any_called_ae_positive_and_negative(s: Session) -> None:
    add_probe(s, "10.20.2.10", 104, asset_ref="NWH-MAIN/PACS-CORE",
              dicom={**OPEN_DICOM, "accepts_any_called_ae": True})
    add_probe(s, "10.20.2.12", 104, asset_ref="NWH-MAIN/VNA", dicom={**OPEN_DICOM, "accepts_any_called_ae": None})
    assert list(observe(s, "RG-DICOM-ANY-CALLED-AE")) == ["NWH-MAIN/PACS-CORE#10.20.2.10:104"]


def test_anonymous_query_on_uninventoried_host_is_a_subject_finding(s: Session) -> None:
    add_probe(s, "10.99.0.5", 4242, dicom={**OPEN_DICOM, "anonymous_query": True})
    add_probe(s, "10.99.0.6", 4242, dicom={**OPEN_DICOM, "anonymous_query": False})
    found = observe(s, "RG-DICOM-ANON-QUERY")
    assert list(found) == ["host:10.99.0.5#10.99.0.5:4242"]


def test_dicom_no_tls_cleartext_only_vs_tls_available(s: Session) -> None:
    found = observe(s, "RG-DICOM-NO-TLS")
    assert "NWH-MAIN/CT-ED-1" in found
    assert "NWH-MAIN/VNA" not in found  # has a dicom-tls endpoint on 2762
    assert "NWH-MAIN/HL7-ENGINE" not in found  # no DICOM at all


def test_dicom_no_tls_clears_when_discovery_sees_tls(s: Session) -> None:
    add_probe(s, "10.20.1.11", 2762, asset_ref="NWH-MAIN/CT-ED-1", service="dicom-tls",
              tls={"version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384", "certificate": {}})
    assert "NWH-MAIN/CT-ED-1" not in observe(s, "RG-DICOM-NO-TLS")


def test_dicom_exposed_in_dmz(s: Session) -> None:
    found = observe(s, "RG-DICOM-EXPOSED-DMZ")
    assert list(found) == ["NWH-MAIN/TELERAD-GW"]  # VENDOR-VPN is in the DMZ but speaks HTTPS only
    assert found["NWH-MAIN/TELERAD-GW"].exposure == 1.0


def test_telerad_no_tls(s: Session) -> None:
    found = observe(s, "RG-TELERAD-NO-TLS")
    assert "NWH-MAIN/TELERAD-GW" in found
    assert "NWH-MAIN/VENDOR-VPN" not in found
    tele = asset(s, "NWH-MAIN/TELERAD-GW")
    for ep in list(tele.endpoints):
        if ep.protocol == "dicom":
            tele.endpoints.remove(ep)
    tele.endpoints.append(Endpoint(host="10.40.0.2", port=2762, protocol="dicom-tls"))
    assert "NWH-MAIN/TELERAD-GW" not in observe(s, "RG-TELERAD-NO-TLS")
