"""Checks on observed flows (passive flow evidence judged with the segmentation policy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from radguard.db.session import Database
from radguard.passive.flowlogs import import_flow_log
from tests.checks.conftest import observe

LOG = """first_seen,protocol,source,destination,destination_port,bytes
2026-05-01T08:30:00Z,tcp,10.20.1.11,8.8.8.8,443,5000
2026-05-01T08:31:00Z,tcp,10.20.1.11,10.20.1.12,104,5000
2026-05-01T08:32:00Z,tcp,10.99.0.5,8.8.8.8,443,5000
"""


def _found_after_import(nw: Database, tmp_path: Path, rows: str, check_id: str) -> dict[str, Any]:
    """The check's observations after importing ``rows`` as a firewall log (none before it)."""
    log = tmp_path / "fw.csv"
    log.write_text(rows)
    with nw.transaction() as s:
        assert observe(s, check_id) == {}
        import_flow_log(s, log)
        return observe(s, check_id)


def test_modality_reaching_the_internet_is_a_finding_with_the_flow(nw: Database, tmp_path: Path) -> None:
    found = _found_after_import(nw, tmp_path, LOG, "RG-FLOW-MODALITY-EGRESS")
    assert list(found) == ["NWH-MAIN/CT-ED-1#10.20.1.11 → 8.8.8.8:443/tcp"]
    evidence = next(iter(found.values())).evidence
    assert evidence["from_zone"] == "imaging-modalities" and evidence["to_role"] == "internet"
    assert evidence["seen_in"] == ["csv"] and evidence["violation"] is True


CLEAR = """first_seen,protocol,source,destination,destination_port,bytes
2026-05-01T08:30:00Z,tcp,10.20.1.11,10.20.0.10,104,5000
2026-05-01T08:31:00Z,tcp,10.20.1.11,10.20.1.12,104,5000
2026-05-01T08:32:00Z,tcp,10.20.1.11,10.20.0.10,2762,5000
"""


def test_cleartext_dicom_between_zones_fires_within_a_zone_or_on_tls_it_does_not(nw: Database,
                                                                                 tmp_path: Path) -> None:
    found = _found_after_import(nw, tmp_path, CLEAR, "RG-FLOW-CLEARTEXT-CROSS-ZONE")
    assert list(found) == ["NWH-MAIN/PACS-CORE#10.20.1.11 → 10.20.0.10:104/tcp"]
    evidence = next(iter(found.values())).evidence
    assert evidence["from_zone"] == "imaging-modalities" and evidence["to_zone"] == "imaging-core"
    assert evidence["cleartext_service"] == "dicom" and evidence["tls"] is False


REMOTE = """first_seen,protocol,source,destination,destination_port,bytes
2026-05-01T08:30:00Z,tcp,8.8.4.4,10.20.1.11,3389,5000
2026-05-01T08:31:00Z,tcp,10.30.9.5,10.20.1.11,5901,5000
2026-05-01T08:32:00Z,tcp,10.40.0.1,10.20.1.12,3389,5000
2026-05-01T08:33:00Z,tcp,10.40.0.5,10.20.0.10,22,5000
2026-05-01T08:34:00Z,tcp,8.8.4.4,10.20.1.11,104,5000
2026-05-01T08:35:00Z,tcp,8.8.4.4,10.40.0.1,22,5000
2026-05-01T08:36:00Z,udp,10.30.9.5,10.20.0.10,5938,5000
"""


def test_remote_access_around_the_declared_gateway_fires_through_the_gateway_it_does_not(nw: Database,
                                                                                        tmp_path: Path) -> None:
    """RDP from the internet and VNC/TeamViewer from general IT to imaging hosts are findings; RDP
    and SSH from the declared gateways (VENDOR-VPN, TELERAD-GW), DICOM, and SSH to the gateway
    itself are not."""
    found = _found_after_import(nw, tmp_path, REMOTE, "RG-FLOW-REMOTE-NOT-VIA-GATEWAY")
    assert sorted(found) == ["NWH-MAIN/CT-ED-1#10.30.9.5 → 10.20.1.11:5901/tcp",
                             "NWH-MAIN/CT-ED-1#8.8.4.4 → 10.20.1.11:3389/tcp",
                             "NWH-MAIN/PACS-CORE#10.30.9.5 → 10.20.0.10:5938/udp"]
    rdp = found["NWH-MAIN/CT-ED-1#8.8.4.4 → 10.20.1.11:3389/tcp"]
    assert rdp.evidence["remote_service"] == "RDP" and rdp.evidence["from_role"] == "internet"
    assert "from outside the organisation" in rdp.summary
    # NWH-MAIN's own gateways, not the other site's.
    assert rdp.evidence["declared_gateways"] == ["TELERAD-GW", "VENDOR-VPN"]
    assert (rdp.evidence["gateway_scope"], rdp.evidence["gateway_site"]) == ("site", "NWH-MAIN")
    vnc = found["NWH-MAIN/CT-ED-1#10.30.9.5 → 10.20.1.11:5901/tcp"]
    assert vnc.evidence["remote_service"] == "VNC" and "from zone clinical-general (general)" in vnc.summary


# Each site's gateway: VENDOR-VPN (NWH-MAIN) and OIC-HOME-READ-VPN (NWH-OIC) into the other
# site's CT, and each into its own site's CT.
CROSS_SITE = """first_seen,protocol,source,destination,destination_port,bytes
2026-05-01T08:30:00Z,tcp,10.40.0.1,10.60.1.11,3389,5000
2026-05-01T08:31:00Z,tcp,10.60.9.1,10.20.1.11,3389,5000
2026-05-01T08:32:00Z,tcp,10.60.9.1,10.60.1.11,3389,5000
2026-05-01T08:33:00Z,tcp,10.40.0.1,10.20.1.11,3389,5000
"""


def test_each_site_is_judged_with_its_own_gateway_else_the_organisations(nw: Database, tmp_path: Path) -> None:
    from sqlalchemy import select

    from radguard.db.models.inventory import Asset

    found = _found_after_import(nw, tmp_path, CROSS_SITE, "RG-FLOW-REMOTE-NOT-VIA-GATEWAY")
    assert sorted(found) == ["NWH-MAIN/CT-ED-1#10.60.9.1 → 10.20.1.11:3389/tcp",
                             "NWH-OIC/OIC-CT#10.40.0.1 → 10.60.1.11:3389/tcp"]
    oic = found["NWH-OIC/OIC-CT#10.40.0.1 → 10.60.1.11:3389/tcp"]
    assert oic.evidence["declared_gateways"] == ["OIC-HOME-READ-VPN"] and oic.evidence["gateway_scope"] == "site"
    assert "site NWH-OIC's gateway: OIC-HOME-READ-VPN" in oic.summary
    with nw.transaction() as s:
        # NWH-OIC without a gateway of its own: the organisation's (every declared one) serve it,
        # so NWH-MAIN's VENDOR-VPN may reach OIC-CT, and the former OIC gateway is just a host.
        s.scalars(select(Asset).where(Asset.name == "OIC-HOME-READ-VPN")).one().asset_class = "other"
        after = observe(s, "RG-FLOW-REMOTE-NOT-VIA-GATEWAY")
    assert sorted(after) == ["NWH-MAIN/CT-ED-1#10.60.9.1 → 10.20.1.11:3389/tcp",
                             "NWH-OIC/OIC-CT#10.60.9.1 → 10.60.1.11:3389/tcp"]
    assert after["NWH-OIC/OIC-CT#10.60.9.1 → 10.60.1.11:3389/tcp"].evidence["gateway_scope"] == "organisation"
    with nw.transaction() as s:
        s.scalars(select(Asset).where(Asset.name == "VENDOR-VPN")).one().asset_class = "other"
        s.scalars(select(Asset).where(Asset.name == "TELERAD-GW")).one().asset_class = "other"
        s.scalars(select(Asset).where(Asset.name == "OIC-HOME-READ-VPN")).one().asset_class = "remote_access"
        # NWH-MAIN has none now: OIC-HOME-READ-VPN, the only declared gateway, serves it too.
        moved = observe(s, "RG-FLOW-REMOTE-NOT-VIA-GATEWAY")
    assert sorted(moved) == ["NWH-MAIN/CT-ED-1#10.40.0.1 → 10.20.1.11:3389/tcp",
                             "NWH-OIC/OIC-CT#10.40.0.1 → 10.60.1.11:3389/tcp"]
    main = moved["NWH-MAIN/CT-ED-1#10.40.0.1 → 10.20.1.11:3389/tcp"]
    assert main.evidence["gateway_scope"] == "organisation"
    assert "the organisation's gateways (site NWH-MAIN declares none): OIC-HOME-READ-VPN" in main.summary


def test_without_a_declared_gateway_remote_access_flows_are_not_this_finding(nw: Database, tmp_path: Path) -> None:
    from sqlalchemy import select

    from radguard.db.models.inventory import Asset

    log = tmp_path / "fw.csv"
    log.write_text(REMOTE)
    with nw.transaction() as s:
        import_flow_log(s, log)
        assert observe(s, "RG-FLOW-REMOTE-NOT-VIA-GATEWAY")
        for gateway in s.scalars(select(Asset).where(Asset.asset_class == "remote_access")):
            gateway.asset_class = "other"
        assert observe(s, "RG-FLOW-REMOTE-NOT-VIA-GATEWAY") == {}


def test_the_remote_access_port_list_is_validated(tmp_path: Path) -> None:
    import pytest

    from radguard.checks.evaluators.network import remote_access_ports
    from radguard.checks.loader import CatalogError

    assert remote_access_ports()[("tcp", 3389)] == "RDP" and remote_access_ports()[("tcp", 5938)] == "TeamViewer"
    bad = tmp_path / "remote.yaml"
    bad.write_text("services:\n  - {name: X, proto: tcp, ports: [70000]}\n")
    with pytest.raises(CatalogError, match=r"remote\.yaml, line 2, field 'services\.0\.ports': port 70000 is not 1-"):
        remote_access_ports(bad)
    bad.write_text("services:\n  - {name: X, proto: tcp, ports: [true]}\n")  # was port 1
    with pytest.raises(CatalogError, match=r"line 2, field 'services\.0\.ports\.0'"):
        remote_access_ports(bad)
    bad.write_bytes(b"services: \xff\n")
    with pytest.raises(CatalogError, match=r"line 1: not UTF-8"):
        remote_access_ports(bad)
    bad.write_text("services: 5\n")
    with pytest.raises(CatalogError, match=r"services"):
        remote_access_ports(bad)
