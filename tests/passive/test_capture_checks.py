"""The passive DICOM checks from a real capture: ``radguard passive import`` of the session's
loopback capture (DCMTK storescu MODCT1, findscu WSFIND and movescu WSMOVE → DESTAE against
Orthanc; see conftest), then ``radguard assess``. Unknown AE titles at the PACS and the unknown
C-MOVE destination are findings; with those AE titles in the inventory they are not."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from radguard.db.session import Database
from tests.conftest import CliResult
from tests.passive.conftest import CLIENT, PACS, Traffic

CHECKS = ("RG-PASSIVE-UNKNOWN-AE-PACS", "RG-PASSIVE-MOVE-DEST-UNKNOWN")


def _inventory(traffic: Traffic, known_aes: bool) -> str:
    text = f"""format: radguard-inventory
version: 1
sites:
- {{code: CAP, name: Capture Clinic, kind: imaging-center}}
assets:
- {{site: CAP, name: PACS-1, class: pacs, network_zone: imaging-core,
   endpoints: [{{host: {PACS}, port: {traffic.pacs_port}, protocol: dicom}}], ae_titles: [ORTHANC]}}
"""
    if known_aes:
        text += """- {site: CAP, name: CT-1, class: modality, network_zone: imaging-modalities, ae_titles: [MODCT1]}
- {site: CAP, name: READ-1, class: workstation, network_zone: imaging-reading, ae_titles: [WSFIND, WSMOVE]}
- {site: CAP, name: ARCHIVE-2, class: vna, network_zone: imaging-core, ae_titles: [DESTAE]}
"""
    return text


def _findings(db: Database, rg: Callable[..., CliResult], tmp_path: Path, traffic: Traffic,
              known_aes: bool) -> dict[str, dict[str, Any]]:
    (tmp_path / "inventory.yaml").write_text(_inventory(traffic, known_aes))
    assert rg("--db", db.url, "inventory", "import", tmp_path / "inventory.yaml").code == 0
    r = rg("--db", db.url, "passive", "import", traffic.pcap, "--hl7-ports", str(traffic.hl7_port), "--json")
    assert r.code == 0, r.err
    assert rg("--db", db.url, "assess").code == 0
    args = [a for c in CHECKS for a in ("--check", c)]
    r = rg("--db", db.url, "findings", "list", *args, "--json")
    assert r.code == 0, r.err
    return {f"{f['check_id']}#{f['key']}": f for f in json.loads(r.out)}


def test_unknown_aes_and_move_destination_seen_on_the_wire_are_findings(
        tmp_path: Path, sqlite_db: Database, rg: Callable[..., CliResult], traffic: Traffic) -> None:
    found = _findings(sqlite_db, rg, tmp_path, traffic, known_aes=False)
    assert sorted(found) == ["RG-PASSIVE-MOVE-DEST-UNKNOWN#move:DESTAE",
                             f"RG-PASSIVE-UNKNOWN-AE-PACS#MODCT1@{CLIENT}",
                             f"RG-PASSIVE-UNKNOWN-AE-PACS#WSFIND@{CLIENT}",
                             f"RG-PASSIVE-UNKNOWN-AE-PACS#WSMOVE@{CLIENT}"]
    store = found[f"RG-PASSIVE-UNKNOWN-AE-PACS#MODCT1@{CLIENT}"]
    assert store["asset"]["name"] == "PACS-1" and store["evidence"]["commands"] == {"C-STORE": 1}
    assert store["evidence"]["called_ae"] == "ORTHANC" and store["evidence"]["server"] == PACS
    move = found["RG-PASSIVE-MOVE-DEST-UNKNOWN#move:DESTAE"]
    assert move["evidence"]["calling_ae"] == "WSMOVE" and move["evidence"]["commands"] == {"C-MOVE": 1}


def test_with_those_ae_titles_in_the_inventory_the_capture_raises_none(
        tmp_path: Path, sqlite_db: Database, rg: Callable[..., CliResult], traffic: Traffic) -> None:
    assert _findings(sqlite_db, rg, tmp_path, traffic, known_aes=True) == {}
