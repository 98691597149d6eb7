"""``radguard discover --vantage-zone``: where a scan ran from is kept with it, and a general-IT
scan that reaches a modality becomes a segmentation finding with the probe as evidence."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from radguard.db.models.discovery import Scan
from radguard.db.models.evidence import Evidence
from radguard.db.session import Database
from radguard.discovery.vantage import vantage_zones
from tests.support.peers import storescp
from tests.support.ports import free_port


def _inventory(tmp_path: Path, ct_port: int) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(f"""\
format: radguard-inventory
version: 1
sites:
- {{code: MAIN, name: Main Hospital}}
assets:
- site: MAIN
  name: CT-LAB
  class: modality
  modality_type: CT
  network_zone: imaging-modalities
  endpoints:
  - {{host: 127.0.0.1, port: {ct_port}, protocol: dicom}}
""")
    return path


def test_general_it_scan_reaching_a_modality_is_a_finding(rg, sqlite_db: Database, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = ("--db", sqlite_db.url)
    closed = free_port()
    with storescp() as ct:
        assert rg(*db, "inventory", "import", _inventory(tmp_path, ct.dicom_port)).code == 0
        # From the imaging management network first: reaching the modality from there is expected.
        r = rg(*db, "discover", f"127.0.0.1:{ct.dicom_port}", "--level", "1", "--vantage-zone", "imaging-mgmt",
               "--json")
        assert r.code == 0, r.err
        r = rg(*db, "assess", "--json")
        assert r.code == 0, r.err
        r = rg(*db, "findings", "list", "--check", "RG-NOT-SEGMENTED", "--json")
        assert json.loads(r.out) == []
        # Then from an office PC's network.
        r = rg(*db, "discover", f"127.0.0.1:{ct.dicom_port}", f"127.0.0.1:{closed}", "--level", "1",
               "--vantage-zone", " corporate-lan ", "--json")
        assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["scan"]["vantage_zone"] == "corporate-lan"
    with sqlite_db.read() as session:
        scans = session.scalars(select(Scan).order_by(Scan.id)).all()
        assert [s.options["vantage_zone"] for s in scans] == ["imaging-mgmt", "corporate-lan"]
        assert vantage_zones(session) == {scans[0].id: "imaging-mgmt", scans[1].id: "corporate-lan"}
        probe_id = session.scalars(select(Evidence.id).where(Evidence.scan_id == scans[1].id,
                                                             Evidence.port == ct.dicom_port)).one()

    r = rg(*db, "assess", "--json")
    assert r.code == 0, r.err
    r = rg(*db, "findings", "list", "--check", "RG-NOT-SEGMENTED", "--json")
    (finding,) = json.loads(r.out)
    assert finding["asset"]["name"] == "CT-LAB" and finding["key"] == "reachable-from:corporate-lan"
    assert finding["evidence"]["vantage_zone"] == "corporate-lan"
    (reached,) = finding["evidence"]["reached"]  # the closed port is not a path
    assert reached["evidence_id"] == probe_id and reached["endpoint"] == f"127.0.0.1:{ct.dicom_port}"


def test_vantage_zone_is_validated_before_anything_is_sent(rg, sqlite_db: Database) -> None:  # type: ignore[no-untyped-def]
    for bad in ("", "   ", "x" * 65, "lan\nDROP"):
        r = rg("--db", sqlite_db.url, "discover", "127.0.0.1:9", "--vantage-zone", bad)
        assert r.code == 2 and "--vantage-zone" in r.err, (bad, r.err)
    with sqlite_db.read() as session:
        assert session.scalars(select(Scan)).all() == []
