"""Real traffic captured on loopback for the passive tests: tcpdump, seeded DICOM, HL7 over MLLP.

:func:`tcpdump` starts Debian's tcpdump on ``lo`` writing a pcap file, waits until it listens,
and stops it by PID (SIGINT, so it flushes the file). The traffic is made by real tools:
DCMTK's storescu/findscu (absolute paths) against Orthanc, and the ``hl7`` package's MLLP
client against :func:`mllp_listener`.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pydicom import examples

from tests.support.ports import free_port

TCPDUMP = "/usr/bin/tcpdump"
STORESCU = "/usr/bin/storescu"
FINDSCU = "/usr/bin/findscu"

# Invented identifiers that must never leave the capture.
SEED_NAME = "ZZTEST^SEEDED"
SEED_ID = "SEED-12345"
SEED_BIRTH = "19010203"
NEEDLES = ("ZZTEST", "SEEDED", SEED_ID, SEED_BIRTH, "1901-02-03")


@contextmanager
def tcpdump(path: Path, ports: list[int], interface: str = "lo") -> Iterator[Path]:
    """Capture full packets on ``ports`` (TCP) into ``path`` while the block runs."""
    expr = " or ".join(f"tcp port {p}" for p in ports)
    err = path.with_suffix(".tcpdump.log")
    with open(err, "wb") as log:
        # --immediate-mode: without it packets wait in the kernel ring until a block fills,
        # and stopping tcpdump right after the traffic writes an empty file.
        cmd = [TCPDUMP, "-i", interface, "--immediate-mode", "-U", "-s", "0", "-w", str(path), expr]
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.monotonic() + 20
            while b"listening on" not in err.read_bytes():
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"tcpdump did not start: {err.read_text(errors='replace')}")
                time.sleep(0.05)
            yield path
            time.sleep(0.5)  # the last ACKs reach the capture (immediate mode: no buffer timeout)
        finally:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGINT)
                try:
                    process.wait(10)
                except subprocess.TimeoutExpired:
                    os.kill(process.pid, signal.SIGKILL)
                    process.wait(5)


def seeded_dicom(path: Path) -> Path:
    """A CT image carrying the seeded synthetic patient (pydicom's example CT, relabelled)."""
    ds = examples.ct.copy()
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = SEED_NAME, SEED_ID, SEED_BIRTH
    ds.save_as(path, enforce_file_format=True)
    return path


def storescu(host: str, port: int, called: str, calling: str, file: Path) -> None:
    subprocess.run([STORESCU, "-aet", calling, "-aec", called, host, str(port), str(file)],
                   check=True, capture_output=True, timeout=60, env={**os.environ, "TCP_NODELAY": "1"})


def findscu(host: str, port: int, called: str, calling: str) -> None:
    """A patient-root C-FIND whose keys carry the seeded name and ID."""
    subprocess.run([FINDSCU, "-P", "-aet", calling, "-aec", called, "-k", "QueryRetrieveLevel=PATIENT",
                    "-k", f"PatientName={SEED_NAME}", "-k", f"PatientID={SEED_ID}", host, str(port)],
                   check=True, capture_output=True, timeout=60, env={**os.environ, "TCP_NODELAY": "1"})


def seeded_adt() -> str:
    """An HL7 v2.5 ADT^A01 whose PID segment carries the seeded patient."""
    return "\r".join([
        "MSH|^~\\&|RGRIS|RGHOSP|RGPACS|RGIMG|20240101120000||ADT^A01|MSG0001|P|2.5",
        "EVN|A01|20240101120000",
        f"PID|1||{SEED_ID}^^^RGHOSP^MR||ZZTEST^SEEDED||{SEED_BIRTH}|F",
        "PV1|1|O",
    ]) + "\r"


@contextmanager
def _serving(host: str, port: int, serve: Callable[[socket.socket], None]) -> Iterator[None]:
    """Listen on ``host:port`` and hand each accepted connection to ``serve`` in its own thread
    (which closes it), until the block ends."""
    srv = socket.socket(socket.AF_INET)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(8)
    srv.settimeout(0.1)
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(2)
        srv.close()


@dataclass
class MllpListener:
    host: str
    port: int
    messages: list[bytes] = field(default_factory=list)


@contextmanager
def mllp_listener(host: str = "127.0.0.1") -> Iterator[MllpListener]:
    """An MLLP receiver on a free port: reads each framed message and answers with an ACK."""
    listener = MllpListener(host, free_port(host))

    def serve(conn: socket.socket) -> None:
        buffer = b""
        with conn:
            conn.settimeout(2.0)
            try:
                while data := conn.recv(4096):
                    buffer += data
                    while b"\x1c\r" in buffer:
                        message, buffer = buffer.split(b"\x1c\r", 1)
                        listener.messages.append(message.lstrip(b"\x0b"))
                        ack = ("MSH|^~\\&|RGPACS|RGIMG|RGRIS|RGHOSP|20240101120001||ACK^A01|ACK0001|P|2.5\r"
                               "MSA|AA|MSG0001\r")
                        conn.sendall(b"\x0b" + ack.encode() + b"\x1c\r")
            except OSError:
                pass

    with _serving(host, listener.port, serve):
        yield listener


def send_hl7(host: str, port: int, message: str) -> str:
    """Send one message with the ``hl7`` package's MLLP client; return the ACK."""
    from hl7.client import MLLPClient

    with MLLPClient(host, port) as client:
        return str(client.send_message(message))


@contextmanager
def tcp_service(host: str) -> Iterator[int]:
    """A TCP server on a free port of ``host`` that answers each connection's first bytes with
    ``ok`` and closes: a stand-in for any service (SMB, a web console…) whose flow is what counts."""
    port = free_port(host)

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5.0)
            try:
                if conn.recv(4096):
                    conn.sendall(b"ok")
            except OSError:
                pass

    with _serving(host, port, serve):
        yield port


def tcp_exchange(source: str, host: str, port: int) -> None:
    """One real TCP conversation from the address ``source`` (a 127/8 address, so any is local):
    connect, send a line, wait for the answer and for the server to close."""
    with socket.socket(socket.AF_INET) as client:
        client.settimeout(10.0)
        client.bind((source, 0))
        client.connect((host, port))
        client.sendall(b"hello\n")
        answer = b""
        while data := client.recv(64):
            answer += data
        assert answer == b"ok", answer
