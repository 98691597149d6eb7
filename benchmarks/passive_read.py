"""Passive capture reading: radguard (tshark + the Lua tap + the store) against plain
`tshark -r FILE -Y dicom -q` on the same file, in the same run; wall time and peak RSS.

The capture is real imaging traffic made on loopback (DCMTK storescu/findscu/movescu to
Orthanc, HL7 ADT over MLLP, DICOMweb), or ``--source PCAP``, copied one after another until it
reaches ``--megabytes``, each copy with the clients' ports moved so it is new connections. Each
side runs under ``/usr/bin/time`` so peak RSS is its own
(radguard's figure is the larger of the Python process and its tshark child).

    .venv/bin/python benchmarks/passive_read.py --megabytes 1024
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_RADGUARD = """
import json, resource, sys
from pathlib import Path
from radguard.db.migrate import upgrade
from radguard.db.session import open_database
from radguard.passive.store import import_capture
db = open_database("sqlite:///" + sys.argv[2]); upgrade(db)
with db.transaction() as session:
    result = import_capture(session, Path(sys.argv[1]), (int(sys.argv[3]),), None)
print(json.dumps({"counts": result["counts"],
                  "tshark_rss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def make_source(work: Path) -> tuple[Path, int]:
    """A real capture: storescu, findscu, movescu to Orthanc, an HL7 ADT, two DICOMweb requests."""
    import httpx
    from tests.support.capture import findscu, mllp_listener, seeded_adt, seeded_dicom, send_hl7, storescu, tcpdump
    from tests.support.peers import OrthancConfig, orthanc

    ct = seeded_dicom(work / "ct.dcm")
    with orthanc(OrthancConfig()) as pacs, mllp_listener("127.0.0.7") as mllp:
        with tcpdump(work / "source.pcap", [pacs.dicom_port, pacs.http_port, mllp.port]) as pcap:
            for i in range(5):
                storescu("127.0.0.5", pacs.dicom_port, pacs.aet, f"MOD{i}", ct)
            findscu("127.0.0.5", pacs.dicom_port, pacs.aet, "WSFIND")
            subprocess.run(["/usr/bin/movescu", "-P", "-aet", "WSMOVE", "-aec", pacs.aet, "-aem", "DEST",
                            "-k", "QueryRetrieveLevel=PATIENT", "-k", "PatientID=X", "127.0.0.5",
                            str(pacs.dicom_port)], capture_output=True, timeout=60)
            send_hl7("127.0.0.7", mllp.port, seeded_adt())
            httpx.get(f"http://127.0.0.5:{pacs.http_port}/dicom-web/studies", timeout=10)
        return pcap, mllp.port


def grow(source: Path, megabytes: int, work: Path) -> Path:
    """Copies of the capture one after another until the file is at least ``megabytes``, each copy
    a new set of TCP connections: the clients' ports (the SYN senders') are moved per copy and its
    times shifted past the previous copy, so tshark decodes every association again instead of
    reading the copies as retransmissions of the first (which plain ``mergecap -a`` doubling gave).
    Servers, addresses and payloads stay as captured. Ethernet captures only (tcpdump on ``lo``)."""
    import struct

    import dpkt

    packets: list[tuple[float, bytes, int | None]] = []  # (time, frame, offset of the TCP ports)
    clients: set[tuple[bytes, int]] = set()
    with source.open("rb") as fh:
        reader = dpkt.pcap.UniversalReader(fh)
        if reader.datalink() != dpkt.pcap.DLT_EN10MB:
            raise SystemExit(f"{source}: only Ethernet captures can be grown (link type {reader.datalink()})")
        for ts, buf in reader:
            eth = dpkt.ethernet.Ethernet(buf)
            ip, offset = eth.data, None
            if isinstance(ip, dpkt.ip.IP) and isinstance(ip.data, dpkt.tcp.TCP):
                offset = 14 + ip.hl * 4
                tcp = ip.data
                if tcp.flags & dpkt.tcp.TH_SYN and not tcp.flags & dpkt.tcp.TH_ACK:
                    clients.add((ip.src, tcp.sport))
            packets.append((float(ts), bytes(buf), offset))
    if not packets:
        raise SystemExit(f"{source}: no packets")
    span = packets[-1][0] - packets[0][0] + 1.0
    roles = []  # per packet: (moves the source port, moves the destination port)
    for _, buf, offset in packets:
        if offset is None:
            roles.append((False, False))
            continue
        sport, dport = struct.unpack_from("!HH", buf, offset)
        roles.append(((buf[26:30], sport) in clients, (buf[30:34], dport) in clients))
    out = work / "grown.pcap"
    with out.open("wb") as fh:
        writer = dpkt.pcap.Writer(fh, snaplen=262144, linktype=dpkt.pcap.DLT_EN10MB)
        copy = 0
        while True:
            for (ts, buf, offset), (move_src, move_dst) in zip(packets, roles, strict=True):
                frame = bytearray(buf)
                if copy and offset is not None and (move_src or move_dst):
                    sport, dport = struct.unpack_from("!HH", frame, offset)
                    if move_src:
                        sport = 1024 + (sport - 1024 + copy * 7919) % 64511
                    if move_dst:
                        dport = 1024 + (dport - 1024 + copy * 7919) % 64511
                    struct.pack_into("!HH", frame, offset, sport, dport)
                writer.writepkt(bytes(frame), ts=ts + copy * span)
            copy += 1
            if fh.tell() >= megabytes * 1_000_000:
                break
    return out


def timed(cmd: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS (KiB) of the process itself, and its stdout."""
    done = subprocess.run(["/usr/bin/time", "-f", "RG-TIME %e %M", *cmd], capture_output=True, text=True, check=True)
    line = [ln for ln in done.stderr.splitlines() if ln.startswith("RG-TIME ")][-1]
    _, wall, rss = line.split()
    return float(wall), int(rss), done.stdout


def run(megabytes: int, source: Path | None, work: Path) -> dict[str, object]:
    hl7_port = 2575
    if source is None:
        source, hl7_port = make_source(work)
    capture = grow(source, megabytes, work)
    rg_wall, rg_rss, out = timed([sys.executable, "-c", _RADGUARD, str(capture), str(work / "bench.db"),
                                  str(hl7_port)])
    report = json.loads(out.strip().splitlines()[-1])
    ts_wall, ts_rss, _ = timed(["/usr/bin/tshark", "-r", str(capture), "-Y", "dicom", "-q"])
    # The same, but with DICOM found on any port as radguard does (on its default settings
    # tshark decodes DICOM on port 104 only, so above it skips these associations).
    th_wall, _, _ = timed(["/usr/bin/tshark", "-r", str(capture), "-Y", "dicom", "-q", "-o", "dicom.heuristic:TRUE"])
    return {"capture_mb": round(capture.stat().st_size / 1e6, 1), "radguard_s": rg_wall, "tshark_s": ts_wall,
            "ratio_radguard_over_tshark": round(rg_wall / ts_wall, 2), "tshark_heuristic_s": th_wall,
            "ratio_radguard_over_tshark_heuristic": round(rg_wall / th_wall, 2),
            "radguard_peak_rss_mib": round(max(rg_rss, report["tshark_rss_kib"]) / 1024, 1),
            "radguard_python_rss_mib": round(rg_rss / 1024, 1),
            "tshark_peak_rss_mib": round(ts_rss / 1024, 1), "facts": report["counts"]["facts"],
            "dicom_conversations":
                report["counts"]["dicom_conversations"], "flows": report["counts"]["flows"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--megabytes", type=int, default=1024, help="capture size to grow to (default 1024)")
    parser.add_argument("--source", type=Path, help="a pcap to grow instead of making one on loopback")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rg-bench-passive-") as tmp:
        print(json.dumps(run(args.megabytes, args.source, Path(tmp)), indent=2))


if __name__ == "__main__":
    main()
