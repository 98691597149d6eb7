"""Web viewers, login-protected pages, HTTPS and old TLS versions, on real local servers."""

from __future__ import annotations

import socket
import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from radguard.db.session import Database
from tests.discovery.conftest import observations, probe
from tests.support.ports import free_port


class _Viewer(BaseHTTPRequestHandler):
    """A stand-in web viewer: an OHIF-like page at /, a Basic-auth API under /system."""

    def do_GET(self) -> None:
        if self.path == "/":
            body = b"<html><head><title>OHIF Viewer</title></head><body>viewer</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
        else:
            body = b"auth required"
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="viewer"')
        self.send_header("Server", "nginx/1.22.1")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


class _SinglePageApp(BaseHTTPRequestHandler):
    """A single-page viewer: every path is index.html, 200 text/html (as nginx try_files does)."""

    def do_GET(self) -> None:
        body = b"<!doctype html><html><head><title>Cloud Viewer</title></head><body><div id=app></div></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def _web(host: str, port: int, context: ssl.SSLContext | None = None,
         handler: type[BaseHTTPRequestHandler] = _Viewer) -> Iterator[None]:
    server = ThreadingHTTPServer((host, port), handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def _server_context(certificate: tuple[Path, Path], old_tls: bool = False) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*certificate)
    if old_tls:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    return ctx


def test_viewer_on_port_80_with_protected_api() -> None:
    host = "127.0.0.71"
    with _web(host, 80):
        [doc] = probe([(host, 80)])
    assert doc.service == "http" and doc.http is not None
    assert doc.http.status == 200 and doc.http.server == "nginx/1.22.1"
    assert doc.http.product == "OHIF Viewer"
    assert doc.http.auth_required is True  # /system answered 401


def test_https_on_443_is_described(certificate: tuple[Path, Path]) -> None:
    host = "127.0.0.72"
    with _web(host, 443, _server_context(certificate)):
        [doc] = probe([(host, 443)])
    assert doc.service == "https", doc.errors
    assert doc.tls is not None and doc.tls.version in ("TLSv1.2", "TLSv1.3")
    assert doc.tls.certificate is not None and doc.tls.certificate.self_signed is True
    assert doc.http is not None and doc.http.product == "OHIF Viewer"


def test_tls_1_0_server_is_described_not_refused(certificate: tuple[Path, Path]) -> None:
    host = "127.0.0.74"
    with _web(host, 8443, _server_context(certificate, old_tls=True)):
        [doc] = probe([(host, 8443)])
    assert doc.tls is not None, doc.errors
    assert doc.tls.version == "TLSv1"


def test_https_single_page_app_on_an_unhinted_port_is_not_anonymous_dicomweb(
        certificate: tuple[Path, Path], sqlite_db: Database) -> None:
    """HTTPS on a port no hint names is still tried as HTTPS; a viewer answering every path
    with 200 text/html is not DICOMweb (QIDO-RS counts only as DICOM JSON)."""
    host = "127.0.0.76"
    port = free_port(host)
    with _web(host, port, _server_context(certificate), _SinglePageApp):
        [doc] = probe([(host, port)], level=3, timeout=1.0)
    assert doc.service == "https", doc
    assert doc.tls is not None and doc.http is not None and doc.http.status == 200
    assert doc.http.dicomweb_anonymous is None and doc.http.auth_required is None
    assert "RG-WEB-NO-AUTH" not in observations([doc], sqlite_db)


@contextmanager
def _canned(host: str, port: int, answer: bytes) -> Iterator[None]:
    """A listener that answers whatever arrives first with ``answer`` and closes."""
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
                try:
                    conn.settimeout(2.0)
                    conn.recv(65536)
                    conn.sendall(answer)
                except OSError:
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(3)
        srv.close()


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 400 Bad Request\r\nServer: mini-httpd/1.30\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    b"<HTML><HEAD><TITLE>400 Bad Request</TITLE></HEAD><BODY>bad request</BODY></HTML>\n",  # no status line
])
def test_plain_http_on_a_dicom_port_is_http(answer: bytes) -> None:
    host = "127.0.0.77"
    port = free_port(host)
    with _canned(host, port, answer):
        [doc] = probe([(host, port)], timeout=1.0)
    assert doc.service == "http", doc
    assert doc.dicom is None and doc.http is not None


def test_python_http_server_on_a_dicom_port_is_http() -> None:
    """http.server answers the association request with a bare HTML error page."""
    host = "127.0.0.78"
    port = free_port(host)
    with _web(host, port):
        [doc] = probe([(host, port)], timeout=1.0)
    assert doc.service == "http" and doc.http is not None and doc.http.product == "OHIF Viewer", doc
