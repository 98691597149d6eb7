"""Hostile peers cannot hang or crash a scan; TLS, web and HL7 services are told apart."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from radguard.db.session import Database
from radguard.discovery.engine import HL7_PORTS, PortHints, ScanOptions
from radguard.discovery.run import DiscoveryRequest, execute, plan
from tests.discovery.conftest import observations, probe
from tests.support.peers import Peer, hostile_peer, pynetdicom_scp, storescp
from tests.support.ports import free_port


def test_garbage_answer_is_reported_not_dicom() -> None:
    with hostile_peer("garbage") as peer:
        [doc] = probe([(peer.host, peer.dicom_port)])
    assert doc.state == "open" and doc.service == "unknown" and doc.dicom is None
    assert any("not DICOM" in e for e in doc.errors)


def test_pdu_announcing_4_gb_is_refused_unread(sqlite_db: Database) -> None:
    """A malformed answer is not evidence of a DICOM service, and produces no DICOM finding."""
    with hostile_peer("huge-pdu") as peer:
        [doc] = probe([(peer.host, peer.dicom_port)])
    assert doc.state == "open" and doc.service == "unknown" and doc.dicom is None
    assert any("4294967295 bytes" in e and "not counted as DICOM" in e for e in doc.errors), doc.errors
    found = observations([doc], sqlite_db)
    assert not [check for check in found if check.startswith("RG-DICOM")], found


def test_silent_peer_times_out_once() -> None:
    with hostile_peer("silent") as peer:
        [doc] = probe([(peer.host, peer.dicom_port)], timeout=0.5, called_ae="X", calling_ae="Y")
    assert doc.state == "open" and doc.service == "unknown"
    assert doc.errors == ["DICOM association: no answer within 0.5s"]


def test_reset_mid_association() -> None:
    with hostile_peer("reset") as peer:
        [doc] = probe([(peer.host, peer.dicom_port)])
    assert doc.dicom is not None and doc.dicom.echo is None
    assert any("ConnectionResetError" in e for e in doc.errors)


def test_closed_port_and_many_hostiles_in_one_scan() -> None:
    closed = free_port()
    with hostile_peer("garbage") as g, hostile_peer("silent") as s, storescp() as good:
        docs = probe([(g.host, g.dicom_port), (s.host, s.dicom_port), ("127.0.0.1", closed),
                      (good.host, good.dicom_port)], timeout=0.5)
    assert [d.state for d in docs] == ["open", "open", "closed", "open"]
    assert docs[3].dicom is not None and docs[3].dicom.echo is True  # the good peer is unaffected


def test_dicom_tls_described(orthanc_tls: Peer) -> None:
    [doc] = probe([(orthanc_tls.host, orthanc_tls.dicom_port)])
    assert doc.service == "dicom-tls", doc.errors
    assert doc.tls is not None and doc.tls.version in ("TLSv1.2", "TLSv1.3")
    assert doc.tls.cipher
    assert doc.tls.certificate is not None and doc.tls.certificate.self_signed is True
    assert doc.tls.certificate.subject == "CN=rg-dicom-tls" and doc.tls.certificate.not_after
    assert doc.dicom is not None and doc.dicom.echo is True and doc.dicom.accepts_unknown_calling_ae is True


def test_storescp_tls(certificate) -> None:  # type: ignore[no-untyped-def]
    with storescp(tls_cert=certificate) as peer:
        [doc] = probe([(peer.host, peer.dicom_port)])
    assert doc.service == "dicom-tls" and doc.dicom is not None and doc.dicom.product == "DCMTK"


def test_rest_auth_required_and_anonymous_dicomweb_refused(orthanc_locked: Peer) -> None:
    assert orthanc_locked.http_port
    [doc] = probe([(orthanc_locked.host, orthanc_locked.http_port)], level=3)
    assert doc.service == "http" and doc.http is not None
    assert doc.http.status == 401 and doc.http.auth_required is True
    assert doc.http.product == "Orthanc"
    assert doc.http.dicomweb_anonymous is False


def test_rest_without_auth_and_anonymous_dicomweb(orthanc_open: Peer) -> None:
    assert orthanc_open.http_port
    [doc] = probe([(orthanc_open.host, orthanc_open.http_port)], level=3)
    assert doc.service == "dicomweb" and doc.http is not None
    assert doc.http.auth_required is False and doc.http.dicomweb_anonymous is True


@contextmanager
def _listener(host: str, port: int, banner: bytes | None) -> Iterator[list[bytes]]:
    """A TCP listener recording every byte it receives (to prove nothing is sent to HL7)."""
    received: list[bytes] = []
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(8)
    srv.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            with conn:
                if banner:
                    conn.sendall(banner)
                conn.settimeout(1.5)
                try:
                    while data := conn.recv(4096):
                        received.append(data)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield received
    finally:
        stop.set()
        thread.join(3)
        srv.close()


def test_default_port_hints_are_the_usual_assignments() -> None:
    hints = ScanOptions().port_hints
    assert hints == PortHints() and hints.hl7 == HL7_PORTS == frozenset({2575})
    assert {80, 8042} <= hints.http and {443, 2762} <= hints.tls and 2762 not in hints.https_first


@pytest.mark.parametrize("level", [1, 2, 3])
def test_hl7_port_is_connect_only(level: int) -> None:
    # A free port declared as HL7 (the hint stands in for 2575, the MLLP convention).
    host = "127.0.0.57"
    port = free_port(host)
    with _listener(host, port, None) as received:
        [doc] = probe([(host, port)], level=level, timeout=1.0, port_hints=PortHints(hl7=frozenset({port})))
    assert doc.state == "open" and doc.service == "hl7-mllp"
    assert received == [], "radguard must never send anything to an HL7 listener"


def test_hl7_port_with_banner_is_not_mllp() -> None:
    host = "127.0.0.58"
    port = free_port(host)
    with _listener(host, port, b"SSH-2.0-OpenSSH_9.2\r\n") as received:
        [doc] = probe([(host, port)], timeout=1.0, port_hints=PortHints(hl7=frozenset({port})))
    assert doc.service == "unknown" and received == []


def test_port_hints_through_the_discovery_request(sqlite_db: Database) -> None:
    """The same port is DICOM-probed by default and only connected to once declared HL7."""
    host = "127.0.0.59"
    port = free_port(host)
    for hints, service, sent_bytes in ((None, "unknown", True), (PortHints(hl7=frozenset({port})), "hl7-mllp", False)):
        with _listener(host, port, None) as received:
            request = DiscoveryRequest(targets=[f"{host}:{port}"])
            if hints is not None:
                request.options.port_hints = hints
            request.options.timeout = 1.0
            doc = execute(sqlite_db, plan(sqlite_db, request))
        assert doc["endpoints"][0]["service"] == service
        assert bool(received) is sent_bytes


def test_plain_dicom_on_the_dicom_tls_port() -> None:
    port = free_port("127.0.0.75")
    with pynetdicom_scp(required_calling=(), host="127.0.0.75", port=port) as peer:
        [doc] = probe([(peer.host, port)], port_hints=PortHints(tls=frozenset({port})))
    assert doc.service == "dicom" and doc.tls is None  # what RG-DICOM-NO-TLS looks for
    assert doc.dicom is not None and doc.dicom.echo is True
    assert any("TLS handshake" in e for e in doc.errors)


def test_port_hints_assign_moves_ports_and_refuses_double_naming() -> None:
    hints = PortHints().assign(hl7=[8080, 6661], https=[9443], dicom_tls=[11112])
    assert {8080, 6661} <= hints.hl7 and 8080 not in hints.http  # the site's word beats the default
    assert {9443, 11112} <= hints.tls and 9443 in hints.https_first and 11112 not in hints.https_first
    assert PortHints().assign() == PortHints()
    with pytest.raises(ValueError, match="port 8042 is named for both hl7 and http"):
        PortHints().assign(hl7=[8042], http=[8042])


def test_discover_cli_hl7_ports_option(rg, sqlite_db: Database) -> None:  # type: ignore[no-untyped-def]
    """--hl7-ports turns a port that would get a DICOM association into a connect-only one."""
    host = "127.0.0.66"
    port = free_port(host)
    with _listener(host, port, None) as received:
        r = rg("--db", sqlite_db.url, "discover", host, "--ports", "1", "--hl7-ports", str(port),
               "--timeout", "1", "--json")
    assert r.code == 0, r.err
    [endpoint] = [e for e in json.loads(r.out)["endpoints"] if e["port"] == port]
    assert endpoint["service"] == "hl7-mllp" and received == []
    r = rg("--db", sqlite_db.url, "discover", host, "--hl7-ports", str(port), "--http-ports", str(port))
    assert r.code != 0 and "--hl7-ports" not in r.err and f"port {port} is named for both" in r.err
    r = rg("--db", sqlite_db.url, "discover", host, "--https-ports", "99999")
    assert r.code != 0 and "--https-ports" in r.err
