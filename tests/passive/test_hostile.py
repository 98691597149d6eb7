"""Hostile and damaged captures never crash a run: a clear error naming the file (and packet),
or a warning and whatever could be read."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from radguard.db.session import Database
from radguard.errors import InputError
from radguard.passive.reader import ReadStats, read_capture
from radguard.passive.store import import_capture, passive_evidence
from tests.conftest import CliResult
from tests.passive.conftest import Traffic
from tests.support.capture import NEEDLES, SEED_BIRTH, SEED_ID
from tests.support.pcapcraft import conversation, packets, tcp_payload, write


def _facts(path: Path, hl7_ports: tuple[int, ...] = ()) -> tuple[list[dict[str, object]], ReadStats]:
    stats = ReadStats()
    return list(read_capture(path, hl7_ports, stats)), stats


def _find_rq(traffic: Traffic) -> bytes:
    """The A-ASSOCIATE-RQ findscu sent in the real capture."""
    for _, frame in packets(traffic.pcap):
        tcp = tcp_payload(frame)
        if tcp and tcp[1].data[:1] == b"\x01" and b"WSFIND" in tcp[1].data:
            return bytes(tcp[1].data)
    raise AssertionError("no A-ASSOCIATE-RQ from findscu in the capture")


def test_out_of_order_and_overlapping_segments(traffic: Traffic, tmp_path: Path) -> None:
    rq = _find_rq(traffic)
    assert len(rq) > 120
    # The request in three overlapping pieces, the last first, one of them retransmitted.
    pieces = [("c", 80, rq[80:]), ("c", 0, rq[:50]), ("c", 30, rq[30:100]), ("c", 0, rq[:50])]
    capture = write(tmp_path / "ooo.pcap", conversation(("10.9.0.1", 40001), ("10.9.0.2", 104), pieces))
    facts, stats = _facts(capture)
    [rq_fact] = [f for f in facts if f["t"] == "dicom"]
    assert (rq_fact["calling"], rq_fact["called"], rq_fact["pdu"]) == ("WSFIND", "ORTHANC", 1)
    assert stats.invalid == 0


def test_four_gigabyte_pdu_garbage_and_unterminated_mllp(sqlite_db: Database, tmp_path: Path) -> None:
    huge = b"\x01\x00\xff\xff\xff\xff" + b"\x00\x01\x00\x00" + b"A" * 60
    garbage = bytes(range(256)) * 8
    mllp = ("\x0bMSH|^~\\&|RIS|HOSP|PACS|IMG|20240101||ADT^A01|M1|P|2.5\r"
            f"PID|1||{SEED_ID}^^^HOSP^MR||ZZTEST^SEEDED||{SEED_BIRTH}|F\r").encode()  # no \x1c\r
    frames = conversation(("10.9.0.1", 40010), ("10.9.0.2", 104), [("c", 0, huge), ("c", len(huge), huge)])
    frames += conversation(("10.9.0.3", 40011), ("10.9.0.2", 104), [("c", 0, garbage), ("s", 0, garbage[::-1])],
                           start=1_700_000_001.0)
    frames += conversation(("10.9.0.4", 40012), ("10.9.0.5", 2575), [("c", 0, mllp), ("c", len(mllp), b"x" * 50)],
                           start=1_700_000_002.0)
    capture = write(tmp_path / "hostile.pcap", frames)
    with sqlite_db.transaction() as session:
        result = import_capture(session, capture, (2575,), None)
        flows = passive_evidence(session, "passive.flow")
        stored = repr(passive_evidence(session, "passive.hl7")) + repr(passive_evidence(session, "passive.dicom"))
    assert result["counts"]["flows"] == 3
    assert {(f["client"], f["server"], f["server_port"]) for f in flows} == {
        ("10.9.0.1", "10.9.0.2", 104), ("10.9.0.3", "10.9.0.2", 104), ("10.9.0.4", "10.9.0.5", 2575)}
    garbage_flow = next(f for f in flows if f["client"] == "10.9.0.3")
    assert garbage_flow["client_bytes"] > len(garbage) and garbage_flow["service"] is None
    assert not [n for n in NEEDLES if n.lower() in stored.lower()]


def test_truncated_packets_are_named(traffic: Traffic, tmp_path: Path) -> None:
    short = tmp_path / "snap80.pcap"
    subprocess.run(["/usr/bin/editcap", "-s", "80", str(traffic.pcap), str(short)], check=True, capture_output=True)
    facts, stats = _facts(short, (traffic.hl7_port,))
    assert stats.frames == len(packets(traffic.pcap)) and stats.malformed > 0
    [warning] = [w for w in stats.warnings if "truncated or malformed" in w]
    assert warning.startswith("snap80.pcap: ") and f"packet {stats.malformed_frames[0]}" in warning
    assert any(f["t"] == "flow" for f in facts)  # flows still counted


def test_file_cut_short_keeps_what_was_read(traffic: Traffic, tmp_path: Path) -> None:
    raw = traffic.pcap.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(raw[: len(raw) // 2 + 7])
    facts, stats = _facts(cut)
    assert 0 < stats.frames < len(packets(traffic.pcap))
    [warning] = stats.warnings
    assert warning.startswith(f"cut.pcap: stopped at packet {stats.frames + 1}: ") and "cut short" in warning
    assert any(f["t"] == "dicom" and f["calling"] == "MODCT1" for f in facts)


# A pcap whose header claims a 4 GiB snaplen and whose first record claims a 4 GiB packet, and a
# pcapng whose first packet block claims 2 GiB: refused at that packet, never allocated.
_HUGE_SNAPLEN = (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 0xFFFFFFFF, 1)
                 + struct.pack("<IIII", 1, 0, 0xFFFFFFF0, 0xFFFFFFF0) + b"\x00" * 64)
_SHB = struct.pack("<IIIHHq", 0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0, -1) + struct.pack("<I", 28)
_IDB = struct.pack("<IIHHI", 1, 20, 1, 0, 65535) + struct.pack("<I", 20)
_HUGE_BLOCK = _SHB + _IDB + struct.pack("<II", 6, 0x7FFFFFF0) + struct.pack("<IIIII", 0, 0, 0, 100, 100) + b"\0" * 100


@pytest.mark.parametrize("content, where", [
    (b"", "byte 0"), (b"GET / HTTP/1.1\r\n", "byte 0"), (b"\xd4\xc3\xb2\xa1" + b"\x02\x00\x04\x00" + b"\xff" * 40,
                                                          "packet 1"),
    (_HUGE_SNAPLEN, "packet 1"), (_HUGE_BLOCK, "packet 1")])
def test_not_a_capture(rg: Callable[..., CliResult], sqlite_db: Database, tmp_path: Path, content: bytes,
                       where: str) -> None:
    path = tmp_path / "notes.pcap"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        _facts(path)
    assert str(path) in str(err.value) and where in str(err.value)
    r = rg("--db", sqlite_db.url, "passive", "import", path)
    assert r.code != 0 and "notes.pcap" in r.err and "Traceback" not in r.err
    with sqlite_db.transaction() as session:
        assert passive_evidence(session, "passive.flow") == []  # nothing half-written
