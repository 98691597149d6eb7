"""The fast path (DICOM connections read in Python, the rest by tshark) stores exactly what the
tshark-only path stores: the same evidence documents, assets, endpoints and data flows, and the
same read statistics and warnings, on the real capture, a grown copy of it and hostile captures."""

from __future__ import annotations

import importlib.util
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from radguard.db.migrate import upgrade
from radguard.db.models.inventory import AETitle, Asset, DataFlow, Endpoint, SoftwareComponent
from radguard.db.session import open_database
from radguard.passive.reader import ReadStats, read_capture
from radguard.passive.store import EVIDENCE_KINDS, import_capture, passive_evidence
from radguard.passive.wire import command_fields, decode_assoc
from tests.passive.conftest import Traffic
from tests.support.pcapcraft import conversation, packets, tcp_payload, write

ROOT = Path(__file__).resolve().parents[2]


def _stored(tmp_path: Path, capture: Path, hl7_ports: tuple[int, ...], engine: str) -> dict[str, Any]:
    """Everything one import stores, in a fresh database, in an order that does not depend on
    the order facts arrived in (tshark prints its flows from a hash table)."""
    db = open_database(f"sqlite:///{tmp_path / f'{engine}.db'}")
    upgrade(db)
    try:
        with db.transaction() as session:
            result = import_capture(session, capture, hl7_ports, None, engine=engine)
        with db.read() as session:
            out: dict[str, Any] = {kind: sorted(json.dumps(d, sort_keys=True) for d in passive_evidence(session, kind))
                                   for kind in EVIDENCE_KINDS}
            out["assets"] = sorted(json.dumps([a.name, a.confirmed, a.attributes], sort_keys=True)
                                   for a in session.scalars(select(Asset)))
            names = {a.id: a.name for a in session.scalars(select(Asset))}
            out["endpoints"] = sorted((names[e.asset_id], e.host, e.port, e.protocol, e.source)
                                      for e in session.scalars(select(Endpoint)))
            out["ae_titles"] = sorted((names[t.asset_id], t.ae_title) for t in session.scalars(select(AETitle)))
            out["software"] = sorted((names[c.asset_id], c.vendor, c.product, c.version or "")
                                     for c in session.scalars(select(SoftwareComponent)))
            out["data_flows"] = sorted((names[f.source_asset_id], names[f.target_asset_id], f.protocol,
                                        str(f.first_seen), str(f.last_seen)) for f in session.scalars(select(DataFlow)))
        out["counts"] = result["counts"]
        return out
    finally:
        db.dispose()


def _ids(capture: Path, hl7_ports: tuple[int, ...]) -> set[str]:
    stats = ReadStats()
    return {str(f["id"]) for f in read_capture(capture, hl7_ports, stats)}


def _same(tmp_path: Path, capture: Path, hl7_ports: tuple[int, ...] = ()) -> dict[str, Any]:
    fast = _stored(tmp_path, capture, hl7_ports, "auto")
    plain = _stored(tmp_path, capture, hl7_ports, "tshark")
    assert fast == plain
    return fast


def test_real_capture_is_stored_identically(traffic: Traffic, tmp_path: Path) -> None:
    stored = _same(tmp_path, traffic.pcap, (traffic.hl7_port,))
    assert len(stored["passive.dicom"]) == 4 and stored["passive.hl7"] and stored["passive.http"]
    assert any('"MODCT1"' in d for d in stored["passive.dicom"])
    # The DICOM connections really were read by the fast path (its stream ids), the rest by tshark.
    ids = _ids(traffic.pcap, (traffic.hl7_port,))
    assert any(i.startswith("ptcp") for i in ids) and any(i.startswith("tcp") for i in ids)


def test_grown_capture_is_stored_identically(traffic: Traffic, tmp_path: Path) -> None:
    """The benchmark's own growth (every copy new connections): 3 MB of the real capture."""
    spec = importlib.util.spec_from_file_location("passive_read", ROOT / "benchmarks" / "passive_read.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    grown = bench.grow(traffic.pcap, 3, tmp_path)
    stored = _same(tmp_path, grown, (traffic.hl7_port,))
    assert stored["counts"]["facts"] > 10 * 41


def _rq(traffic: Traffic) -> bytes:
    for _, frame in packets(traffic.pcap):
        tcp = tcp_payload(frame)
        if tcp and tcp[1].data[:1] == b"\x01" and b"WSFIND" in tcp[1].data:
            return bytes(tcp[1].data)
    raise AssertionError("no A-ASSOCIATE-RQ from findscu in the capture")


@pytest.mark.parametrize("case", ["out-of-order", "split-in-order", "hostile", "snap80", "cut", "reused-ports"])
def test_damaged_and_hostile_captures_are_stored_identically(traffic: Traffic, tmp_path: Path, case: str) -> None:
    rq = _rq(traffic)
    hl7: tuple[int, ...] = ()
    if case == "out-of-order":
        pieces = [("c", 80, rq[80:]), ("c", 0, rq[:50]), ("c", 30, rq[30:100]), ("c", 0, rq[:50])]
        capture = write(tmp_path / "c.pcap", conversation(("10.9.0.1", 40001), ("10.9.0.2", 11112), pieces))
    elif case == "split-in-order":  # read by the fast path: a request in three segments, one repeated
        pieces = [("c", 0, rq[:50]), ("c", 50, rq[50:100]), ("c", 50, rq[50:100]), ("c", 100, rq[100:])]
        capture = write(tmp_path / "c.pcap", conversation(("10.9.0.1", 40001), ("10.9.0.2", 11112), pieces))
        assert any(i.startswith("ptcp") for i in _ids(capture, ()))
    elif case == "hostile":
        huge = b"\x01\x00\xff\xff\xff\xff" + b"\x00\x01\x00\x00" + b"A" * 60
        garbage = bytes(range(256)) * 8
        frames = conversation(("10.9.0.1", 40010), ("10.9.0.2", 104), [("c", 0, huge), ("c", len(huge), huge)])
        frames += conversation(("10.9.0.3", 40011), ("10.9.0.2", 104), [("c", 0, garbage), ("s", 0, garbage)],
                               start=1_700_000_001.0)
        # A good request, then a 4 GB P-DATA PDU and garbage on the same connection.
        frames += conversation(("10.9.0.4", 40012), ("10.9.0.2", 11112),
                               [("c", 0, rq), ("c", len(rq), b"\x04\x00\xff\xff\xff\xff" + b"\x00" * 100),
                                ("s", 0, garbage)], start=1_700_000_002.0)
        capture = write(tmp_path / "c.pcap", frames)
    elif case == "snap80":
        capture = tmp_path / "c.pcap"
        subprocess.run(["/usr/bin/editcap", "-s", "80", str(traffic.pcap), str(capture)], check=True,
                       capture_output=True)
        hl7 = (traffic.hl7_port,)
    elif case == "cut":
        raw = traffic.pcap.read_bytes()
        capture = tmp_path / "c.pcap"
        capture.write_bytes(raw[: len(raw) // 2 + 7])
    else:  # the same client port used by two connections one after the other
        frames = conversation(("10.9.0.1", 40001), ("10.9.0.2", 11112), [("c", 0, rq)])
        frames += conversation(("10.9.0.1", 40001), ("10.9.0.2", 11112), [("c", 0, rq)], start=1_700_000_005.0)
        capture = write(tmp_path / "c.pcap", frames)
    stored = _same(tmp_path, capture, hl7)
    assert stored["counts"]["flows"] >= 1


def test_fast_reader_is_not_used_for_pcapng(traffic: Traffic, tmp_path: Path) -> None:
    ng = tmp_path / "c.pcapng"
    subprocess.run(["/usr/bin/editcap", "-F", "pcapng", str(traffic.pcap), str(ng)], check=True, capture_output=True)
    assert not any(i.startswith("ptcp") for i in _ids(ng, (traffic.hl7_port,)))


def test_decoders_read_only_what_the_tap_reads(traffic: Traffic) -> None:
    rq = _rq(traffic)
    parsed = decode_assoc(1, rq[6:], strict=True)
    assert parsed is not None and parsed["calling"].strip() == "WSFIND" and parsed["called"].strip() == "ORTHANC"
    assert [c["abstract"] for c in parsed["contexts"]] == ["1.2.840.10008.5.1.4.1.2.1.1"]
    assert decode_assoc(1, rq[6:].replace(b"WSFIND", b"WS\x01IND"), strict=True) is None  # left to tshark
    # A C-MOVE-RQ command set: Command Field 0x0021, Move Destination "DESTAE".
    elements = [(0x0000, 0x0002, b"1.2.840.10008.5.1.4.1.2.1.2\x00"), (0x0000, 0x0100, b"\x21\x00"),
                (0x0000, 0x0600, b"DESTAE"), (0x0000, 0x0800, b"\x01\x01")]
    data = b"".join(g.to_bytes(2, "little") + e.to_bytes(2, "little") + len(v).to_bytes(4, "little") + v
                    for g, e, v in elements)
    assert command_fields(data) == (0x21, "DESTAE")
    assert command_fields(data[:-3]) == (0x21, "DESTAE")  # a cut element is not read
