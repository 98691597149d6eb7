"""TLS ports described as ssl-enum-ciphers would: every version and weak cipher class accepted,
the key size, and whether a client certificate is required — on real TLS servers (Python's
ssl, and stunnel4 in front of DCMTK storescp)."""

from __future__ import annotations

import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from radguard.db.session import Database
from radguard.discovery.engine import PortHints
from radguard.discovery.tls_scan import MAX_CONNECTIONS
from tests.discovery.conftest import observations, probe
from tests.support.peers import storescp, stunnel
from tests.support.ports import free_port

HTTP_OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


@dataclass
class Counter:
    connections: int = 0


@contextmanager
def _tls_server(host: str, port: int, context: ssl.SSLContext, answer: bytes | None = None) -> Iterator[Counter]:
    """A TLS server on ``host:port``: handshakes with ``context``, answers the first bytes of a
    session with ``answer`` (or only reads), and counts TCP connections."""
    counter = Counter()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, port))
    srv.listen(32)
    srv.settimeout(0.1)
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        try:
            conn.settimeout(3.0)
            with context.wrap_socket(conn, server_side=True) as tls:
                if tls.recv(65536) and answer:
                    tls.sendall(answer)
        except (OSError, ValueError):
            pass
        finally:
            conn.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            counter.connections += 1
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield counter
    finally:
        stop.set()
        thread.join(3)
        srv.close()


def _context(certificate: tuple[Path, Path], *, minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
             maximum: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED, ciphers: str | None = None,
             client_certificate: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*certificate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version, ctx.maximum_version = minimum, maximum
    if ciphers:
        ctx.set_ciphers(ciphers)
    if client_certificate:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(certificate[0])
    return ctx


@pytest.mark.parametrize("maximum", [ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2])
def test_dicom_tls_requiring_a_client_certificate_is_reported_every_time(
        maximum: ssl.TLSVersion, certificate: tuple[Path, Path]) -> None:
    """The TLS 1.3 alert arrives just after the handshake; it used to race radguard's read
    ("handshake not done yet" in 7 runs of 10). Ten runs, ten identical reports."""
    host = "127.0.0.91"
    port = free_port(host)
    hints = PortHints(tls=frozenset({port}))
    with _tls_server(host, port, _context(certificate, maximum=maximum, client_certificate=True)):
        docs = [probe([(host, port)], timeout=1.0, port_hints=hints)[0] for _ in range(10)]
    for doc in docs:
        assert doc.service == "dicom-tls" and doc.errors == [], doc
        assert doc.tls is not None and doc.tls.client_certificate == "required"
        assert doc.tls.certificate is not None and doc.tls.certificate.subject == "CN=rg-dicom-tls"
        assert doc.dicom is None  # no association was possible: no AE policy is inferred


def test_client_certificate_required_is_credited(certificate: tuple[Path, Path], sqlite_db: Database) -> None:
    """stunnel (verify = 2) in front of DCMTK storescp, next to the same storescp in clear: the
    host has DICOM TLS that only trusted peers can use, so RG-DICOM-NO-TLS does not flag it,
    and the TLS port yields no access-control finding."""
    with storescp() as plain, stunnel(plain.dicom_port, certificate, verify=2) as wrapped:
        port = wrapped.dicom_port
        docs = probe([(plain.host, plain.dicom_port), (wrapped.host, port)], timeout=2.0,
                     port_hints=PortHints(tls=frozenset({port})))
    clear, tls = docs
    assert clear.service == "dicom" and clear.dicom is not None and clear.dicom.accepts_unknown_calling_ae
    assert tls.service == "dicom-tls" and tls.tls is not None, tls
    assert tls.tls.client_certificate == "required" and tls.dicom is None
    found = observations(docs, sqlite_db)
    assert "RG-DICOM-NO-TLS" not in found, found
    assert found.get("RG-DICOM-ANY-CALLING-AE") == [f"{plain.host}:{plain.dicom_port}"]


def test_every_accepted_version_is_listed(certificate: tuple[Path, Path], sqlite_db: Database) -> None:
    """A server accepting TLS 1.0 to 1.3 negotiates 1.3 with a modern client; the old versions
    it also accepts are what RG-TLS-WEAK must report."""
    host = "127.0.0.92"
    port = free_port(host)
    ctx = _context(certificate, minimum=ssl.TLSVersion.TLSv1, ciphers="ALL:@SECLEVEL=0")
    with _tls_server(host, port, ctx, HTTP_OK):
        [doc] = probe([(host, port)], timeout=1.0, port_hints=PortHints(tls=frozenset({port}),
                                                                         https_first=frozenset({port})))
    assert doc.service == "https" and doc.tls is not None, doc
    assert doc.tls.version == "TLSv1.3" and doc.tls.versions == ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
    assert doc.tls.weak_cipher_classes == [] and doc.tls.client_certificate == "not requested"
    cert = doc.tls.certificate
    assert cert is not None and (cert.key_type, cert.key_bits) == ("RSA", 2048)
    found = observations([doc], sqlite_db)
    assert found.get("RG-TLS-WEAK") == [f"{host}:{port}"]


def test_tls_1_2_only_server_lists_only_it(certificate: tuple[Path, Path]) -> None:
    host = "127.0.0.93"
    port = free_port(host)
    with _tls_server(host, port, _context(certificate, maximum=ssl.TLSVersion.TLSv1_2), HTTP_OK):
        [doc] = probe([(host, port)], timeout=1.0, port_hints=PortHints(tls=frozenset({port}),
                                                                         https_first=frozenset({port})))
    assert doc.tls is not None and doc.tls.versions == ["TLSv1.2"] and doc.tls.version == "TLSv1.2"


def test_null_cipher_only_server_is_described(certificate: tuple[Path, Path], sqlite_db: Database) -> None:
    """The weakest server of all (no encryption) must not look like a failed handshake."""
    host = "127.0.0.94"
    port = free_port(host)
    ctx = _context(certificate, maximum=ssl.TLSVersion.TLSv1_2, ciphers="eNULL:@SECLEVEL=0")
    with _tls_server(host, port, ctx, HTTP_OK):
        [doc] = probe([(host, port)], timeout=1.0, port_hints=PortHints(tls=frozenset({port}),
                                                                         https_first=frozenset({port})))
    assert doc.tls is not None, doc.errors
    assert doc.tls.weak_cipher_classes == ["NULL"] and doc.tls.weak_ciphers, doc.tls
    assert "TLSv1.2" in (doc.tls.versions or [])
    from radguard.checks.evaluators.network import tls_weaknesses
    from radguard.db.base import utcnow

    assert any("NULL (no encryption)" in r for r in tls_weaknesses(doc.tls.model_dump(), utcnow()))
    assert "RG-TLS-WEAK" in observations([doc], sqlite_db)


def test_tls_enumeration_stays_within_its_ceiling(certificate: tuple[Path, Path]) -> None:
    """docs/safety.md: at most MAX_CONNECTIONS handshakes per TLS port, plus the web probe."""
    host = "127.0.0.95"
    port = free_port(host)
    ctx = _context(certificate, minimum=ssl.TLSVersion.TLSv1, ciphers="ALL:@SECLEVEL=0")
    with _tls_server(host, port, ctx, HTTP_OK) as counter:
        [doc] = probe([(host, port)], timeout=1.0, port_hints=PortHints(tls=frozenset({port}),
                                                                         https_first=frozenset({port})))
    assert doc.service == "https"
    assert MAX_CONNECTIONS == 7
    # the first TCP connection (nothing sent) + the enumeration + at most 3 GETs at level 2
    assert counter.connections <= 1 + MAX_CONNECTIONS + 3, counter.connections
