"""Hostile captures made from real ones or from scratch, with dpkt (classic pcap, Ethernet).

:func:`conversation` writes a TCP connection (handshake, then the given segments, each with its
own sequence offset so segments may overlap or arrive out of order); :func:`packets` and
:func:`write` read and write a capture's frames so a test can reorder or cut a real capture.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable
from pathlib import Path

import dpkt

CLIENT_MAC, SERVER_MAC = b"\x02\x00\x00\x00\x00\x01", b"\x02\x00\x00\x00\x00\x02"


def packets(path: Path) -> list[tuple[float, bytes]]:
    """Every (timestamp, frame) of a classic pcap file."""
    with open(path, "rb") as fh:
        return [(ts, bytes(buf)) for ts, buf in dpkt.pcap.Reader(fh)]


def write(path: Path, frames: Iterable[tuple[float, bytes]]) -> Path:
    with open(path, "wb") as fh:
        writer = dpkt.pcap.Writer(fh, snaplen=262144, linktype=dpkt.pcap.DLT_EN10MB)
        for ts, frame in frames:
            writer.writepkt(frame, ts=ts)
    return path


def tcp_payload(frame: bytes) -> tuple[dpkt.ip.IP, dpkt.tcp.TCP] | None:
    eth = dpkt.ethernet.Ethernet(frame)
    if isinstance(eth.data, dpkt.ip.IP) and isinstance(eth.data.data, dpkt.tcp.TCP):
        return eth.data, eth.data.data
    return None


def _frame(src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int, data: bytes,
           to_server: bool) -> bytes:
    tcp = dpkt.tcp.TCP(sport=sport, dport=dport, seq=seq & 0xFFFFFFFF, ack=ack & 0xFFFFFFFF, flags=flags,
                       win=65535, data=data)
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=dpkt.ip.IP_PROTO_TCP, ttl=64, data=tcp)
    ip.len = len(ip)  # dpkt fills the checksums when packing
    src_mac, dst_mac = (CLIENT_MAC, SERVER_MAC) if to_server else (SERVER_MAC, CLIENT_MAC)
    return bytes(dpkt.ethernet.Ethernet(src=src_mac, dst=dst_mac, type=dpkt.ethernet.ETH_TYPE_IP, data=ip))


def conversation(client: tuple[str, int], server: tuple[str, int],
                 segments: list[tuple[str, int, bytes]], start: float = 1_700_000_000.0) -> list[tuple[float, bytes]]:
    """A TCP connection: SYN, SYN-ACK, ACK, then each ``(direction, offset, data)`` in the order
    given, ``direction`` "c" (client to server) or "s", ``offset`` the byte offset in that
    direction's stream (so overlapping and out-of-order segments are just offsets), then FINs."""
    (ch, cp), (sh, sp) = client, server
    cseq, sseq = 1000, 5000
    out = [(start, _frame(ch, sh, cp, sp, cseq, 0, dpkt.tcp.TH_SYN, b"", True)),
           (start + 0.001, _frame(sh, ch, sp, cp, sseq, cseq + 1, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK, b"", False)),
           (start + 0.002, _frame(ch, sh, cp, sp, cseq + 1, sseq + 1, dpkt.tcp.TH_ACK, b"", True))]
    ends = {"c": 0, "s": 0}
    for i, (direction, offset, data) in enumerate(segments):
        ts = start + 0.01 * (i + 1)
        ends[direction] = max(ends[direction], offset + len(data))
        if direction == "c":
            out.append((ts, _frame(ch, sh, cp, sp, cseq + 1 + offset, sseq + 1 + ends["s"],
                                   dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, data, True)))
        else:
            out.append((ts, _frame(sh, ch, sp, cp, sseq + 1 + offset, cseq + 1 + ends["c"],
                                   dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, data, False)))
    ts = start + 0.01 * (len(segments) + 2)
    out.append((ts, _frame(ch, sh, cp, sp, cseq + 1 + ends["c"], sseq + 1 + ends["s"],
                           dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK, b"", True)))
    out.append((ts + 0.001, _frame(sh, ch, sp, cp, sseq + 1 + ends["s"], cseq + 2 + ends["c"],
                                   dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK, b"", False)))
    return out
