"""Flow logs as passive flow evidence: NetFlow v5/v9 and IPFIX through nfdump, firewall logs as CSV.

Sites that cannot hand over packet captures usually have flow records already: a router or a
probe (softflowd) exports NetFlow/IPFIX to a collector (nfcapd), and the firewall logs each
connection. Both give the same facts as the capture reader's ``flow`` lines: protocol, the two
ends, the server port, packet and byte counts, first and last seen. Nothing above layer 4 is in
a flow record, so nothing about patients can be.

nfdump (Debian's, started as a child process) decodes the collector's files; its CSV output is
read line by line, so a month of flows is never held in memory. Records are folded by
(protocol, client, server, server port), so memory grows with distinct conversations only.
NetFlow records are one-directional: each is turned round to client → server by the ports
(:func:`server_side`), and the reply's bytes count as the server's.
"""

from __future__ import annotations

import csv
import ipaddress
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.db.models.discovery import Scan
from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Endpoint
from radguard.errors import InputError
from radguard.passive.store import FLOW_KIND

T = TypeVar("T")
NFDUMP = "/usr/bin/nfdump"
SOURCE = "radguard passive flows import"
# Service ports that decide which end of a one-way record is the server, before the
# ephemeral-range rule: imaging (DICOM, DICOM TLS, Orthanc, HL7 MLLP) and the usual services.
SERVICE_PORTS = frozenset({21, 22, 23, 25, 53, 80, 104, 123, 135, 139, 389, 443, 445, 514, 636, 1433, 1521,
                           2575, 2761, 2762, 3306, 3389, 4242, 5432, 5900, 8042, 8080, 8443, 11112})
EPHEMERAL_FROM = 32768  # Linux's default ephemeral range starts here; Windows' at 49152
PROTOCOLS = {"tcp": "tcp", "udp": "udp", "6": "tcp", "17": "udp", "icmp": "icmp", "1": "icmp"}
MAX_FIELD = 256
CSV_REQUIRED = ("first_seen", "protocol", "source", "destination", "destination_port")
CSV_OPTIONAL = ("last_seen", "source_port", "packets", "bytes", "reply_bytes", "action")
BLOCKED_ACTIONS = frozenset({"deny", "denied", "drop", "dropped", "reject", "rejected", "block", "blocked"})
ALLOWED_ACTIONS = frozenset({"", "allow", "allowed", "accept", "accepted", "permit", "permitted", "pass"})


@dataclass
class FlowRecord:
    """One conversation's counts, already turned to client → server."""

    proto: str
    client: str
    server: str
    server_port: int
    first: float
    last: float
    packets: int = 0
    client_bytes: int = 0
    server_bytes: int = 0
    connections: int = 1


def server_side(src_port: int, dst_port: int) -> bool:
    """True when the destination of a one-way record is the server.

    Known service ports win, then the side outside the ephemeral range, then the lower port.
    """
    src_known, dst_known = src_port in SERVICE_PORTS, dst_port in SERVICE_PORTS
    if src_known != dst_known:
        return dst_known
    src_eph, dst_eph = src_port >= EPHEMERAL_FROM, dst_port >= EPHEMERAL_FROM
    if src_eph != dst_eph:
        return src_eph
    return dst_port <= src_port


def _when(text: str) -> float:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def _count(text: str) -> int:
    value = int(text.strip() or 0)
    if value < 0:
        raise ValueError("negative count")
    return value


def _port(text: str) -> int:
    value = int(text.strip())
    if not 0 <= value <= 65535:
        raise ValueError("port out of range")
    return value


def _addr(text: str) -> str:
    return str(ipaddress.ip_address(text.strip()))


@dataclass
class NfdumpStats:
    """What reading the collector's files skipped."""

    records: int = 0
    skipped: int = 0


def nfdump_command(path: Path) -> list[str]:
    """nfdump over one file (``-r``) or a collector folder, recursively (``-R``); CSV out."""
    return [NFDUMP, "-N", "-o", "csv", "-R" if path.is_dir() else "-r", str(path)]


def read_nfdump(path: Path, stats: NfdumpStats) -> Iterator[FlowRecord]:
    """The flow records of an nfcapd file or folder (NetFlow v5/v9, IPFIX), streamed from nfdump.

    A record nfdump prints but that is not a TCP/UDP/ICMP flow between two addresses is counted
    in ``stats.skipped``; a file nfdump cannot read is an :class:`InputError` naming it.
    """
    if not path.exists():
        raise InputError(str(path), None, None, "no such file or folder; give an nfcapd file or the "
                                                "collector's folder")
    cmd = nfdump_command(path)
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          errors="replace") as proc:
        assert proc.stdout is not None and proc.stderr is not None
        header: list[str] | None = None
        for line in proc.stdout:
            line = line.rstrip("\n")
            if header is None:
                if line.startswith("ts,"):
                    header = line.split(",")
                continue
            if not line or line.startswith(("Summary", "No matching flows")):
                break
            row = dict(zip(header, line.split(","), strict=False))
            try:
                record = _nfdump_record(row)
            except (ValueError, KeyError):
                stats.skipped += 1
                continue
            if record is not None:
                stats.records += 1
                yield record
        for _ in proc.stdout:  # the summary: let nfdump finish writing
            pass
        err = proc.stderr.read(65536)
        code = proc.wait()
    if code != 0 or "error" in err.lower():
        problem = next((ln.strip() for ln in err.splitlines() if ln.strip()), f"exit status {code}")
        raise InputError(str(path), None, None, f"nfdump could not read the flow file: {problem[:300]}")


def _nfdump_record(row: dict[str, str]) -> FlowRecord | None:
    proto = PROTOCOLS.get(row["pr"].strip().lower())
    if proto is None:
        return None
    src, dst = _addr(row["sa"]), _addr(row["da"])
    sport, dport = int(float(row["sp"] or 0)), int(float(row["dp"] or 0))
    # softflowd's IPFIX can export an end before the start; order them rather than drop the flow.
    t1, t2 = _when(row["ts"]), _when(row["te"])
    first, last = min(t1, t2), max(t1, t2)
    packets, octets = _count(row["ipkt"]), _count(row["ibyt"])
    reply_packets, reply_octets = _count(row.get("opkt") or "0"), _count(row.get("obyt") or "0")
    if proto == "icmp" or server_side(sport, dport):
        return FlowRecord(proto, src, dst, dport if proto != "icmp" else 0, first, last,
                          packets + reply_packets, octets, reply_octets, 1)
    # The reply half of a conversation: same conversation, server bytes; the request counted it.
    return FlowRecord(proto, dst, src, sport, first, last, packets + reply_packets, reply_octets, octets, 0)


@dataclass
class CsvStats:
    """A firewall log's rows: read, and left out because the firewall blocked them."""

    rows: int = 0
    blocked: int = 0


def read_firewall_csv(path: Path, stats: CsvStats) -> Iterator[FlowRecord]:
    """The allowed connections of a firewall traffic log in radguard's CSV form (docs/passive.md).

    Any bad row raises an :class:`InputError` naming the file, the row and the field; the
    caller's transaction is then rolled back, so nothing from the file is kept.
    """
    try:
        handle = open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise InputError(str(path), None, None, f"cannot read the flow log: {exc.strerror}") from None
    with handle:
        reader = csv.DictReader(handle)
        try:
            fields = [f.strip().lower() for f in reader.fieldnames or []]
        except UnicodeDecodeError:
            raise InputError(str(path), "row 1", None, "not UTF-8 text") from None
        missing = [c for c in CSV_REQUIRED if c not in fields]
        if missing:
            raise InputError(str(path), "row 1", missing[0], "required column missing; the header must name "
                             + ", ".join(CSV_REQUIRED) + " (optional: " + ", ".join(CSV_OPTIONAL) + ")")
        reader.fieldnames = fields
        row_no = 1
        try:
            for row in reader:
                row_no += 1
                record = _csv_record(path, row_no, row)
                stats.rows += 1
                if record is None:
                    stats.blocked += 1
                    continue
                yield record
        except UnicodeDecodeError:
            raise InputError(str(path), f"row {row_no + 1}", None, "not UTF-8 text") from None
        except csv.Error as exc:
            raise InputError(str(path), f"row {row_no}", None, f"not valid CSV: {exc}") from None


def _csv_record(path: Path, row_no: int, row: dict[str | None, str | list[str] | None]) -> FlowRecord | None:
    if None in row:
        raise InputError(str(path), f"row {row_no}", None, "more cells than the header has columns")

    def cell(name: str) -> str:
        value = row.get(name)
        text = value.strip() if isinstance(value, str) else ""
        if len(text) > MAX_FIELD:
            raise InputError(str(path), f"row {row_no}", name, f"longer than {MAX_FIELD} characters")
        if not text and name in CSV_REQUIRED:
            raise InputError(str(path), f"row {row_no}", name, "empty; this column is required")
        return text

    def parse(name: str, fn: Callable[[str], T], what: str) -> T:
        text = cell(name)
        try:
            return fn(text)
        except ValueError:
            raise InputError(str(path), f"row {row_no}", name, f"{text!r} is not {what}") from None

    action = cell("action").lower()
    if action not in BLOCKED_ACTIONS | ALLOWED_ACTIONS:
        raise InputError(str(path), f"row {row_no}", "action", f"{action!r} is not allow or deny")
    proto = PROTOCOLS.get(cell("protocol").lower())
    if proto is None:
        raise InputError(str(path), f"row {row_no}", "protocol", f"{cell('protocol')!r} is not tcp, udp or icmp")
    first = parse("first_seen", _when, "an ISO 8601 time (2026-05-01T08:30:00Z)")
    last = parse("last_seen", _when, "an ISO 8601 time") if cell("last_seen") else first
    if last < first:
        raise InputError(str(path), f"row {row_no}", "last_seen", "is before first_seen")
    client = parse("source", _addr, "an IP address")
    server = parse("destination", _addr, "an IP address")
    port = parse("destination_port", _port, "a port (0-65535)")
    if cell("source_port"):
        parse("source_port", _port, "a port (0-65535)")
    packets = parse("packets", _count, "a whole number")
    octets = parse("bytes", _count, "a whole number")
    reply = parse("reply_bytes", _count, "a whole number")
    if action in BLOCKED_ACTIONS:
        return None
    return FlowRecord(proto, client, server, port, first, last, packets, octets, reply, 1)


def detect_format(path: Path) -> str:
    """``csv`` for a ``.csv`` file, else ``netflow`` (an nfcapd file or a collector folder)."""
    return "csv" if path.is_file() and path.suffix.lower() == ".csv" else "netflow"


def _ts(value: float) -> str:
    return datetime.fromtimestamp(value, UTC).isoformat()


def import_flow_log(session: Session, path: Path, fmt: str | None = None) -> dict[str, Any]:
    """Store one flow log's conversations as ``passive.flow`` evidence in the caller's transaction.

    ``fmt`` is ``netflow`` (nfcapd files: NetFlow v5/v9, IPFIX) or ``csv`` (a firewall log);
    None guesses it from the path. Each conversation keeps ``origin`` (netflow or csv) so a
    finding can say where its flow was seen. Returns the import summary.
    """
    fmt = fmt or detect_format(path)
    if fmt not in ("netflow", "csv"):
        raise InputError("--format", None, None, f"{fmt!r} is not netflow or csv")
    folded: dict[tuple[str, str, str, int], FlowRecord] = {}
    nf_stats, csv_stats = NfdumpStats(), CsvStats()
    records = read_nfdump(path, nf_stats) if fmt == "netflow" else read_firewall_csv(path, csv_stats)
    for rec in records:
        key = (rec.proto, rec.client, rec.server, rec.server_port)
        have = folded.get(key)
        if have is None:
            folded[key] = rec
            continue
        have.first, have.last = min(have.first, rec.first), max(have.last, rec.last)
        have.packets += rec.packets
        have.client_bytes += rec.client_bytes
        have.server_bytes += rec.server_bytes
        have.connections += rec.connections
    now = datetime.now(UTC)
    scan = Scan(started=now, finished=now, level=0, targets=[path.name], authorized_by=None,
                reason="passive flow log import", options={"mode": "passive", "flow_log": path.name, "format": fmt})
    session.add(scan)
    session.flush()
    owners = {host: asset_id for host, asset_id in
              session.execute(select(Endpoint.host, Endpoint.asset_id).order_by(Endpoint.id.desc()))}
    for (proto, client, server, port), rec in sorted(folded.items()):
        session.add(Evidence(
            kind=FLOW_KIND, asset_id=owners.get(server), scan_id=scan.id, host=server,
            port=port if proto != "icmp" else None, safety_level=0, sent={"passive": True},
            received={"proto": proto, "client": client, "server": server, "server_port": port,
                      "connections": max(rec.connections, 1), "packets": rec.packets,
                      "client_bytes": rec.client_bytes, "server_bytes": rec.server_bytes,
                      "tls": False, "service": None, "origin": fmt,
                      "first_seen": _ts(rec.first), "last_seen": _ts(rec.last)},
            source=f"{SOURCE} {path.name}", collected_at=now))
    counts = {"format": fmt, "records": nf_stats.records if fmt == "netflow" else csv_stats.rows,
              "skipped": nf_stats.skipped, "blocked": csv_stats.blocked, "flows": len(folded)}
    scan.counts = counts
    session.flush()
    return {"scan": scan.id, "flow_log": path.name, "counts": counts}
