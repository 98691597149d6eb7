"""Flow logs as passive evidence: real softflowd → nfcapd → nfdump, and the firewall CSV form."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from radguard.db.models.evidence import Evidence
from radguard.db.session import Database
from radguard.passive.flowlogs import server_side
from radguard.passive.store import observed_flows
from tests.conftest import CliResult
from tests.support.flows import Conversation, capture_conversations, export, nfcapd

MODALITY, PACS, GUEST = "127.77.1.10", "127.77.2.10", "127.77.9.50"
TRAFFIC = [Conversation(MODALITY, PACS, 104, 40_000, 700), Conversation(MODALITY, PACS, 104, 10_000, 300),
           Conversation(GUEST, MODALITY, 443, 2_000, 5_000)]


@pytest.fixture(scope="module")
def pcap(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return capture_conversations(tmp_path_factory.mktemp("flows") / "traffic.pcap", TRAFFIC)


@pytest.mark.parametrize("version", [5, 9, 10])
def test_softflowd_export_read_through_nfdump(version: int, pcap: Path, tmp_path: Path, sqlite_db: Database,
                                              rg: Callable[..., CliResult]) -> None:
    collector = tmp_path / "nfcapd"
    with nfcapd(collector) as port:
        export(pcap, port, version, tmp_path)
    r = rg("--db", sqlite_db.url, "passive", "flows", "import", collector, "--json")
    assert r.code == 0, r.err
    with sqlite_db.read() as s:
        flows = {(f.client, f.server, f.server_port): f for f in observed_flows(s)}
    assert set(flows) == {(MODALITY, PACS, 104), (GUEST, MODALITY, 443)}
    store = flows[(MODALITY, PACS, 104)]
    assert store.connections == 2 and store.origins == ("netflow",) and store.proto == "tcp"
    # Payload plus TCP/IP headers: at least what was sent, not wildly more.
    assert 50_000 <= store.client_bytes < 55_000 and 1_000 <= store.server_bytes < 4_000
    web = flows[(GUEST, MODALITY, 443)]
    assert web.connections == 1 and 5_000 <= web.server_bytes < 6_500
    assert store.first_seen <= store.last_seen and (store.last_seen - store.first_seen).total_seconds() < 60


def test_nfdump_refuses_a_file_that_is_not_a_flow_file(tmp_path: Path, sqlite_db: Database,
                                                       rg: Callable[..., CliResult]) -> None:
    junk = tmp_path / "nfcapd.202601010000"
    junk.write_bytes(b"\x00garbage" * 100)
    r = rg("--db", sqlite_db.url, "passive", "flows", "import", junk)
    assert r.code == 2 and "nfcapd.202601010000" in r.err and "nfdump could not read" in r.err
    with sqlite_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Evidence)) == 0


GOOD = """first_seen,last_seen,protocol,source,source_port,destination,destination_port,packets,bytes,reply_bytes,action
2026-05-01T08:30:00Z,2026-05-01T08:31:00Z,tcp,10.20.1.10,51000,10.20.2.10,104,40,52000,900,allow
2026-05-01T09:30:00Z,,tcp,10.20.1.10,51001,10.20.2.10,104,10,1000,100,allow
2026-05-01T09:40:00Z,,udp,10.20.1.10,,8.8.8.8,53,1,80,,accept
2026-05-01T09:45:00Z,,tcp,10.90.0.5,40000,10.20.1.10,22,3,180,0,deny
"""


def test_firewall_csv_is_stored_as_flow_evidence(tmp_path: Path, sqlite_db: Database,
                                                 rg: Callable[..., CliResult]) -> None:
    log = tmp_path / "fw.csv"
    log.write_text(GOOD)
    r = rg("--db", sqlite_db.url, "passive", "flows", "import", log)
    assert r.code == 0, r.err
    assert "1 blocked by the firewall" in r.out
    with sqlite_db.read() as s:
        flows = {(f.client, f.server, f.server_port): f for f in observed_flows(s)}
    assert set(flows) == {("10.20.1.10", "10.20.2.10", 104), ("10.20.1.10", "8.8.8.8", 53)}
    dicom = flows[("10.20.1.10", "10.20.2.10", 104)]
    assert (dicom.connections, dicom.packets, dicom.client_bytes, dicom.server_bytes) == (2, 50, 53000, 1000)
    assert dicom.first_seen.isoformat() == "2026-05-01T08:30:00+00:00"
    assert dicom.last_seen.isoformat() == "2026-05-01T09:30:00+00:00"
    assert flows[("10.20.1.10", "8.8.8.8", 53)].proto == "udp" and dicom.origins == ("csv",)


@pytest.mark.parametrize(("row", "where"), [
    ("2026-05-01T08:30:00Z,,tcp,10.20.1.10,1,10.20.2.999,104,1,1,1,allow", "row 3, field 'destination'"),
    ("yesterday,,tcp,10.20.1.10,1,10.20.2.9,104,1,1,1,allow", "row 3, field 'first_seen'"),
    ("2026-05-01T08:30:00Z,,tcp,10.20.1.10,1,10.20.2.9,70000,1,1,1,allow", "row 3, field 'destination_port'"),
    ("2026-05-01T08:30:00Z,,gre,10.20.1.10,1,10.20.2.9,104,1,1,1,allow", "row 3, field 'protocol'"),
    ("2026-05-01T08:30:00Z,,tcp,10.20.1.10,1,10.20.2.9,104,-4,1,1,allow", "row 3, field 'packets'"),
    ("2026-05-01T08:30:00Z,,tcp,10.20.1.10,1,10.20.2.9,104,1,1,1,maybe", "row 3, field 'action'"),
    ("2026-05-01T08:30:00Z,2026-04-01T00:00:00Z,tcp,10.20.1.10,1,10.20.2.9,104,1,1,1,", "row 3, field 'last_seen'"),
])
def test_a_bad_csv_row_is_named_and_nothing_is_written(row: str, where: str, tmp_path: Path, sqlite_db: Database,
                                                       rg: Callable[..., CliResult]) -> None:
    log = tmp_path / "fw.csv"
    lines = GOOD.splitlines()
    log.write_text("\n".join([lines[0], lines[1], row, lines[2]]) + "\n")
    r = rg("--db", sqlite_db.url, "passive", "flows", "import", log)
    assert r.code == 2
    assert f"fw.csv, {where}" in r.err
    with sqlite_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Evidence)) == 0


def test_a_csv_without_a_required_column_is_refused(tmp_path: Path, sqlite_db: Database,
                                                    rg: Callable[..., CliResult]) -> None:
    log = tmp_path / "fw.csv"
    log.write_text("first_seen,protocol,source,destination\n2026-05-01T08:30:00Z,tcp,10.0.0.1,10.0.0.2\n")
    r = rg("--db", sqlite_db.url, "passive", "flows", "import", log)
    assert r.code == 2 and "fw.csv, row 1, field 'destination_port'" in r.err


def test_the_server_end_of_a_one_way_record() -> None:
    assert server_side(51000, 104) and not server_side(104, 51000)
    assert server_side(60000, 8000) and not server_side(8000, 60000)  # ephemeral client
    assert server_side(3000, 2000)  # neither known: the lower port
