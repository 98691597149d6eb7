"""Passive evidence from a real loopback capture (see conftest): what each protocol yields, and
that it matches what active discovery reports for the same peers."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from radguard.db.models.inventory import Asset, DataFlow
from radguard.db.session import Database
from radguard.passive.store import import_capture, observed_flows, passive_evidence
from tests.discovery.conftest import probe
from tests.passive.conftest import CLIENT, HL7_HOST, PACS, REJECTOR, TLS_HOST, WEB, Traffic

DCMTK_UID, DCMTK_VERSION = "1.2.276.0.7230010.3.0.3.6.7", "OFFIS_DCMTK_367"
CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
PATIENT_ROOT_FIND, PATIENT_ROOT_MOVE = "1.2.840.10008.5.1.4.1.2.1.1", "1.2.840.10008.5.1.4.1.2.1.2"


def _import(database: Database, traffic: Traffic) -> dict[str, Any]:
    with database.transaction() as session:
        return import_capture(session, traffic.pcap, (traffic.hl7_port,), None)


def _by(docs: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [d for d in docs if all(d.get(k) == v for k, v in match.items())]
    assert len(found) == 1, (match, docs)
    return found[0]


@pytest.fixture
def imported(database: Database, traffic: Traffic) -> dict[str, list[dict[str, Any]]]:
    result = _import(database, traffic)
    assert result["counts"]["invalid_lines"] == 0 and result["counts"]["oversized_lines"] == 0
    with database.transaction() as session:
        return {kind: passive_evidence(session, f"passive.{kind}") for kind in ("dicom", "hl7", "http", "flow")}


def test_dicom_store_find_move(imported: dict[str, list[dict[str, Any]]], traffic: Traffic) -> None:
    dicom = imported["dicom"]
    store = _by(dicom, calling_ae="MODCT1")
    assert (store["client"], store["server"], store["server_port"], store["called_ae"]) == \
        (CLIENT, PACS, traffic.pacs_port, "ORTHANC")
    assert store["requestor"]["implementation_class_uid"] == DCMTK_UID
    assert store["requestor"]["implementation_version_name"] == DCMTK_VERSION
    assert store["requestor"]["product"] == "DCMTK"
    assert store["acceptor"]["implementation_class_uid"] == DCMTK_UID  # Orthanc 1.10 is built on DCMTK 3.6.7
    assert (store["associations"], store["accepted"], store["rejected"]) == (1, 1, 0)
    assert CT_STORAGE in store["proposed"] and CT_STORAGE in store["accepted_sop_classes"]
    assert store["commands"] == {"C-STORE": 1}
    find = _by(dicom, calling_ae="WSFIND")
    assert find["commands"] == {"C-FIND": 1} and find["accepted_sop_classes"] == [PATIENT_ROOT_FIND]
    move = _by(dicom, calling_ae="WSMOVE")
    assert move["commands"] == {"C-MOVE": 1} and move["move_destinations"] == ["DESTAE"]
    assert PATIENT_ROOT_MOVE in move["accepted_sop_classes"]


def test_rejected_association(imported: dict[str, list[dict[str, Any]]], traffic: Traffic) -> None:
    rejected = _by(imported["dicom"], calling_ae="STRANGER")
    assert (rejected["server"], rejected["server_port"], rejected["called_ae"]) == \
        (REJECTOR, traffic.rejector_port, "REJECTOR")
    assert (rejected["associations"], rejected["accepted"], rejected["rejected"]) == (1, 0, 1)
    # pynetdicom rejects an unknown calling AE: rejected-permanent, service user, reason 3
    assert rejected["reject"] == {"result": 1, "source": 1, "reason": 3}
    assert rejected["requestor"]["product"] == "pynetdicom" and rejected["acceptor"] is None
    assert rejected["accepted_sop_classes"] == []


def test_flow_direction_and_volume(imported: dict[str, list[dict[str, Any]]], traffic: Traffic) -> None:
    stores = [f for f in imported["flow"] if f["server"] == PACS and f["server_port"] == traffic.pacs_port]
    assert {f["client"] for f in stores} == {CLIENT}
    [flow] = stores  # one record per client, server and port: three associations
    assert flow["connections"] == 3 and flow["service"] == "dicom" and flow["tls"] is False
    ct_size = 39_000  # pydicom's example CT is ~39 kB; the store carries it client -> server
    assert flow["client_bytes"] > ct_size > flow["server_bytes"]
    assert flow["first_seen"] < flow["last_seen"]


def test_dicom_tls(imported: dict[str, list[dict[str, Any]]], traffic: Traffic) -> None:
    [flow] = [f for f in imported["flow"] if f["server"] == TLS_HOST]
    assert flow["server_port"] == traffic.tls_port and flow["tls"] is True and flow["service"] == "tls"
    assert not [d for d in imported["dicom"] if d["server"] == TLS_HOST]  # encrypted: no AE titles
    # the same handshake facts as active discovery of that port
    [doc] = probe([(TLS_HOST, traffic.tls_port)])
    assert doc.service == "dicom-tls" and doc.tls is not None
    assert (flow["tls_version"], flow["tls_cipher"]) == (doc.tls.version, doc.tls.cipher)
    assert flow["tls_version"] == "TLSv1.3" and flow["tls_cipher"].startswith("TLS_")


def test_hl7_oriented_by_initiator(imported: dict[str, list[dict[str, Any]]], traffic: Traffic) -> None:
    """The ACK comes back from the receiver; it must not turn the receiver into a sender."""
    [hl7] = imported["hl7"]
    assert (hl7["client"], hl7["server"], hl7["server_port"]) == (CLIENT, HL7_HOST, traffic.hl7_port)
    assert (hl7["sending_application"], hl7["sending_facility"]) == ("RGRIS", "RGHOSP")
    assert (hl7["receiving_application"], hl7["receiving_facility"]) == ("RGPACS", "RGIMG")
    assert hl7["messages"] == {"ADT^A01": 1} and hl7["replies"] == {"ACK^A01": 1}


def test_http(imported: dict[str, list[dict[str, Any]]], traffic: Traffic) -> None:
    web = _by(imported["http"], server=PACS)
    assert web["server_port"] == traffic.pacs_http and web["client"] == CLIENT
    assert web["requests"] == 2 and web["hosts"] == [f"{PACS}:{traffic.pacs_http}"]
    assert web["authorization_seen"] is True and web["cookie_seen"] is True
    banner = _by(imported["http"], server=WEB)
    assert banner["server_banner"] == traffic.http_server_banner and banner["server_banner"].startswith("SimpleHTTP/")
    assert web["server_banner"] is None  # Orthanc 1.10 sends no Server header
    assert banner["authorization_seen"] is False and banner["cookie_seen"] is False


def test_same_fingerprint_as_active_discovery(imported: dict[str, list[dict[str, Any]]], traffic: Traffic) -> None:
    [doc] = probe([(PACS, traffic.pacs_port)])
    assert doc.dicom is not None
    acceptor = _by(imported["dicom"], calling_ae="MODCT1")["acceptor"]
    assert acceptor["implementation_class_uid"] == doc.dicom.implementation_class_uid
    assert acceptor["implementation_version_name"] == doc.dicom.implementation_version_name
    assert (acceptor["product"], acceptor["version"]) == (doc.dicom.product, doc.dicom.version)


def test_unconfirmed_assets_and_data_flows(database: Database, traffic: Traffic) -> None:
    first = _import(database, traffic)
    assert first["counts"]["assets_created"] == 4  # PACS, rejector, HL7 listener, the client
    with database.transaction() as session:
        assets = {a.name: a for a in session.scalars(select(Asset))}
        assert set(assets) >= {PACS, REJECTOR, HL7_HOST, CLIENT}
        for name in (PACS, REJECTOR, HL7_HOST, CLIENT):
            asset = assets[name]
            assert asset.confirmed is False and asset.attributes["discovered_by"] == "passive"
        assert (assets[PACS].product, assets[CLIENT].product, assets[REJECTOR].product) == \
            ("DCMTK", "DCMTK", None)  # a rejecting SCP never shows its implementation UID
        assert {(e.host, e.port) for e in assets[PACS].endpoints} == {(PACS, traffic.pacs_port)}
        assert assets[CLIENT].endpoints == []  # seen only as a client
        flows = {(f.source_asset.name, f.target_asset.name, f.protocol): f for f in session.scalars(select(DataFlow))}
        assert set(flows) == {(CLIENT, PACS, "dicom"), (CLIENT, REJECTOR, "dicom"), (CLIENT, HL7_HOST, "hl7-mllp")}
        dicom = flows[(CLIENT, PACS, "dicom")]
        assert dicom.source == "passive" and dicom.first_seen is not None and dicom.last_seen is not None
        assert dicom.first_seen < dicom.last_seen
        observed = observed_flows(session)
        seen = {(o.client, o.server, o.server_port): o for o in observed}
        pacs = seen[(CLIENT, PACS, traffic.pacs_port)]
        assert (pacs.client_asset_id, pacs.server_asset_id) == (assets[CLIENT].id, assets[PACS].id)
        assert pacs.service == "dicom" and pacs.connections == 3
        assert seen[(CLIENT, WEB, traffic.web_port)].server_asset_id is None  # not speaking DICOM/HL7
    # A second import of the same capture creates nothing new and sums the flows.
    second = _import(database, traffic)
    assert (second["counts"]["assets_created"], second["counts"]["data_flows_added"]) == (0, 0)
    with database.transaction() as session:
        assert session.query(Asset).count() == len(assets)
        again = {(o.client, o.server, o.server_port): o for o in observed_flows(session)}
        assert again[(CLIENT, PACS, traffic.pacs_port)].connections == 6
        assert [o.connections for o in observed_flows(session, scan_id=second["scan"])
                if o.server == PACS and o.server_port == traffic.pacs_port] == [3]
