"""Real flow records for the flow-log tests: loopback traffic captured by tcpdump, exported by
Debian's softflowd (NetFlow v5/v9, IPFIX) to a real nfcapd that the test starts and stops by PID.

softflowd reading a file (``-r``) keeps running after the last packet until told to stop on its
control socket; the helper waits until it has counted every packet of the capture, then sends
``shutdown``, which exports the remaining flows. ``-A milli`` makes v9/IPFIX carry absolute
times: without it softflowd computes them from the wall clock, not the capture's.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.capture import TCPDUMP

SOFTFLOWD = "/usr/sbin/softflowd"
SOFTFLOWCTL = "/usr/sbin/softflowctl"
NFCAPD = "/usr/bin/nfcapd"


@dataclass(frozen=True)
class Conversation:
    """One TCP connection: ``sent`` bytes client → server, ``reply`` bytes back."""

    client: str
    server: str
    port: int
    sent: int
    reply: int


def capture_conversations(path: Path, conversations: list[Conversation]) -> Path:
    """Run each conversation over loopback (real sockets) while tcpdump writes ``path``."""
    hosts = sorted({c.client for c in conversations} | {c.server for c in conversations})
    expr = " or ".join(f"host {h}" for h in hosts)
    log = path.with_suffix(".tcpdump.log")
    with open(log, "wb") as err:
        proc = subprocess.Popen([TCPDUMP, "-i", "lo", "--immediate-mode", "-U", "-s", "0", "-w", str(path), expr],
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 20
        while b"listening on" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"tcpdump did not start: {log.read_text(errors='replace')}")
            time.sleep(0.05)
        for conv in conversations:
            _talk(conv)
        time.sleep(0.5)
    finally:
        os.kill(proc.pid, signal.SIGINT)
        proc.wait(10)
    return path


def _talk(conv: Conversation) -> None:
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((conv.server, conv.port))
    srv.listen(1)

    def serve() -> None:
        conn, _ = srv.accept()
        with conn:
            got = 0
            while got < conv.sent:
                data = conn.recv(65536)
                if not data:
                    break
                got += len(data)
            conn.sendall(b"r" * conv.reply)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    with socket.socket() as cli:
        cli.bind((conv.client, 0))
        cli.connect((conv.server, conv.port))
        cli.sendall(b"s" * conv.sent)
        got = 0
        while got < conv.reply:
            data = cli.recv(65536)
            if not data:
                break
            got += len(data)
    thread.join(5)
    srv.close()


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def nfcapd(directory: Path) -> Iterator[int]:
    """A real nfcapd collecting into ``directory``; yields its UDP port. Stopped by PID (SIGTERM
    makes it write the current file)."""
    directory.mkdir(parents=True, exist_ok=True)
    port = _free_udp_port()
    log = directory.parent / f"nfcapd-{port}.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([NFCAPD, "-w", str(directory), "-p", str(port), "-b", "127.0.0.1"],
                                stdout=err, stderr=err)
    try:
        deadline = time.monotonic() + 10
        while b"Startup" not in log.read_bytes() and b"Init IPFIX" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        time.sleep(0.2)
        yield port
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(10)


def packet_count(pcap: Path) -> int:
    out = subprocess.run([TCPDUMP, "-r", str(pcap), "-n", "-q"], capture_output=True, text=True, check=True)
    return len([ln for ln in out.stdout.splitlines() if ln.strip()])


def export(pcap: Path, port: int, version: int, work: Path) -> None:
    """softflowd reads ``pcap`` and exports its flows as NetFlow ``version`` (10 = IPFIX) to nfcapd."""
    ctl, pid = work / f"sf{version}-{port}.ctl", work / f"sf{version}-{port}.pid"
    expected = packet_count(pcap)
    cmd = [SOFTFLOWD, "-r", str(pcap), "-n", f"127.0.0.1:{port}", "-v", str(version), "-A", "milli", "-d",
           "-p", str(pid), "-c", str(ctl)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            if ctl.exists():
                stats = subprocess.run([SOFTFLOWCTL, "-c", str(ctl), "statistics"], capture_output=True, text=True)
                found = re.search(r"Packets processed: (\d+)", stats.stdout)
                if found and int(found.group(1)) >= expected:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"softflowd did not read {pcap.name}")
            time.sleep(0.05)
        subprocess.run([SOFTFLOWCTL, "-c", str(ctl), "shutdown"], capture_output=True)  # it exits before answering
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(5)
    time.sleep(0.2)  # nfcapd receives the last datagram
