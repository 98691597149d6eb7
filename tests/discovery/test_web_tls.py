"""Web viewers, login-protected pages, HTTPS and old TLS versions, on real local servers."""

from __future__ import annotations

import ssl
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.discovery.conftest import probe


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


@contextmanager
def _web(host: str, port: int, context: ssl.SSLContext | None = None) -> Iterator[None]:
    server = ThreadingHTTPServer((host, port), _Viewer)
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
