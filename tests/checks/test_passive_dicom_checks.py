"""Checks on passive DICOM evidence: unknown AE titles at the PACS, unknown C-MOVE destinations."""

from __future__ import annotations

from typing import Any

from radguard.db.models.evidence import Evidence
from radguard.db.session import Database
from tests.checks.conftest import observe


def _association(calling: str, commands: dict[str, int], moves: list[str] | None = None,
                 client: str = "10.20.1.77", server: str = "10.20.0.10") -> Evidence:
    """A ``passive.dicom`` document shaped as radguard.passive.store writes it (_dicom_doc)."""
    doc: dict[str, Any] = {"client": client, "server": server, "server_port": 104, "calling_ae": calling,
                           "called_ae": "NWPACS", "requestor": None, "acceptor": None, "associations": 1,
                           "accepted": 1, "rejected": 0, "aborted": 0, "reject": None, "proposed": [],
                           "accepted_sop_classes": [], "commands": commands, "move_destinations": moves or [],
                           "first_seen": "2026-05-01T08:30:00+00:00", "last_seen": "2026-05-01T08:31:00+00:00"}
    return Evidence(kind="passive.dicom", host=server, port=104, received=doc, sent={"passive": True},
                    safety_level=0, source="radguard passive import test.pcap")


def test_an_unknown_ae_storing_to_the_pacs_is_a_finding_a_known_one_or_an_echo_is_not(nw: Database) -> None:
    with nw.transaction() as s:
        assert observe(s, "RG-PASSIVE-UNKNOWN-AE-PACS") == {}
        s.add_all([_association("CTED1", {"C-STORE": 12}),  # CT-ED-1's AE title: known
                   _association("ROGUE", {"C-ECHO": 1}),  # only an echo: neither stores nor queries
                   _association("ROGUE", {"C-STORE": 3}, server="10.20.1.12"),  # not an archive
                   _association("ROGUE", {"C-STORE": 3, "C-FIND": 2})])
        found = observe(s, "RG-PASSIVE-UNKNOWN-AE-PACS")
    assert list(found) == ["NWH-MAIN/PACS-CORE#ROGUE@10.20.1.77"]
    obs = found["NWH-MAIN/PACS-CORE#ROGUE@10.20.1.77"]
    assert obs.evidence["commands"] == {"C-STORE": 3, "C-FIND": 2} and "3 C-STORE" in obs.summary


def test_a_move_to_an_unknown_destination_is_a_finding_a_known_destination_is_not(nw: Database) -> None:
    with nw.transaction() as s:
        s.add(_association("CTED1", {"C-MOVE": 1}, moves=["CTED1"]))
        assert observe(s, "RG-PASSIVE-MOVE-DEST-UNKNOWN") == {}
        s.add(_association("CTED1", {"C-MOVE": 2}, moves=["CTED1", "EXFIL"]))
        found = observe(s, "RG-PASSIVE-MOVE-DEST-UNKNOWN")
    assert list(found) == ["NWH-MAIN/PACS-CORE#move:EXFIL"]
    assert found["NWH-MAIN/PACS-CORE#move:EXFIL"].evidence["move_destination"] == "EXFIL"
