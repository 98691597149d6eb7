"""What a port not known as DICOM receives, and the connect-only legacy ports (SMB, Telnet, FTP,
VNC, RDP) that every default scan now includes."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest

from radguard.checks.registry import CheckContext, load_evaluators
from radguard.db.models.inventory import Asset, Endpoint, Site
from radguard.db.session import Database
from radguard.discovery.engine import BANNER_WAIT
from radguard.discovery.run import DiscoveryRequest, execute, plan
from radguard.discovery.targets import DEFAULT_PORTS, LEGACY_SERVICES
from tests.discovery.conftest import probe
from tests.support.ports import free_port


@dataclass
class Seen:
    """What one listener saw: when each connection came and when its first byte arrived."""

    connected: list[float] = field(default_factory=list)
    first_byte: list[float] = field(default_factory=list)
    received: bytearray = field(default_factory=bytearray)


@contextmanager
def _peer(host: str, port: int, *, banner: bytes | None = None, reply: bytes | None = None) -> Iterator[Seen]:
    """A listener that may greet first (``banner``) and may answer the first bytes (``reply``)."""
    seen = Seen()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(16)
    srv.settimeout(0.1)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                if banner:
                    conn.sendall(banner)
                conn.settimeout(3.0)
                while data := conn.recv(65536):
                    if not seen.received:
                        seen.first_byte.append(time.monotonic())
                    seen.received += data
                    if reply:
                        conn.sendall(reply)
            except OSError:
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            seen.connected.append(time.monotonic())
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield seen
    finally:
        stop.set()
        thread.join(3)
        srv.close()


# An interface engine answering whatever it took for a message with an MLLP-framed NAK.
HL7_NAK = (b"\x0bMSH|^~\\&|ENGINE|HOSP|RG|RG|20261203||ACK|1|P|2.5\rMSA|AR|1|unparseable message\r\x1c\r")


def test_a_service_that_talks_first_gets_no_dicom_bytes() -> None:
    host = "127.0.0.82"
    port = free_port(host)
    with _peer(host, port, banner=b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n") as seen:
        [doc] = probe([(host, port)], level=2, timeout=2.0)
    assert seen.received == b"", "a peer that spoke first must not be sent DICOM bytes"
    assert doc.service == "unknown" and doc.dicom is None
    assert doc.banner == "SSH-2.0-OpenSSH_9.2p1 Debian-2"


def test_unknown_port_waits_for_a_banner_before_the_association_request() -> None:
    """An HL7 engine on a port no one declared: it is given time to speak first, then gets the
    one association request, and its HL7 answer is reported as HL7 — not DICOM, not unknown."""
    host = "127.0.0.83"
    port = free_port(host)
    with _peer(host, port, reply=HL7_NAK) as seen:
        [doc] = probe([(host, port)], level=2, timeout=2.0)
    assert len(seen.connected) == 1 and seen.first_byte
    assert seen.first_byte[0] - seen.connected[0] >= BANNER_WAIT - 0.1  # the banner read came first
    assert doc.service == "hl7-mllp" and doc.dicom is None
    assert any("--hl7-ports" in e for e in doc.errors), doc.errors


def test_known_dicom_port_is_not_kept_waiting() -> None:
    """104, 11112, 4242, 2761: the association request goes out at once."""
    host = "127.0.0.84"
    with _peer(host, 11112) as seen:
        probe([(host, 11112)], level=2, timeout=1.0)
    assert seen.first_byte and seen.first_byte[0] - seen.connected[0] < BANNER_WAIT / 2


def test_default_ports_include_the_legacy_services() -> None:
    assert set(LEGACY_SERVICES) == {21, 23, 445, 3389, 5900} and set(LEGACY_SERVICES) <= set(DEFAULT_PORTS)


@pytest.mark.parametrize("level", [1, 2])
def test_legacy_ports_connect_only_and_flagged_on_a_modality(level: int, sqlite_db: Database) -> None:
    """A default scan of a modality's address connects to SMB/Telnet/FTP/VNC/RDP, sends them
    nothing at any level, and the checks flag what is open (RDP with RG-RDP-EXPOSED)."""
    host = f"127.0.0.{85 + level}"
    with sqlite_db.transaction() as session:
        site = Site(code="RAD", name="Radiology")
        session.add(Asset(site=site, name="CT-1", asset_class="modality",
                          endpoints=[Endpoint(host=host, port=104, protocol="dicom")]))
    with _peer(host, 445) as smb, _peer(host, 23, banner=b"\xff\xfd\x18\xff\xfd\x20") as telnet, \
            _peer(host, 3389) as rdp:
        request = DiscoveryRequest(targets=[host], level=level)
        request.options.timeout = 1.0
        result = execute(sqlite_db, plan(sqlite_db, request))
    by_port = {e["port"]: e for e in result["endpoints"]}
    assert set(LEGACY_SERVICES) <= set(by_port)
    assert {p for p, e in by_port.items() if e["state"] == "open"} == {445, 23, 3389}
    for seen in (smb, telnet, rdp):
        assert len(seen.connected) == 1 and seen.received == b"", "legacy ports are connect-only"
    assert by_port[23]["banner"] == ("(Telnet option negotiation)" if level >= 2 else None)
    with sqlite_db.read() as session:
        ctx = CheckContext(session)
        evaluators = load_evaluators()
        legacy = list(evaluators["RG-LEGACY-SERVICE-OPEN"](ctx))
        rdp_found = list(evaluators["RG-RDP-EXPOSED"](ctx))
    assert [o.evidence for o in legacy] == [{"legacy_services": [f"SMB {host}:445", f"Telnet {host}:23"]}]
    assert [o.evidence for o in rdp_found] == [{"rdp": [f"{host}:3389"]}]
