"""A simulated imaging network on loopback addresses, for the demo and for tests.

Each node listens on its own 127.x.y.z address, so one machine looks like a hospital network:
modalities, a PACS, a VNA, an AI router and a teleradiology gateway speaking DICOM (some over
TLS), DICOMweb/REST endpoints with and without authentication, and an HL7 MLLP listener.
Every node has a realistic fingerprint (implementation class UID and version name of the
toolkit or vendor) and a deliberate mix of weaknesses.

The nodes run in one child process (``python -m radguard.demo.network``) so that the scanner
has a core of its own. The child reads its node list as one JSON line on stdin, answers with
one JSON line describing what it started, and stops as soon as its stdin closes — which also
happens when the parent dies, so no process is ever left behind.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from radguard.errors import RadguardError

LOOPBACK = "127."


@dataclass
class NodeSpec:
    """One simulated endpoint. ``kind`` is ``dicom``, ``http`` or ``hl7``."""

    name: str
    host: str
    port: int
    kind: str = "dicom"
    ae_title: str = "ANY-SCP"
    implementation_class_uid: str = "1.2.826.0.1.3680043.9.3811.3.0.4"
    implementation_version_name: str = "PYNETDICOM_304"
    accept_any_calling_ae: bool = True
    known_calling_aes: list[str] = field(default_factory=lambda: ["RADGUARD", "NWPACS"])
    check_called_ae: bool = False
    find: str = "none"  # "anonymous": answers C-FIND from anyone; "known": only known AEs; "none"
    tls: bool = False
    self_signed: bool = False  # TLS only: a self-signed certificate instead of one from the demo CA
    # dicomweb-open, dicomweb-auth, orthanc-open, orthanc-auth, viewer, portal, portal-auth
    http_mode: str = "dicomweb-open"
    http_version: str = "1.10.1"
    http_server: str = "nginx/1.22.1"  # the Server header (Orthanc modes always say "Orthanc")
    title: str = ""  # page title of "/" (default: "<name> imaging portal")


@dataclass
class NodeStatus:
    name: str
    host: str
    port: int
    kind: str
    ok: bool
    error: str | None = None


class NetworkError(RadguardError):
    """The simulated network could not start (e.g. a loopback port is taken)."""


# --------------------------------------------------------------------------------- child side


class _Certificates:
    """Keys and certificates for the TLS nodes, written to the child's temporary directory.

    Most nodes get a certificate from a demo issuing CA, as a hospital's internal PKI would
    give them; a node with ``self_signed`` presents a certificate it signed itself (a
    weakness RG-TLS-WEAK reports). EC keys keep generation to milliseconds.
    """

    def __init__(self, tmp: Path) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        self.tmp = tmp
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.ca_name = self._name("Northwind Health Issuing CA (demo)")
        self.ca_cert = self._build(self.ca_name, self.ca_name, self.ca_key.public_key(), self.ca_key, ca=True)

    @staticmethod
    def _name(common_name: str) -> Any:
        from cryptography import x509
        from cryptography.x509.oid import NameOID

        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Northwind Health (demo)")])

    @staticmethod
    def _build(subject: Any, issuer: Any, public_key: Any, signer: Any, *, ca: bool) -> Any:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes

        now = datetime.now(UTC)
        return (
            x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(signer, hashes.SHA256())
        )

    def for_node(self, spec: NodeSpec) -> ssl.SSLContext:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        subject = self._name(f"{spec.name.lower()}.northwind.demo")
        if spec.self_signed:
            cert = self._build(subject, subject, key.public_key(), key, ca=False)
            chain = [cert]
        else:
            cert = self._build(subject, self.ca_name, key.public_key(), self.ca_key, ca=False)
            chain = [cert, self.ca_cert]
        stem = f"{spec.host}-{spec.port}"
        cert_path, key_path = self.tmp / f"{stem}.crt", self.tmp / f"{stem}.key"
        cert_path.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(str(cert_path), str(key_path))
        return ctx


def _start_dicom(spec: NodeSpec, certs: _Certificates) -> Any:
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid
    from pynetdicom import AE, evt
    from pynetdicom.sop_class import (  # type: ignore[attr-defined]  # generated at import time
        StudyRootQueryRetrieveInformationModelFind,
        Verification,
    )

    ae = AE(ae_title=spec.ae_title)
    ae.implementation_class_uid = spec.implementation_class_uid
    ae.implementation_version_name = spec.implementation_version_name
    ae.require_called_aet = spec.check_called_ae
    if not spec.accept_any_calling_ae:
        ae.require_calling_aet = list(spec.known_calling_aes)
    ae.add_supported_context(Verification)
    handlers: list[Any] = []
    if spec.find != "none":
        ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind)

        def on_find(event: Any) -> Iterator[tuple[int, Any]]:
            caller = event.assoc.requestor.ae_title.strip()
            if spec.find == "known" and caller not in spec.known_calling_aes:
                yield 0xA700, None  # refused
                return
            for _ in range(3):  # synthetic studies; no patient attributes at all
                if event.is_cancelled:
                    yield 0xFE00, None
                    return
                ds = Dataset()
                ds.QueryRetrieveLevel = "STUDY"
                ds.StudyInstanceUID = generate_uid()
                yield 0xFF00, ds
            yield 0x0000, None

        handlers.append((evt.EVT_C_FIND, on_find))
    ctx = certs.for_node(spec) if spec.tls else None
    return ae.start_server((spec.host, spec.port), block=False, ssl_context=ctx, evt_handlers=handlers)


QIDO_MODES = frozenset({"dicomweb-open", "dicomweb-auth", "orthanc-open", "orthanc-auth", "viewer"})


def _http_handler(spec: NodeSpec) -> type[BaseHTTPRequestHandler]:
    secret = base64.b64encode(b"demo:demo-password").decode()
    orthanc = spec.http_mode.startswith("orthanc")

    class Handler(BaseHTTPRequestHandler):
        server_version = "Orthanc" if orthanc else spec.http_server
        sys_version = ""
        # Answer garbage (a DICOM PDU sent by a scanner) with "HTTP/1.1 400" and headers, as
        # nginx, IIS and Orthanc do, rather than Python's bare HTTP/0.9 error page.
        default_request_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # keep the demo quiet
            return

        def _auth_ok(self) -> bool:
            if not spec.http_mode.endswith("-auth"):
                return True
            return self.headers.get("Authorization", "") == f"Basic {secret}"

        def _send(self, status: int, body: bytes, ctype: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in (extra or {}).items():
                self.send_header(k, v)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self) -> None:
            self.do_GET()

        def do_GET(self) -> None:
            if not self._auth_ok():
                realm = "Orthanc Secure Area" if orthanc else spec.name
                self._send(401, b"Unauthorized", "text/plain", {"WWW-Authenticate": f'Basic realm="{realm}"'})
                return
            path = self.path.split("?")[0]
            if orthanc and path == "/system":
                body = json.dumps({"Name": spec.name, "Version": spec.http_version, "DicomAet": spec.ae_title,
                                   "ApiVersion": 18, "PluginsEnabled": True}).encode()
                self._send(200, body, "application/json")
            elif orthanc and path == "/plugins":
                self._send(200, json.dumps(["dicom-web", "explorer2"]).encode(), "application/json")
            elif spec.http_mode in QIDO_MODES and path.startswith("/dicom-web/studies"):
                # QIDO-RS: one synthetic study with no patient attributes.
                body = json.dumps([{"0020000D": {"vr": "UI", "Value": ["1.2.826.0.1.3680043.10.999.1"]}}]).encode()
                self._send(200, body, "application/dicom+json")
            elif path == "/":
                title = spec.title or ("Osimis Web Viewer" if spec.http_mode == "viewer"
                                       else f"{spec.name} imaging portal")
                self._send(200, f"<html><head><title>{title}</title></head><body>{title}</body></html>".encode(),
                           "text/html")
            else:
                self._send(404, b"not found", "text/plain")

    return Handler


class _HTTPServer(ThreadingHTTPServer):
    """A threading HTTP server; with ``tls`` the handshake runs in the request's own thread, so a
    slow client never holds up the others."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler],
                 tls: ssl.SSLContext | None) -> None:
        super().__init__(address, handler)
        self.tls = tls

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is not None:
            request.settimeout(10)
            request = self.tls.wrap_socket(request, server_side=True)
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:  # scanners hang up mid-handshake
        return


class _HL7Handler(socketserver.BaseRequestHandler):
    """Accepts MLLP connections; acknowledges anything framed (radguard itself never sends)."""

    def handle(self) -> None:
        self.request.settimeout(5)
        try:
            data = self.request.recv(65536)
        except OSError:
            return
        if data.startswith(b"\x0b"):
            self.request.sendall(b"\x0bMSH|^~\\&|DEMO|NWH|||||ACK|1|P|2.5\rMSA|AA|1\r\x1c\r")


class _ThreadingTCP(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _serve(specs: list[NodeSpec]) -> list[NodeStatus]:
    tmp = Path(tempfile.mkdtemp(prefix="radguard-demo-net-"))
    _TMP.append(tmp)
    certs = _Certificates(tmp)
    statuses: list[NodeStatus] = []
    servers: list[Any] = []
    for spec in specs:
        if not spec.host.startswith(LOOPBACK):
            statuses.append(NodeStatus(spec.name, spec.host, spec.port, spec.kind, False, "not a loopback address"))
            continue
        try:
            if spec.kind == "dicom":
                servers.append(_start_dicom(spec, certs))
            elif spec.kind == "http":
                httpd = _HTTPServer((spec.host, spec.port), _http_handler(spec),
                                    certs.for_node(spec) if spec.tls else None)
                threading.Thread(target=httpd.serve_forever, daemon=True).start()
                servers.append(httpd)
            elif spec.kind == "hl7":
                tcp = _ThreadingTCP((spec.host, spec.port), _HL7Handler)
                threading.Thread(target=tcp.serve_forever, daemon=True).start()
                servers.append(tcp)
            else:
                raise ValueError(f"unknown node kind {spec.kind!r}")
            statuses.append(NodeStatus(spec.name, spec.host, spec.port, spec.kind, True))
        except OSError as exc:
            statuses.append(NodeStatus(spec.name, spec.host, spec.port, spec.kind, False, str(exc)))
    _SERVERS.extend(servers)
    return statuses


_SERVERS: list[Any] = []
_TMP: list[Path] = []


def _shutdown() -> None:
    """Close every listening socket at once and remove the certificates.

    No per-server ``shutdown()``: each waits for its accept loop's poll interval, which adds up
    to seconds over a few dozen nodes. The process exits right after, taking its threads along.
    """
    for server in _SERVERS:
        with contextlib.suppress(Exception):  # best effort on the way out
            server.socket.close()
    for tmp in _TMP:
        shutil.rmtree(tmp, ignore_errors=True)


def _on_sigterm(_signum: int, _frame: Any) -> None:
    _shutdown()
    os._exit(0)


def child_main() -> None:
    """Entry point of the child process."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when we stop
    line = sys.stdin.readline()
    specs = [NodeSpec(**d) for d in json.loads(line)]
    statuses = _serve(specs)
    sys.stdout.write(json.dumps([asdict(s) for s in statuses]) + "\n")
    sys.stdout.flush()
    sys.stdin.read()  # returns at EOF: the parent closed the pipe or died
    _shutdown()
    os._exit(0)


# -------------------------------------------------------------------------------- parent side


class SimulatedNetwork:
    """Start the nodes in a child process; stop them on exit (also on errors and Ctrl-C)."""

    def __init__(self, specs: list[NodeSpec], startup_timeout: float = 60.0) -> None:
        self.specs = specs
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen[str] | None = None
        self.statuses: list[NodeStatus] = []

    def start(self) -> list[NodeStatus]:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "radguard.demo.network"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True, env=env, start_new_session=True,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps([asdict(s) for s in self.specs]) + "\n")
        self.proc.stdin.flush()
        result: list[str] = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()  # type: ignore[union-attr]
                                                               ), daemon=True)
        reader.start()
        reader.join(self.startup_timeout)
        if not result or not result[0]:
            self.stop()
            raise NetworkError("the simulated network did not start in time")
        self.statuses = [NodeStatus(**d) for d in json.loads(result[0])]
        return self.statuses

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            if self.proc.stdin:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self) -> SimulatedNetwork:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the servers themselves do: connections of an earlier run in TIME_WAIT do not count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


if __name__ == "__main__":
    child_main()
