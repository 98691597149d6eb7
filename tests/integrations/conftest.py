"""Shared by the integrations tests: a certificate for 127.0.0.1, a database with findings, and a real
syslog receiver (UDP, TCP, TLS) that parses what it gets."""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from radguard.db.session import Database
from radguard.readiness.dashboard import assess
from tests.feeds.conftest import CSAF, KEV, NVD, import_paths
from tests.feeds.test_checks import seed


def loopback_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate valid for 127.0.0.1 (subjectAltName IP), usable as its own CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rg-integrations-test")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    return loopback_certificate(tmp_path)


@pytest.fixture
def findings_db(sqlite_db: Database) -> Database:
    """SQLite with the fixture feeds, the advisory test inventory and one assessment."""
    import_paths(sqlite_db, CSAF, KEV, NVD)
    seed(sqlite_db)
    with sqlite_db.transaction() as s:
        assess(s)
    return sqlite_db


SYSLOG = re.compile(r"^<(?P<pri>\d+)>1 (?P<ts>\S+) (?P<host>\S+) radguard (?P<pid>\d+) (?P<msgid>\S+) - (?P<msg>.*)$",
                    re.S)


def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    """Split a CEF line as a SIEM does: 7 header fields on unescaped ``|``, then key=value pairs."""
    assert line.startswith("CEF:0|")
    fields, cur, i = [], "", 0
    while len(fields) < 7:
        ch = line[i]
        if ch == "\\" and line[i + 1] in "\\|":
            cur += line[i + 1]
            i += 2
            continue
        if ch == "|":
            fields.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    ext_text = line[i:]
    ext: dict[str, str] = {}
    for match in re.finditer(r"(\w+)=((?:\\.|[^\\=])*?)(?=\s\w+=|$)", ext_text):
        ext[match[1]] = re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], match[2])
    return fields, ext


def octets(data: bytes) -> list[str]:
    """Split an octet-counted stream (RFC 6587 §3.4.1) into its messages."""
    out = []
    while data:
        length, _, rest = data.partition(b" ")
        n = int(length)
        out.append(rest[:n].decode())
        data = rest[n:]
    return out


@pytest.fixture
def listener(cert: tuple[Path, Path]) -> Iterator[Callable[[str], tuple[int, list[str]]]]:
    """Start a UDP, TCP or TLS receiver on 127.0.0.1; returns (port, messages received so far)."""
    stops: list[Callable[[], None]] = []

    def start(kind: str) -> tuple[int, list[str]]:
        received: list[str] = []
        if kind == "udp":
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sock.settimeout(0.2)

            def loop() -> None:
                while not stop.is_set():
                    try:
                        received.append(sock.recv(70000).decode())
                    except TimeoutError:
                        continue
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sock.listen()
            sock.settimeout(0.2)
            context = None
            if kind == "tls":
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(*cert)

            def loop() -> None:
                while not stop.is_set():
                    try:
                        conn, _ = sock.accept()
                    except TimeoutError:
                        continue
                    conn.settimeout(5)
                    if context is not None:
                        try:
                            conn = context.wrap_socket(conn, server_side=True)
                        except (ssl.SSLError, OSError):  # a client that does not trust us
                            conn.close()
                            continue
                    data = b""
                    with contextlib.suppress(ssl.SSLError, OSError):
                        while chunk := conn.recv(65536):
                            data += chunk
                    if isinstance(conn, ssl.SSLSocket):
                        with contextlib.suppress(ssl.SSLError, OSError):
                            conn.unwrap()
                    conn.close()
                    received.extend(octets(data))
        stop = threading.Event()
        thread = threading.Thread(target=loop, daemon=True)
        thread.start()

        def halt() -> None:
            stop.set()
            thread.join(5)
            sock.close()
        stops.append(halt)
        return sock.getsockname()[1], received

    yield start
    for halt in stops:
        halt()


def wait_for(received: list[str], count: int) -> None:
    """Wait (at most 10 s) until a receiver holds ``count`` messages."""
    import time

    deadline = time.monotonic() + 10
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
