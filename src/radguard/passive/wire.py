"""The fast path for classic pcap files: DICOM connections read in Python, everything else by tshark.

Why: on a capture of imaging traffic almost every byte is a DICOM data set that radguard never
reads. tshark still dissects each frame and builds its tree, and the Lua tap walked every DICOM
field; that made ``radguard passive import`` 5.7 times slower than ``tshark -r FILE -Y dicom -q``
(docs/benchmarks.md). Here one pass over the file splits the TCP connections in two:

* a connection whose handshake was seen and whose first client bytes, in order, are a complete,
  plain A-ASSOCIATE-RQ (the same test as tshark's DICOM heuristic, stricter) is read here. The
  PDU headers give the lengths, so data sets are skipped without being looked at; only the
  association PDUs and the command sets' Command Field and Move Destination are decoded, into
  the same facts the tap prints;
* every other packet (other protocols, UDP, connections seen mid-way, anything unusual at the
  start of a connection, ports tshark gives to another dissector) is piped, as a pcap, to tshark
  with the unchanged tap. So HL7, HTTP, TLS and damaged or hostile streams are still decoded by
  tshark, and their facts are the tap's.

Memory: per connection a few counters; per DICOM direction at most one association PDU
(``MAX_ASSOC`` bytes), one command set (``MAX_COMMAND``) and ``MAX_OOO`` bytes of out-of-order
segments. Anything larger stops the decoding of that direction (the flow is still counted).
``tests/passive/test_wire.py`` compares the facts with the tshark-only path on the test captures.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
import struct
import subprocess
from array import array
from collections.abc import Iterator
from typing import IO, Any

TSHARK = "/usr/bin/tshark"
MAX_PACKET = 262144  # tshark's own limit for a pcap record
MAX_ASSOC = 1 << 20
MAX_COMMAND = 1 << 16
MAX_OOO = 1 << 20  # per direction
MAX_OOO_TOTAL = 64 << 20  # all connections together
MAX_HELD = 64  # packets of a new connection held until its first PDU is complete
LINK_TYPES = {1: "ethernet", 113: "sll", 276: "sll2", 101: "raw", 12: "raw", 0: "null", 228: "ipv4", 229: "ipv6"}
_HDR = struct.Struct("<IIII")
_HDR_BE = struct.Struct(">IIII")
_TCP = struct.Struct("!HHIIBB")
_PDU = struct.Struct("!BBI")
_CMD = struct.Struct("<HHI")
SYN, ACK, FIN, RST = 0x02, 0x10, 0x01, 0x04
# tshark's own words for a file that ends or breaks mid-way ({file}: the path it was given).
CUT = 'The file "{file}" appears to have been cut short in the middle of a packet'
DAMAGED = ('The file "{file}" appears to be damaged or corrupt. (pcap: File has {size}-byte packet, '
           f'bigger than maximum of {MAX_PACKET})')


class NotFast(Exception):
    """The file is not one the fast path reads (pcapng, another link type, a damaged header)."""


@functools.cache
def static_tcp_ports() -> frozenset[int]:
    """TCP ports tshark hands to a dissector of its own (``tshark -G decodes``), DICOM's 104 excepted.

    On those ports tshark tries that dissector before its DICOM heuristic, so a connection on one
    of them is left to tshark: what it decodes there is what radguard has always stored.
    """
    out = subprocess.run([TSHARK, "-G", "decodes"], capture_output=True, text=True, timeout=120, check=False)
    ports = set()
    for line in out.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[0] == "tcp.port" and parts[1].isdigit() and parts[2] != "dicom":
            ports.add(int(parts[1]))
    return frozenset(ports)


def _ascii(raw: bytes) -> str:
    """A DICOM string as tshark prints it through the tap: cut at NUL, non-ASCII as U+FFFD's bytes."""
    raw = raw.split(b"\x00", 1)[0]
    text = raw.decode("ascii", "replace")
    return text if text.isascii() else text.encode("utf-8").decode("latin-1")


_NOT_PLAIN = re.compile(rb"[^\x20-\x7e]")
_ASSOC_CACHE: dict[tuple[int, bytes, bool], dict[str, Any] | None] = {}
CACHE_BODY = 1 << 16  # association PDUs up to this size are remembered (at most 256 of them)


def _plain_ascii(raw: bytes) -> bool:
    return _NOT_PLAIN.search(raw) is None


def parse_assoc(pdu_type: int, body: bytes, strict: bool) -> dict[str, Any] | None:
    """:func:`decode_assoc`, remembered for repeated PDUs: a modality sends the same request
    (AE titles, contexts, implementation) on every association. The result is shared: read only."""
    if len(body) > CACHE_BODY:
        return decode_assoc(pdu_type, body, strict)
    key = (pdu_type, body, strict)
    if key not in _ASSOC_CACHE:
        if len(_ASSOC_CACHE) >= 256:
            _ASSOC_CACHE.clear()
        _ASSOC_CACHE[key] = decode_assoc(pdu_type, body, strict)
    return _ASSOC_CACHE[key]


def decode_assoc(pdu_type: int, body: bytes, strict: bool) -> dict[str, Any] | None:
    """The tap's fields of one A-ASSOCIATE-RQ/AC (``body`` after the 6-byte PDU header).

    ``strict``: None unless every string is plain ASCII and every item fits (a connection that
    fails is left to tshark rather than decoded differently).
    """
    if len(body) < 68:
        return None
    called, calling = body[4:20], body[20:36]
    if strict and not (_plain_ascii(called) and _plain_ascii(calling)):
        return None
    out: dict[str, Any] = {"pdu": pdu_type, "calling": _ascii(calling), "called": _ascii(called)}
    contexts: list[dict[str, Any]] = []
    pos, end = 68, len(body)
    while pos + 4 <= end:
        itype, ilen = body[pos], int.from_bytes(body[pos + 2:pos + 4], "big")
        item = body[pos + 4:pos + 4 + ilen]
        if len(item) < ilen:
            return None if strict else out | {"contexts": contexts}
        if itype in (0x20, 0x21) and len(item) >= 4:
            ctx: dict[str, Any] = {"id": item[0]}
            if itype == 0x21:
                ctx["result"] = item[2]
            sub = 4
            while sub + 4 <= len(item):
                stype, slen = item[sub], int.from_bytes(item[sub + 2:sub + 4], "big")
                value = item[sub + 4:sub + 4 + slen]
                if strict and (len(value) < slen or not _plain_ascii(value)):
                    return None
                if stype == 0x30 and itype == 0x20:
                    ctx = {"id": item[0], "abstract": _ascii(value)}
                sub += 4 + slen
            contexts.append(ctx)
        elif itype == 0x50:
            sub = 0
            while sub + 4 <= len(item):
                stype, slen = item[sub], int.from_bytes(item[sub + 2:sub + 4], "big")
                value = item[sub + 4:sub + 4 + slen]
                if stype in (0x52, 0x55):
                    if strict and (len(value) < slen or not _plain_ascii(value)):
                        return None
                    out["uid" if stype == 0x52 else "version"] = _ascii(value)
                sub += 4 + slen
        pos += 4 + ilen
    out["contexts"] = contexts
    return out


def command_fields(data: bytes) -> tuple[int | None, str | None]:
    """Command Field (0000,0100) and Move Destination (0000,0600) of one command-set PDV
    (implicit VR little endian, as every command set is); nothing else is read."""
    command = move = None
    pos = 0
    while pos + 8 <= len(data):
        group, elem, vlen = _CMD.unpack_from(data, pos)
        value = data[pos + 8:pos + 8 + vlen]
        if group == 0 and elem == 0x0100 and len(value) == 2:
            command = value[0] | value[1] << 8
        elif group == 0 and elem == 0x0600:
            move = _ascii(value)
        if vlen == 0xFFFFFFFF:
            break
        pos += 8 + vlen
    return command, move


class _Direction:
    """One direction of a DICOM connection: TCP order, then PDUs by their lengths."""

    __slots__ = ("buf", "cmds", "dead", "need", "next", "ooo", "ooo_bytes", "pdu_left", "pdu_type", "pdv_cmd",
                 "state")

    def __init__(self, next_seq: int) -> None:
        self.next = next_seq
        self.ooo: dict[int, bytes] = {}
        self.ooo_bytes = 0
        self.dead = False
        self.state = 0  # 0 PDU header, 1 association body, 2 PDV header, 3 PDV data, 4 skip
        self.need = 6
        self.buf = bytearray()
        self.pdu_type = 0
        self.pdu_left = 0
        self.pdv_cmd = False
        self.cmds: list[tuple[int | None, str | None]] = []


class _Stream:
    __slots__ = ("c", "cb", "ckey", "cp", "dirs", "first", "held", "id", "isn", "last", "pending", "pk", "s", "sb",
                 "sp")

    def __init__(self, sid: str, ckey: tuple[bytes, int], c: str, cp: int, s: str, sp: int, t: float,
                 isn: int) -> None:
        self.id, self.ckey, self.c, self.cp, self.s, self.sp = sid, ckey, c, cp, s, sp
        self.pk = self.cb = self.sb = 0
        self.first = self.last = t
        self.isn = isn
        self.held: list[tuple[bytes, int, float, bool, int, int, memoryview]] | None = []
        self.dirs: dict[bool, _Direction] = {}
        self.pending = bytearray()  # the client's first bytes while the connection is undecided


def fast_header(path_head: bytes) -> bytes | None:
    """The pcap file header if the fast path reads this file (classic pcap, a known link type, a
    sane snaplen, a first record within limits and complete), else None: tshark reads it all."""
    if len(path_head) < 40:
        return None
    magic = path_head[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else \
        ">" if magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d") else None
    if endian is None:
        return None
    major, minor, _, _, snaplen, linktype = struct.unpack(endian + "HHiIII", path_head[4:24])
    if (major, minor) != (2, 4) or linktype not in LINK_TYPES or not 0 < snaplen <= MAX_PACKET * 4:
        return None
    incl = struct.unpack(endian + "I", path_head[32:36])[0]
    if incl > MAX_PACKET or len(path_head) < 40 + incl:
        return None
    return path_head[:24]


class FastReader:
    """Reads one classic pcap; yields the tap's facts for DICOM connections, pipes the rest to tshark.

    :param fh: the capture, opened in binary mode, positioned at 0.
    :param tshark_in: tshark's stdin (a pcap stream), or None to drop the other packets (tests).
    :param hl7_ports: ports decoded as HL7 (left to tshark).
    """

    def __init__(self, fh: IO[bytes], tshark_in: IO[bytes] | None, hl7_ports: tuple[int, ...],
                 frame_map: IO[bytes] | None) -> None:
        header = fh.read(24)
        if len(header) < 24:
            raise NotFast("short header")
        magic = header[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            self.rec, endian = _HDR, "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            self.rec, endian = _HDR_BE, ">"
        else:
            raise NotFast("not classic pcap")
        self.nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
        major, minor, _, _, snaplen, linktype = struct.unpack(endian + "HHiIII", header[4:])
        if (major, minor) != (2, 4) or linktype not in LINK_TYPES or not 0 < snaplen <= MAX_PACKET * 4:
            raise NotFast("unusual pcap header")
        self.fh, self.out, self.map = fh, tshark_in, frame_map
        self.link = LINK_TYPES[linktype]
        self.avoid = static_tcp_ports() | frozenset(hl7_ports)
        if tshark_in is not None:
            tshark_in.write(header[:16] + struct.pack(endian + "I", max(snaplen, MAX_PACKET)) + header[20:])
        self.frames = 0
        self.sent = 0
        self.malformed: list[int] = []
        self.malformed_count = 0
        self.error: str | None = None
        self.broken = False
        self.ooo_total = 0
        self.streams: dict[tuple[bytes, int, bytes, int], _Stream] = {}
        self.delegated: set[tuple[bytes, int, bytes, int]] = set()
        self.done: list[_Stream] = []
        self.count = 0
        self._frame_ids = array("I")

    # ---- the other packets -------------------------------------------------------------
    def _send(self, record: bytes, frame: int) -> None:
        if self.out is None:
            return
        try:
            self.out.write(record)
        except BrokenPipeError:  # tshark gave up on what it was sent: keep reading the DICOM here
            self.out, self.broken = None, True
            return
        self.sent += 1
        self._frame_ids.append(frame)
        if len(self._frame_ids) >= 4096 and self.map is not None:
            self.map.write(self._frame_ids.tobytes())
            del self._frame_ids[:]

    def flush_map(self) -> None:
        if self.map is not None:
            self.map.write(self._frame_ids.tobytes())
            del self._frame_ids[:]
            self.map.flush()

    def _bad(self, frame: int) -> None:
        self.malformed_count += 1
        if len(self.malformed) < 20:
            self.malformed.append(frame)

    # ---- the pass ------------------------------------------------------------------------
    def facts(self) -> Iterator[dict[str, Any]]:
        """Every DICOM fact, in capture order, then the DICOM connections' flow facts."""
        read, unpack, nano, link = self.fh.read, self.rec.unpack, self.nano, self.link
        while True:
            head = read(16)
            if not head:
                break
            if len(head) < 16:
                self.error = CUT
                break
            sec, frac, incl, _orig = unpack(head)
            if incl > MAX_PACKET:
                if self.frames == 0:
                    raise NotFast("first record too large")
                self.error = DAMAGED.replace("{size}", str(incl))
                break
            buf = read(incl)
            if len(buf) < incl:
                self.error = CUT
                break
            self.frames += 1
            frame = self.frames
            parsed = _ip_tcp(buf, link)
            if parsed is None:
                self._send(head + buf, frame)
                continue
            src, dst, payload_start, payload_end, tcp_off = parsed
            sport, dport, seq, _ack, _off, flags = _TCP.unpack_from(buf, tcp_off)
            # One key for both directions (the lower address first).
            key = (src, sport, dst, dport) if (src, sport) <= (dst, dport) else (dst, dport, src, sport)
            if key in self.delegated:
                self._send(head + buf, frame)
                continue
            t = sec + (frac if nano else frac * 1000) / 1000000000.0
            stream = self.streams.get(key)
            syn_only = flags & (SYN | ACK) == SYN
            if stream is not None and syn_only and seq != stream.isn:
                self.done.append(self.streams.pop(key))  # the 4-tuple reused by a new connection
                stream = None
            if stream is None:
                if not syn_only or sport in self.avoid or dport in self.avoid:
                    self.delegated.add(key)
                    self._send(head + buf, frame)
                    continue
                self.count += 1
                stream = _Stream(f"ptcp{self.count}", (src, sport), _addr(src), sport, _addr(dst), dport, t, seq)
                self.streams[key] = stream
            truncated = payload_end > len(buf)
            data = memoryview(buf)[payload_start:min(payload_end, len(buf))]
            from_client = (src, sport) == stream.ckey
            if stream.held is not None:
                stream.held.append((head + buf, frame, t, from_client, seq, flags, data))
                verdict = self._decide(stream, from_client, seq, flags, data, truncated)
                if verdict is False:
                    self._delegate(key, stream)
                elif verdict is True:
                    held, stream.held = stream.held, None
                    for record, f, ht, hc, hs, hf, hd in held:
                        yield from self._count(stream, record, f, ht, hc, hs, hf, hd, False)
                continue
            yield from self._count(stream, head + buf, frame, t, from_client, seq, flags, data, truncated)
        for key, stream in list(self.streams.items()):
            if stream.held is not None:
                self._delegate(key, stream)
        for stream in [*self.done, *self.streams.values()]:
            if stream.held is None:
                yield {"t": "flow", "id": stream.id, "proto": "tcp", "client": stream.c, "client_port": stream.cp,
                       "server": stream.s, "server_port": stream.sp, "packets": stream.pk,
                       "client_bytes": stream.cb, "server_bytes": stream.sb, "first": _round(stream.first),
                       "last": _round(stream.last), "tls": False}
        self.flush_map()

    def _delegate(self, key: tuple[bytes, int, bytes, int], stream: _Stream) -> None:
        self.delegated.add(key)
        self.streams.pop(key, None)
        for record, frame, *_ in stream.held or ():
            self._send(record, frame)
        stream.held = None

    def _decide(self, stream: _Stream, from_client: bool, seq: int, flags: int, data: memoryview,
                truncated: bool) -> bool | None:
        """Whether a new connection is read here (True), left to tshark (False) or undecided (None)."""
        if len(stream.held or ()) > MAX_HELD or truncated or flags & RST:
            return False
        if not data:
            return False if flags & FIN else None
        if not from_client or not any(not c and f & SYN and f & ACK for _, _, _, c, _, f, _ in stream.held or ()):
            return False  # the server's SYN-ACK must have been seen, so both directions start known
        start = (stream.isn + 1) & 0xFFFFFFFF
        offset = (seq - start) & 0xFFFFFFFF
        if offset < len(stream.pending) and offset + len(data) <= len(stream.pending) and \
                stream.pending[offset:offset + len(data)] == data:
            return None  # a retransmission of bytes already held
        if offset != len(stream.pending):
            return False  # out of order or overlapping differently: tshark reassembles those
        stream.pending += data
        head = stream.pending
        if len(head) >= 6:
            ptype, reserved, length = _PDU.unpack_from(head, 0)
            if ptype != 1 or reserved != 0 or not 68 <= length <= MAX_ASSOC or \
                    (len(head) >= 8 and head[6:8] != b"\x00\x01"):
                return False
            if len(head) < 6 + length:
                return None
            if len(head) > 6 + length:
                return False  # more than the request in its first segments: leave the odd case to tshark
            if parse_assoc(1, bytes(head[6:]), strict=True) is None:
                return False
            stream.pending = bytearray()
            return True
        return None

    def _count(self, stream: _Stream, record: bytes, frame: int, t: float, from_client: bool, seq: int,
               flags: int, data: memoryview, truncated: bool) -> Iterator[dict[str, Any]]:
        orig = self.rec.unpack_from(record, 0)[3]  # the length on the wire, as tshark's pinfo.len
        stream.pk += 1
        if from_client:
            stream.cb += orig
        else:
            stream.sb += orig
        if t < stream.first:
            stream.first = t
        if t > stream.last:
            stream.last = t
        direction = stream.dirs.get(from_client)
        if direction is None:
            if flags & SYN:
                stream.dirs[from_client] = _Direction((seq + 1) & 0xFFFFFFFF)
            return
        if truncated:
            self._bad(frame)
            direction.dead = True
            self.ooo_total -= direction.ooo_bytes
            direction.ooo.clear()
            direction.ooo_bytes = 0
        if direction.dead or not data:
            return
        yield from self._stream_bytes(stream, direction, from_client, seq, data, t)

    def _stream_bytes(self, stream: _Stream, d: _Direction, from_client: bool, seq: int, data: memoryview,
                      t: float) -> Iterator[dict[str, Any]]:
        ahead = (seq - d.next) & 0xFFFFFFFF
        if ahead >= 0x80000000:  # starts before what was read: drop the part already read
            behind = 0x100000000 - ahead
            if behind >= len(data):
                return
            data, seq = data[behind:], d.next
            ahead = 0
        if ahead:
            grow = len(data) - len(d.ooo.get(seq, b""))
            if d.ooo_bytes + len(data) > MAX_OOO or self.ooo_total + grow > MAX_OOO_TOTAL:
                # A gap that is never filled (a packet the capture lost) would otherwise keep every
                # connection's later segments: stop decoding this direction and let them go.
                d.dead = True
                self.ooo_total -= d.ooo_bytes
                d.ooo.clear()
                d.ooo_bytes = 0
                return
            if grow > 0:
                d.ooo_bytes += grow
                self.ooo_total += grow
                d.ooo[seq] = bytes(data)
            return
        yield from self._consume(stream, d, from_client, data, t)
        while d.ooo and not d.dead:
            progressed = False
            for oseq in list(d.ooo):
                gap = (oseq - d.next) & 0xFFFFFFFF
                if gap >= 0x80000000 or gap == 0:
                    chunk = d.ooo.pop(oseq)
                    d.ooo_bytes -= len(chunk)
                    self.ooo_total -= len(chunk)
                    skip = 0 if gap == 0 else 0x100000000 - gap
                    if skip < len(chunk):
                        yield from self._consume(stream, d, from_client, memoryview(chunk)[skip:], t)
                    progressed = True
            if not progressed:
                break
        if d.dead and d.ooo:
            self.ooo_total -= d.ooo_bytes
            d.ooo.clear()
            d.ooo_bytes = 0

    def _consume(self, stream: _Stream, d: _Direction, from_client: bool, data: memoryview,
                 t: float) -> Iterator[dict[str, Any]]:
        d.next = (d.next + len(data)) & 0xFFFFFFFF
        pos, end = 0, len(data)
        while pos < end and not d.dead:
            if d.state == 4 or (d.state == 3 and not d.pdv_cmd):  # bytes nobody reads: skipped
                take = min(d.need, end - pos)
                pos += take
                d.need -= take
                if d.state == 3:
                    d.pdu_left -= take
                if d.need == 0:
                    yield from self._done_part(stream, d, from_client, t)
                continue
            take = min(d.need, end - pos)
            d.buf += data[pos:pos + take]
            pos += take
            d.need -= take
            if d.state in (2, 3):
                d.pdu_left -= take
            if d.need == 0:
                yield from self._done_part(stream, d, from_client, t)

    def _done_part(self, stream: _Stream, d: _Direction, from_client: bool, t: float) -> Iterator[dict[str, Any]]:
        if d.state == 0:
            ptype, _, length = _PDU.unpack_from(d.buf, 0)
            d.buf = bytearray()
            d.pdu_type = ptype
            if ptype not in range(1, 8):
                d.dead = True  # not DICOM any more: stop here
                return
            if ptype in (1, 2, 3, 7):
                if length > MAX_ASSOC:
                    d.dead = True
                    return
                d.state, d.need = 1, length
            elif ptype == 4:
                d.pdu_left = length
                d.state, d.need = (2, 6) if length else (0, 6)
            else:
                d.state, d.need = 4, length
            if d.need == 0:
                yield from self._done_part(stream, d, from_client, t)
            return
        if d.state == 1:
            yield from self._assoc(stream, d, from_client, t)
            d.buf = bytearray()
            d.state, d.need = 0, 6
            return
        if d.state == 4:
            d.state, d.need = 0, 6
            return
        if d.state == 2:
            length = int.from_bytes(d.buf[0:4], "big")
            flags = d.buf[5]
            d.buf = bytearray()
            if length < 2 or length - 2 > d.pdu_left:
                d.dead = True
                return
            d.pdv_cmd = bool(flags & 1)
            if d.pdv_cmd and length - 2 > MAX_COMMAND:
                d.pdv_cmd = False
            d.state, d.need = 3, length - 2
            if d.need:
                return
        if d.state == 3:
            if d.pdv_cmd:
                command, move = command_fields(bytes(d.buf))
                if command is not None or move is not None:
                    d.cmds.append((command, move))
            d.buf = bytearray()
            if d.pdu_left >= 6:
                d.state, d.need = 2, 6
                return
            if d.pdu_left:
                d.dead = True  # a PDV header cannot fit in what is left of the PDU
                return
            d.state, d.need = 0, 6
            cmds, d.cmds = d.cmds, []
            for command, move in cmds:
                yield self._head(stream, "dimse", from_client, t) | {"command": command, "move_destination": move}

    def _assoc(self, stream: _Stream, d: _Direction, from_client: bool, t: float) -> Iterator[dict[str, Any]]:
        body = bytes(d.buf)
        fact = self._head(stream, "dicom", from_client, t)
        if d.pdu_type in (1, 2):
            parsed = parse_assoc(d.pdu_type, body, strict=False)
            fact |= parsed if parsed is not None else {"pdu": d.pdu_type, "contexts": []}
            if len(body) <= CACHE_BODY:
                fact["_body"] = bytes([d.pdu_type]) + body  # the reader checks a repeated PDU once
        elif d.pdu_type == 3:
            fact |= {"pdu": 3, "contexts": []}
            if len(body) >= 4:
                fact |= {"reject_result": body[1], "reject_source": body[2], "reject_reason": body[3]}
        elif d.pdu_type == 7:
            fact |= {"pdu": 7, "contexts": []}
        else:
            return
        yield fact

    @staticmethod
    def _head(stream: _Stream, kind: str, from_client: bool, t: float) -> dict[str, Any]:
        src, sport, dst, dport = (stream.c, stream.cp, stream.s, stream.sp) if from_client else \
            (stream.s, stream.sp, stream.c, stream.cp)
        return {"t": kind, "id": stream.id, "src": src, "src_port": sport, "dst": dst, "dst_port": dport,
                "time": _round(t)}


def _round(t: float) -> float:
    """A time as the tap prints it (6 decimals) and the reader reads it back."""
    return float(f"{t:.6f}")


def _addr(raw: bytes) -> str:
    return socket.inet_ntoa(raw) if len(raw) == 4 else str(ipaddress.IPv6Address(raw))


def _ip_tcp(buf: bytes, link: str) -> tuple[bytes, bytes, int, int, int] | None:
    """(source, destination, payload start, payload end, TCP header offset) of a plain TCP packet
    over IPv4 or IPv6 (no extension headers, not a fragment); None for anything else."""
    if link == "ethernet":
        if len(buf) < 14:
            return None
        etype, off = buf[12] << 8 | buf[13], 14
        if etype == 0x8100 and len(buf) >= 18:
            etype, off = buf[16] << 8 | buf[17], 18
    elif link == "sll":
        if len(buf) < 16:
            return None
        etype, off = buf[14] << 8 | buf[15], 16
    elif link == "sll2":
        if len(buf) < 20:
            return None
        etype, off = buf[0] << 8 | buf[1], 20
    elif link == "null":
        if len(buf) < 4:
            return None
        family = int.from_bytes(buf[:4], "little") if buf[0] else int.from_bytes(buf[:4], "big")
        etype, off = (0x0800 if family == 2 else 0x86DD if family in (10, 24, 28, 30) else 0), 4
    elif link == "ipv4":
        etype, off = 0x0800, 0
    elif link == "ipv6":
        etype, off = 0x86DD, 0
    else:  # raw
        if not buf:
            return None
        etype, off = {4: 0x0800, 6: 0x86DD}.get(buf[0] >> 4, 0), 0
    if etype == 0x0800:
        if len(buf) < off + 20:
            return None
        vihl = buf[off]
        ihl = (vihl & 15) * 4
        if vihl >> 4 != 4 or ihl < 20 or buf[off + 9] != 6 or buf[off + 6] & 0x3F or buf[off + 7]:
            return None  # not TCP, or a fragment
        total = buf[off + 2] << 8 | buf[off + 3]
        tcp_off = off + ihl
        if total < ihl + 20 or len(buf) < tcp_off + 20:
            return None
        src, dst, ip_end = buf[off + 12:off + 16], buf[off + 16:off + 20], off + total
    elif etype == 0x86DD:
        if len(buf) < off + 60 or buf[off] >> 4 != 6 or buf[off + 6] != 6:
            return None
        tcp_off = off + 40
        src, dst, ip_end = buf[off + 8:off + 24], buf[off + 24:off + 40], tcp_off + (buf[off + 4] << 8 | buf[off + 5])
    else:
        return None
    thl = (buf[tcp_off + 12] >> 4) * 4
    if thl < 20 or tcp_off + thl > ip_end or len(buf) < tcp_off + thl:
        return None
    return src, dst, tcp_off + thl, ip_end, tcp_off
