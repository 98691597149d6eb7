"""The demo's scenario and sample archive, without starting anything."""

from __future__ import annotations

import socket
from collections import Counter
from pathlib import Path

import pydicom
import yaml

from radguard.demo.archive import EMPTIED, build_archive
from radguard.demo.scenario import INVENTORY_FILE, PROFILES, build_scenario, loopback_host, loopback_port
from radguard.discovery.fingerprints import dicom_product


def test_every_profile_names_a_real_inventory_endpoint() -> None:
    doc = yaml.safe_load(INVENTORY_FILE.read_text(encoding="utf-8"))
    endpoints = {f"{a['name']}:{e['port']}" for a in doc["assets"] for e in a.get("endpoints") or []}
    assert set(PROFILES) <= endpoints, sorted(set(PROFILES) - endpoints)
    assert len(build_scenario(check_ports=False).nodes) == len(PROFILES)


def test_nodes_are_loopback_unprivileged_and_unique() -> None:
    scenario = build_scenario(check_ports=False)
    where = Counter((n.spec.host, n.spec.port) for n in scenario.nodes)
    assert max(where.values()) == 1
    assert all(n.spec.host.startswith("127.") and n.spec.port >= 1024 for n in scenario.nodes)
    hosts = [e["host"] for a in scenario.inventory["assets"] for e in a.get("endpoints") or []]
    assert not [h for h in hosts if h.startswith("10.")], "every example address is mapped"
    assert loopback_host("10.20.1.11") == "127.20.1.11"
    assert (loopback_port(104), loopback_port(443), loopback_port(4242)) == (11104, 11443, 4242)


def test_dicom_fingerprints_are_ones_discovery_knows() -> None:
    for node in build_scenario(check_ports=False).nodes:
        if node.spec.kind == "dicom":
            product, _version = dicom_product(node.spec.implementation_class_uid,
                                              node.spec.implementation_version_name)
            assert product is not None, node.asset


def test_a_taken_port_moves_the_node_and_its_inventory_entry() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # an earlier demo's TIME_WAIT is fine
        blocker.bind(("127.20.1.11", 11104))
        blocker.listen()
        scenario = build_scenario()
    node = next(n for n in scenario.nodes if n.asset == "NWH-MAIN/CT-ED-1")
    assert node.spec.port != 11104 and scenario.moved == {"127.20.1.11:11104": node.spec.port}
    asset = next(a for a in scenario.inventory["assets"] if a["name"] == "CT-ED-1")
    assert asset["endpoints"][0]["port"] == node.spec.port
    assert node.where in scenario.targets()


def test_seeded_weaknesses_follow_the_policies() -> None:
    expected = build_scenario(check_ports=False).expected()
    assert ("NWH-MAIN/CT-2", "RG-DICOM-NO-TLS") in expected
    assert not {c for a, c in expected if a == "NWH-MAIN/CT-2"} - {"RG-DICOM-NO-TLS"}  # strict node
    assert {c for a, c in expected if a == "NWH-MAIN/MR-2"} == {"RG-DICOM-ANY-CALLED-AE", "RG-DICOM-NO-TLS"}
    assert {c for a, c in expected if a == "NWH-MAIN/VNA"} == {"RG-TLS-WEAK"}  # TLS port: no NO-TLS
    assert not [a for a, _ in expected if a in ("NWH-MAIN/DICTATION", "NWH-OIC/OIC-WEBVIEWER")]


def test_sample_archive_has_no_patient_data_and_a_damaged_copy(tmp_path: Path) -> None:
    archive = build_archive(tmp_path)
    sources = sorted(archive.source.rglob("*.dcm"))
    assert len(sources) == archive.instances == 20
    uids = set()
    for path in sources:
        ds = pydicom.dcmread(path)
        assert all(not str(ds.get(keyword, "") or "") for keyword in EMPTIED), path
        uids.add(ds.SOPInstanceUID)
    assert len(uids) == 20
    assert sorted(archive.damaged.values()) == ["32 pixel bytes changed", "a file that is not DICOM",
                                                 "cut to a third", "deleted"]
    gone = next(k for k, v in archive.damaged.items() if v == "deleted")
    assert not (archive.backup / gone).exists() and (archive.source / gone).exists()
