"""Positive and negative cases for catalog/network.yaml."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from radguard.db.models.discovery import Scan
from radguard.db.models.evidence import Attestation
from radguard.db.models.inventory import Endpoint
from tests.checks.conftest import NOW, add_probe, asset, observe

GOOD_TLS = {"version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384",
            "certificate": {"subject": "CN=vna", "issuer": "CN=Northwind CA", "not_after": "2027-06-01T00:00:00Z",
                            "self_signed": False}}


def test_tls_weak_old_protocol_expired_and_self_signed(s: Session) -> None:
    add_probe(s, "10.30.2.11", 2762, asset_ref="NWH-MAIN/VNA", service="dicom-tls",
              tls={"version": "TLSv1.1", "cipher": "AES128-SHA",
                   "certificate": {"not_after": "Jan  1 00:00:00 2025 GMT", "self_signed": True}})
    add_probe(s, "10.20.2.10", 443, asset_ref="NWH-MAIN/PACS-CORE", service="https", tls=GOOD_TLS)
    found = observe(s, "RG-TLS-WEAK")
    assert list(found) == ["NWH-MAIN/VNA#10.30.2.11:2762"]
    reasons = found["NWH-MAIN/VNA#10.30.2.11:2762"].evidence["reasons"]
    assert reasons == ["protocol TLSv1.1 is older than TLS 1.2", "certificate expired on 2025-01-01",
                       "certificate is self-signed"]


def test_web_no_auth(s: Session) -> None:
    add_probe(s, "10.40.1.20", 8080, asset_ref="NWH-OIC/OIC-MINIPACS", service="dicomweb",
              http={"status": 200, "server": "Orthanc", "product": "Orthanc", "version": "1.5.6",
                    "auth_required": False, "dicomweb_anonymous": True})
    add_probe(s, "10.40.1.21", 8042, asset_ref="NWH-OIC/OIC-WEBVIEWER", service="http",
              http={"status": 401, "server": "Orthanc", "product": "Orthanc", "version": "1.12.3",
                    "auth_required": True, "dicomweb_anonymous": False})
    found = observe(s, "RG-WEB-NO-AUTH")
    assert list(found) == ["NWH-OIC/OIC-MINIPACS#10.40.1.20:8080"]


def test_hl7_cleartext_and_attested_tunnel(s: Session) -> None:
    found = observe(s, "RG-HL7-CLEARTEXT")
    assert {"NWH-MAIN/HL7-ENGINE", "NWH-MAIN/RIS"} <= set(found)
    assert "NWH-MAIN/PACS-CORE" not in found
    s.add(Attestation(asset_id=asset(s, "NWH-MAIN/HL7-ENGINE").id, subject="hl7_encrypted", value="yes",
                      attested_by="Interface team", attested_at=NOW))
    assert "NWH-MAIN/HL7-ENGINE" not in observe(s, "RG-HL7-CLEARTEXT")


def test_not_segmented(s: Session) -> None:
    found = observe(s, "RG-NOT-SEGMENTED")
    assert found["NWH-MAIN/DX-ED"].evidence == {"zone": "clinical-general"}
    assert found["NWH-OIC/OIC-MG"].evidence == {"zone": None}
    assert "NWH-MAIN/CT-ED-1" not in found  # imaging-modalities
    assert "NWH-MAIN/CORE-SW-IMG" not in found  # a network device, not an imaging asset


def test_not_segmented_requires_separate_zones_for_modalities_archives_and_workstations(s: Session) -> None:
    found = observe(s, "RG-NOT-SEGMENTED")
    # The outpatient centre keeps CT, MR, its mini-PACS and a web viewer in one zone.
    ct = found["NWH-OIC/OIC-CT"].evidence
    assert ct["zone"] == "oic-imaging"
    assert ct["shared_with"] == {"PACS/VNA": {"count": 1, "names": ["OIC-MINIPACS"]},
                                 "workstations": {"count": 1, "names": ["OIC-WEBVIEWER"]}}
    assert found["NWH-OIC/OIC-MINIPACS"].evidence["shared_with"] == {
        "modalities": {"count": 2, "names": ["OIC-CT", "OIC-MR"]},
        "workstations": {"count": 1, "names": ["OIC-WEBVIEWER"]}}
    assert "shares" not in found["NWH-OIC/OIC-CT"].summary and "PACS/VNA" in found["NWH-OIC/OIC-CT"].summary
    # Main campus: modalities, archive and workstations each have their own zone.
    for name in ("CT-ED-1", "PACS-CORE", "VNA", "READ-WS-2", "AI-TRIAGE"):
        assert f"NWH-MAIN/{name}" not in found, name
    # Zones are compared within a site and ignoring case.
    asset(s, "NWH-MAIN/READ-WS-2").network_zone = "Imaging-Modalities"
    asset(s, "NWH-OIC/OIC-WEBVIEWER").network_zone = "imaging-modalities"  # same name, other site
    found = observe(s, "RG-NOT-SEGMENTED")
    assert found["NWH-MAIN/CT-ED-1"].evidence["shared_with"] == {
        "workstations": {"count": 1, "names": ["READ-WS-2"]}}
    assert "workstations" not in found["NWH-OIC/OIC-CT"].evidence["shared_with"]


def _vantage_scan(s: Session, zone: str | None) -> int:
    scan = Scan(started=NOW, finished=NOW, level=1, targets=["10.20.0.0/16"],
                options={"ports": [104], **({"vantage_zone": zone} if zone else {})})
    s.add(scan)
    s.flush()
    return scan.id


def _probe_from(s: Session, scan_id: int, host: str, port: int, ref: str, at: datetime = NOW,
                state: str = "open") -> int:
    row = add_probe(s, host, port, asset_ref=ref, at=at, state=state, service=None)
    row.scan_id = scan_id
    s.flush()
    return row.id


def test_modality_reached_from_a_general_it_vantage_is_not_segmented(s: Session) -> None:
    office, imaging = _vantage_scan(s, "corporate-lan"), _vantage_scan(s, "imaging-mgmt")
    unknown = _vantage_scan(s, None)
    seen = _probe_from(s, office, "10.20.1.11", 104, "NWH-MAIN/CT-ED-1")
    _probe_from(s, office, "10.20.1.21", 104, "NWH-MAIN/MR-1", state="filtered")  # blocked: fine
    _probe_from(s, office, "10.20.2.10", 104, "NWH-MAIN/PACS-CORE")  # archives serve viewers; not this rule
    _probe_from(s, imaging, "10.20.1.12", 104, "NWH-MAIN/CT-2")  # from inside imaging: expected
    _probe_from(s, unknown, "10.20.1.22", 4100, "NWH-MAIN/MR-2")  # vantage not recorded: proves nothing
    found = observe(s, "RG-NOT-SEGMENTED")
    reach = {k: v for k, v in found.items() if "#reachable-from:" in k}
    assert list(reach) == ["NWH-MAIN/CT-ED-1#reachable-from:corporate-lan"]
    obs = reach["NWH-MAIN/CT-ED-1#reachable-from:corporate-lan"]
    assert obs.evidence["vantage_zone"] == "corporate-lan"
    (cited,) = obs.evidence["reached"]
    assert cited["evidence_id"] == seen and cited["endpoint"] == "10.20.1.11:104" and cited["scan_id"] == office
    assert obs.summary == "reachable from general-IT zone corporate-lan on 10.20.1.11:104"
    # A person's attestation does not overrule what the scan saw.
    s.add(Attestation(asset_id=asset(s, "NWH-MAIN/CT-ED-1").id, subject="segmented", value="yes",
                      attested_by="Network team", attested_at=NOW))
    assert "NWH-MAIN/CT-ED-1#reachable-from:corporate-lan" in observe(s, "RG-NOT-SEGMENTED")
    # A later scan from the same zone that no longer gets through closes it.
    later = _vantage_scan(s, "Corporate-LAN")
    _probe_from(s, later, "10.20.1.11", 104, "NWH-MAIN/CT-ED-1", at=datetime(2026, 11, 21, 13, 0, tzinfo=UTC),
                state="filtered")
    after = observe(s, "RG-NOT-SEGMENTED", now=datetime(2026, 11, 21, 14, 0, tzinfo=UTC))
    assert not [k for k in after if "#reachable-from:" in k]


def test_not_segmented_respects_settings_and_attestation(s: Session) -> None:
    params = {"parameters": {"general_zones": ["datacenter"]}}
    found = observe(s, "RG-NOT-SEGMENTED", settings=params)
    assert "NWH-MAIN/RIS" in found
    # clinical-general is no longer a general zone by name, but DX-ED still shares it with a workstation.
    assert found["NWH-MAIN/DX-ED"].evidence["shared_with"] == {"workstations": {"count": 1, "names": ["READ-WS-1"]}}
    s.add(Attestation(asset_id=asset(s, "NWH-MAIN/RIS").id, subject="segmented", value="yes",
                      attested_by="Network team", attested_at=NOW))
    assert "NWH-MAIN/RIS" not in observe(s, "RG-NOT-SEGMENTED", settings=params)


def test_rdp_exposed(s: Session) -> None:
    add_probe(s, "10.20.5.5", 3389, asset_ref="NWH-MAIN/READ-WS-2", service="unknown")
    found = observe(s, "RG-RDP-EXPOSED")
    assert set(found) == {"NWH-MAIN/READ-WS-1", "NWH-MAIN/READ-WS-2"}
    assert "NWH-MAIN/CORE-SW-IMG" not in found


def test_remote_gateway_not_in_dmz(s: Session) -> None:
    assert observe(s, "RG-REMOTE-GW-NOT-DMZ") == {}  # all Northwind gateways sit in the DMZ
    vpn, home = asset(s, "NWH-MAIN/VENDOR-VPN"), asset(s, "NWH-OIC/OIC-HOME-READ-VPN")
    vpn.network_zone = "imaging-core"
    home.network_zone = "vendor-access"
    assert list(observe(s, "RG-REMOTE-GW-NOT-DMZ")) == ["NWH-MAIN/VENDOR-VPN"]


def test_netdev_cleartext_admin(s: Session) -> None:
    assert observe(s, "RG-NETDEV-CLEARTEXT-ADMIN") == {}
    fw, switch = asset(s, "NWH-MAIN/FW-IMG"), asset(s, "NWH-MAIN/CORE-SW-IMG")
    fw.endpoints.append(Endpoint(host="10.0.0.1", port=80, protocol="http"))
    switch.endpoints.append(Endpoint(host="10.0.0.2", port=443, protocol="https"))
    found = observe(s, "RG-NETDEV-CLEARTEXT-ADMIN")
    assert list(found) == ["NWH-MAIN/FW-IMG"]


def test_certificate_date_forms() -> None:
    from radguard.checks.evaluators.network import parse_when, tls_weaknesses

    assert parse_when("2030-01-01T00:00:00Z") == datetime.fromisoformat("2030-01-01T00:00:00+00:00")
    assert parse_when("Jan  1 00:00:00 2030 GMT") is not None
    assert parse_when("garbage") is None
    assert tls_weaknesses(GOOD_TLS, NOW) == []


def _clock(s: Session, host: str, port: int, offset: int, *, ref: str, at: datetime = NOW) -> int:
    return add_probe(s, host, port, asset_ref=ref, at=at, service="http",
                     http={"status": 200, "server": "nginx", "auth_required": None, "clock_offset_s": offset}).id


def test_time_not_synced_from_a_measured_clock_offset(s: Session) -> None:
    assert observe(s, "RG-TIME-NOT-SYNCED") == {}
    slow = _clock(s, "10.20.2.10", 8042, -3605, ref="NWH-MAIN/PACS-CORE")  # an hour behind: wrong zone
    _clock(s, "10.30.2.11", 443, 2, ref="NWH-MAIN/VNA")  # within the margin
    found = observe(s, "RG-TIME-NOT-SYNCED")
    assert list(found) == ["NWH-MAIN/PACS-CORE"]
    obs = found["NWH-MAIN/PACS-CORE"]
    assert obs.evidence["clock_offset_s"] == -3605 and obs.evidence["probe"]["evidence_id"] == slow
    assert obs.summary == "clock 3605 s behind (HTTP Date header on 10.20.2.10:8042)"
    # A person's "yes" does not overrule a measurement; a tighter margin catches the VNA too.
    s.add(Attestation(asset_id=asset(s, "NWH-MAIN/PACS-CORE").id, subject="time_synchronised", value="yes",
                      attested_by="PACS admin", attested_at=NOW))
    tight = observe(s, "RG-TIME-NOT-SYNCED", settings={"parameters": {"clock_skew_max_seconds": 1}})
    assert set(tight) == {"NWH-MAIN/PACS-CORE", "NWH-MAIN/VNA"}
    # Once fixed, the newest reading counts.
    _clock(s, "10.20.2.10", 8042, 0, ref="NWH-MAIN/PACS-CORE", at=datetime(2026, 11, 21, 13, 0, tzinfo=UTC))
    assert observe(s, "RG-TIME-NOT-SYNCED", now=datetime(2026, 11, 21, 14, 0, tzinfo=UTC)) == {}


def test_time_not_synced_from_attestation_and_inventory(s: Session) -> None:
    s.add(Attestation(asset_id=asset(s, "NWH-MAIN/MR-1").id, subject="time_synchronised", value="no",
                      attested_by="Biomed", attested_at=NOW))
    ct = asset(s, "NWH-MAIN/CT-2")
    ct.attributes = {**(ct.attributes or {}), "ntp": False}
    found = observe(s, "RG-TIME-NOT-SYNCED")
    assert set(found) == {"NWH-MAIN/MR-1", "NWH-MAIN/CT-2"}
    assert found["NWH-MAIN/MR-1"].evidence["reasons"] == ["attested not synchronised by Biomed"]
    assert found["NWH-MAIN/CT-2"].evidence["reasons"] == ["inventory records ntp=false"]

def test_legacy_services_open_on_imaging_hosts(s: Session) -> None:
    add_probe(s, "10.20.3.21", 445, asset_ref="NWH-MAIN/CT-ED-1", service="unknown")
    add_probe(s, "10.20.3.21", 23, asset_ref="NWH-MAIN/CT-ED-1", service="unknown",
              banner="(Telnet option negotiation)")
    add_probe(s, "10.20.3.21", 21, asset_ref="NWH-MAIN/CT-ED-1", state="closed", service=None)
    add_probe(s, "10.0.0.2", 445, asset_ref="NWH-MAIN/CORE-SW-IMG", service="unknown")  # not an imaging asset
    found = observe(s, "RG-LEGACY-SERVICE-OPEN")
    assert found["NWH-MAIN/CT-ED-1"].evidence == {"legacy_services": ["SMB 10.20.3.21:445", "Telnet 10.20.3.21:23"]}
    assert "NWH-MAIN/CORE-SW-IMG" not in found
    dx = asset(s, "NWH-MAIN/DX-ED")
    dx.endpoints.append(Endpoint(host="10.0.0.9", port=5900, protocol="other"))
    assert observe(s, "RG-LEGACY-SERVICE-OPEN")["NWH-MAIN/DX-ED"].evidence == {"legacy_services": ["VNC 10.0.0.9:5900"]}


def test_tls_weak_from_the_enumerated_versions_ciphers_and_key() -> None:
    """Discovery lists what a server accepts; a TLS 1.3 negotiation does not hide TLS 1.0."""
    from radguard.checks.evaluators.network import tls_weaknesses

    enumerated = {**GOOD_TLS, "versions": ["TLSv1", "TLSv1.2", "TLSv1.3"], "weak_cipher_classes": ["export", "RC4"],
                  "weak_ciphers": ["EXP-RC4-MD5"],
                  "certificate": {**GOOD_TLS["certificate"], "key_type": "RSA", "key_bits": 1024}}
    assert tls_weaknesses(enumerated, NOW) == [
        "accepts TLSv1, older than TLS 1.2",
        "accepts export-grade (40/56-bit), RC4 cipher suites (EXP-RC4-MD5)",
        "certificate key is RSA 1024 bits (under 2048)",
    ]
    modern = {**GOOD_TLS, "versions": ["TLSv1.2", "TLSv1.3"], "weak_cipher_classes": [],
              "certificate": {**GOOD_TLS["certificate"], "key_type": "EC", "key_bits": 256}}
    assert tls_weaknesses(modern, NOW) == []
