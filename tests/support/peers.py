"""Real DICOM peers for tests: Orthanc, DCMTK storescp / dcmqrscp, pynetdicom SCPs, hostile peers.

Every helper is a context manager that starts the peer as its own process on free loopback
ports, waits until it listens, yields a :class:`Peer` and stops it by PID (SIGTERM, then
SIGKILL after a grace period) — never by name, so parallel suites do not interfere.

DCMTK and Orthanc are started with ``TCP_NODELAY=1`` in their environment: Debian's builds
leave Nagle's algorithm on otherwise, which turns every DICOM round trip into ~40 ms.

Reuse these from any stage's tests, e.g.::

    with orthanc(OrthancConfig(check_called_aet=True)) as peer:
        assoc = AE().associate(peer.host, peer.dicom_port, ae_title=peer.aet)
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.ports import free_port, wait_for_port

LOOPBACK = "127.0.0.1"
DICOMWEB_PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"


@dataclass
class Peer:
    """A running peer: where it listens, under which AE title, and its process."""

    host: str
    dicom_port: int
    aet: str
    process: subprocess.Popen[bytes]
    http_port: int | None = None
    workdir: Path | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        """The peer's combined stdout/stderr so far (for assertion messages)."""
        if self.workdir and (self.workdir / "peer.log").exists():
            return (self.workdir / "peer.log").read_text(errors="replace")
        return ""

    def events(self) -> list[str]:
        """What a :func:`pynetdicom_scp` received, in order: ``A-ASSOCIATE-RQ``, ``C-ECHO``, ``C-FIND``."""
        return [line.split(" ", 1)[1] for line in self.log().splitlines() if line.startswith("RG-EVENT ")]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["TCP_NODELAY"] = "1"
    return env


def _stop(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """Stop one process by its PID: SIGTERM, wait, then SIGKILL."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(5)


@contextmanager
def _running(cmd: list[str], workdir: Path, ports: list[int], host: str = LOOPBACK,
             ready_timeout: float = 30.0) -> Iterator[subprocess.Popen[bytes]]:
    log = open(workdir / "peer.log", "wb")  # noqa: SIM115 - closed in finally
    process = subprocess.Popen(cmd, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, env=_env())
    try:
        for port in ports:
            try:
                wait_for_port(host, port, ready_timeout)
            except TimeoutError:
                _stop(process)
                raise RuntimeError(f"{cmd[0]} did not start: {(workdir / 'peer.log').read_text()[-2000:]}") from None
        yield process
    finally:
        _stop(process)
        log.close()


@contextmanager
def _tempdir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# -- DCMTK ---------------------------------------------------------------------------------

@contextmanager
def storescp(aet: str = "STORESCP", *, tls_cert: tuple[Path, Path] | None = None) -> Iterator[Peer]:
    """DCMTK storescp: checks no AE titles at all (the "accepts anyone" positive control).

    With ``tls_cert=(cert, key)`` it speaks DICOM over TLS only (``+tls``, no client cert).
    """
    with _tempdir("rg-storescp-") as work:
        port = free_port()
        (work / "in").mkdir()
        cmd = ["storescp", "-aet", aet, "-od", str(work / "in")]
        if tls_cert:
            cmd += ["+tls", str(tls_cert[1]), str(tls_cert[0]), "-ic"]
        cmd.append(str(port))
        with _running(cmd, work, [port]) as process:
            yield Peer(LOOPBACK, port, aet, process, workdir=work)


@contextmanager
def dcmqrscp(aet: str = "QRSCP", allowed_peers: tuple[str, ...] = ("KNOWNSCU",),
             single_process: bool = True) -> Iterator[Peer]:
    """DCMTK dcmqrscp with an AE table that lets only ``allowed_peers`` (calling AEs from
    127.0.0.1) in. Note it states reason 7 ("called AE not recognized") also when it is the
    calling AE it refuses, and with ``--single-process`` it may exit after a rejection."""
    with _tempdir("rg-dcmqrscp-") as work:
        port = free_port()
        (work / "db").mkdir()
        hosts = "\n".join(f"peer{i} = ({ae}, {LOOPBACK}, 0)" for i, ae in enumerate(allowed_peers))
        group = ", ".join(f"peer{i}" for i in range(len(allowed_peers))) or "ANY"
        (work / "dcmqrscp.cfg").write_text(textwrap.dedent(f"""\
            NetworkTCPPort  = {port}
            MaxPDUSize      = 16384
            MaxAssociations = 16

            HostTable BEGIN
            {hosts}
            allowed = ({group})
            HostTable END

            VendorTable BEGIN
            VendorTable END

            AETable BEGIN
            {aet} {work / 'db'} RW (200, 1024mb) allowed
            AETable END
            """))
        cmd = ["dcmqrscp", "-c", str(work / "dcmqrscp.cfg")]
        if single_process:
            cmd.append("--single-process")
        with _running(cmd, work, [port]) as process:
            yield Peer(LOOPBACK, port, aet, process, workdir=work,
                       extra={"allowed_peers": ",".join(allowed_peers)})


@contextmanager
def stunnel(target_port: int, certificate: tuple[Path, Path], *, verify: int = 0,
            host: str = LOOPBACK) -> Iterator[Peer]:
    """stunnel4 terminating TLS in front of ``host:target_port`` (e.g. a storescp), on a free
    port. ``verify=2`` requires a client certificate signed by ``certificate`` itself, which
    radguard never has: DICOM TLS locked to known peers."""
    with _tempdir("rg-stunnel-") as work:
        port = free_port(host)
        cert, key = certificate
        lines = ["foreground = yes", "pid =", "debug = 4", f"output = {work / 'stunnel.log'}", "",
                 "[dicom-tls]", f"accept = {host}:{port}", f"connect = {host}:{target_port}",
                 f"cert = {cert}", f"key = {key}", f"verify = {verify}"]
        if verify:
            lines.append(f"CAfile = {cert}")
        (work / "stunnel.conf").write_text("\n".join(lines) + "\n")
        with _running(["/usr/bin/stunnel4", str(work / "stunnel.conf")], work, [port], host=host) as process:
            yield Peer(host, port, "ANY", process, workdir=work)


# -- Orthanc -------------------------------------------------------------------------------

@dataclass
class OrthancConfig:
    """The Orthanc options the discovery tests vary. Defaults are Orthanc's permissive ones."""

    aet: str = "ORTHANC"
    check_called_aet: bool = False
    always_allow_echo: bool = True
    always_allow_find: bool = True
    always_allow_store: bool = True
    known_modalities: dict[str, str] = field(default_factory=dict)  # name -> AE (on 127.0.0.1)
    auth: bool = False
    users: dict[str, str] = field(default_factory=lambda: {"rgadmin": "rg-test-password"})
    dicom_tls: tuple[Path, Path] | None = None  # (cert, key) PEM files
    dicomweb: bool = True


@contextmanager
def orthanc(config: OrthancConfig | None = None) -> Iterator[Peer]:
    """Orthanc 1.10 from Debian with the DICOMweb plugin, storage in a temporary directory.

    ``peer.http_port`` is the REST/DICOMweb port; ``peer.extra["user"/"password"]`` the
    credentials when ``auth`` is on. Orthanc binds both ports on all interfaces (1.10 has no
    bind-address option); the tests only ever connect to 127.0.0.1.
    """
    config = config or OrthancConfig()
    with _tempdir("rg-orthanc-") as work:
        dicom_port, http_port = free_port(), free_port()
        doc: dict[str, object] = {
            "Name": "RG-TEST", "StorageDirectory": str(work / "db"), "IndexDirectory": str(work / "db"),
            "HttpPort": http_port, "DicomPort": dicom_port, "DicomAet": config.aet,
            "RemoteAccessAllowed": True, "AuthenticationEnabled": config.auth,
            "RegisteredUsers": config.users if config.auth else {},
            "DicomCheckCalledAet": config.check_called_aet,
            "DicomAlwaysAllowEcho": config.always_allow_echo,
            "DicomAlwaysAllowFind": config.always_allow_find,
            "DicomAlwaysAllowStore": config.always_allow_store,
            "DicomModalities": {name: [ae, LOOPBACK, 104] for name, ae in config.known_modalities.items()},
            "DicomCheckModalityHost": False, "HttpServerEnabled": True, "SslEnabled": False,
            "StorageCompression": False, "ConcurrentJobs": 1, "HttpThreadsCount": 4,
            "Plugins": [DICOMWEB_PLUGIN] if config.dicomweb else [],
            "DicomWeb": {"Enable": config.dicomweb, "Root": "/dicom-web/"},
        }
        if config.dicom_tls:
            cert, key = config.dicom_tls
            doc.update({"DicomTlsEnabled": True, "DicomTlsCertificate": str(cert),
                        "DicomTlsPrivateKey": str(key), "DicomTlsTrustedCertificates": str(cert),
                        "DicomTlsRemoteCertificateRequired": False})
        (work / "orthanc.json").write_text(json.dumps(doc, indent=2))
        with _running(["Orthanc", str(work / "orthanc.json")], work, [http_port, dicom_port]) as process:
            user, password = next(iter(config.users.items()))
            yield Peer(LOOPBACK, dicom_port, config.aet, process, http_port=http_port, workdir=work,
                       extra={"user": user, "password": password} if config.auth else {})


# -- pynetdicom and hostile peers (small Python servers in their own process) ------------------

_PYNETDICOM_SCP = """
import sys
from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification, StudyRootQueryRetrieveInformationModelFind
port, aet, required = int(sys.argv[1]), sys.argv[2], [a for a in sys.argv[3].split(",") if a]
check_called, host = sys.argv[4] == "1", sys.argv[5]
ae = AE(ae_title=aet)
ae.add_supported_context(Verification)
ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind)
ae.require_calling_aet = required
ae.require_called_aet = check_called
def mark(what):
    print("RG-EVENT " + what, flush=True)
def on_find(event):
    mark("C-FIND")
    yield 0x0000, None
def on_echo(event):
    mark("C-ECHO")
    return 0x0000
ae.start_server((host, port), block=True, evt_handlers=[
    (evt.EVT_C_FIND, on_find), (evt.EVT_C_ECHO, on_echo),
    (evt.EVT_REQUESTED, lambda event: mark("A-ASSOCIATE-RQ"))])
"""


@contextmanager
def pynetdicom_scp(aet: str = "PYSCP", required_calling: tuple[str, ...] = ("KNOWNSCU",),
                   require_called_aet: bool = False, host: str = LOOPBACK, port: int | None = None
                   ) -> Iterator[Peer]:
    """A pynetdicom Verification/FIND SCP that only accepts ``required_calling`` AE titles
    (rejecting others with reason 3; empty = anyone) and, if asked, only its own called AE
    (reason 7). ``host``/``port`` pin it to an address of 127/8 and a well-known port when a
    test needs one (e.g. plain DICOM on the DICOM-TLS port 2762)."""
    with _tempdir("rg-pyscp-") as work:
        port = port or free_port(host)
        cmd = [sys.executable, "-c", _PYNETDICOM_SCP, str(port), aet, ",".join(required_calling),
               "1" if require_called_aet else "0", host]
        with _running(cmd, work, [port], host=host) as process:
            yield Peer(host, port, aet, process, workdir=work)


_HOSTILE = r"""
import socket, struct, sys, threading, time
mode, port = sys.argv[1], int(sys.argv[2])
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port)); srv.listen(64)
def serve(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        if mode == "silent":
            time.sleep(120); return
        data = conn.recv(65536)
        if mode == "garbage":
            conn.sendall(b"\x9f\x00garbage-bytes\xff\xfe" * 8)
        elif mode == "huge-pdu":
            conn.sendall(struct.pack(">BBI", 2, 0, 0xFFFFFFFF) + b"\x00" * 64)
            time.sleep(2)
        elif mode == "reset":
            ts = b"1.2.840.10008.1.2"
            app = b"1.2.840.10008.3.1.1.1"
            items = struct.pack(">BBH", 0x10, 0, len(app)) + app
            sub = struct.pack(">BBH", 0x40, 0, len(ts)) + ts
            items += struct.pack(">BBHBBBB", 0x21, 0, 4 + len(sub), 1, 0, 0, 0) + sub
            items += struct.pack(">BBH", 0x50, 0, 8) + struct.pack(">BBHI", 0x51, 0, 4, 16384)
            body = bytes.fromhex("00010000") + data[10:74] + items
            conn.sendall(struct.pack(">BBI", 2, 0, len(body)) + body)
            conn.recv(65536)  # the C-ECHO request: reset instead of answering
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()
    except OSError:
        pass
while True:
    c, _ = srv.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""

HOSTILE_MODES = ("garbage", "huge-pdu", "silent", "reset")


@contextmanager
def hostile_peer(mode: str) -> Iterator[Peer]:
    """A peer that misbehaves on purpose, to prove probes stay bounded:

    * ``garbage`` answers an association request with bytes that are no PDU;
    * ``huge-pdu`` announces an A-ASSOCIATE-AC of 4 GB (0xFFFFFFFF bytes) and sends 64;
    * ``silent`` accepts TCP and never sends anything;
    * ``reset`` accepts the association (Verification only), then answers the C-ECHO with a
      TCP reset (RST).
    """
    if mode not in HOSTILE_MODES:
        raise ValueError(f"mode must be one of {HOSTILE_MODES}")
    with _tempdir("rg-hostile-") as work:
        port = free_port()
        with _running([sys.executable, "-c", _HOSTILE, mode, str(port)], work, [port]) as process:
            yield Peer(LOOPBACK, port, "ANY", process, workdir=work, extra={"mode": mode})


# -- certificates -----------------------------------------------------------------------------

def self_signed_certificate(directory: Path, common_name: str = "rg-test-peer") -> tuple[Path, Path]:
    """Write a self-signed RSA certificate and key (PEM) valid for 30 days; return (cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=30)).sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def wait_until(predicate: object, timeout: float = 10.0) -> None:
    """Poll ``predicate()`` until true (for peers that need a moment after start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    raise TimeoutError("condition not met")


# -- a listener that only records -----------------------------------------------------------

@dataclass
class Recording:
    """What reached a :func:`recording_listener`: connections accepted, bytes received, and
    the raw text of every request (for counting HTTP requests)."""

    host: str
    port: int
    connections: int = 0
    received: bytearray = field(default_factory=bytearray)
    accepted_at: list[float] = field(default_factory=list)  # time.monotonic() of each accept
    # time.monotonic() at which the kernel completed each handshake (see _established_at): a
    # listener thread that is late to accept() on a loaded machine bunches accepted_at, not these
    established_at: list[float] = field(default_factory=list)

    @property
    def touched(self) -> bool:
        return self.connections > 0 or bool(self.received)


def _established_at(conn: object) -> float:
    """When the kernel completed ``conn``'s handshake, as a ``time.monotonic()`` value.

    Linux's TCP_INFO ``tcpi_last_data_recv`` is the milliseconds since the socket last received
    data, and a passively opened socket starts it at the handshake's final ACK; a FIN does not
    move it. So for a connection that sent no data (a level-1 probe) it dates the connection on
    the wire to a jiffy, however long the connection waited in the accept queue.
    """
    import socket
    import struct

    assert isinstance(conn, socket.socket)
    while True:
        before = time.monotonic()
        info = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
        after = time.monotonic()
        if after - before < 0.005:  # not descheduled between the two readings
            break
    # struct tcp_info: eight u8 fields, then u32 rto, ato, snd_mss, rcv_mss, unacked, sacked,
    # lost, retrans, fackets, last_data_sent, last_ack_sent, last_data_recv (the 12th u32)
    last_data_recv_ms = struct.unpack_from("8B12I", info)[-1]
    return after - last_data_recv_ms / 1000


@contextmanager
def recording_listener(host: str = LOOPBACK, port: int | None = None,
                       answer: bytes | None = None) -> Iterator[Recording]:
    """A TCP listener on a free loopback port that counts every connection and byte.

    ``answer`` is sent back after the first bytes of each connection arrive (e.g. a canned
    HTTP response), then the connection is closed; without it the listener only reads.
    Used to prove that nothing at all reached a host radguard must not contact.
    """
    import socket
    import threading

    record = Recording(host, port or free_port(host))
    srv = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, record.port))
    srv.listen(64)
    srv.settimeout(0.1)
    stop = threading.Event()
    lock = threading.Lock()

    def serve(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(3.0)  # longer than radguard's banner read on a port not known as DICOM
            try:
                while data := conn.recv(4096):
                    with lock:
                        record.received += data
                    if answer is not None and b"\r\n\r\n" in data:
                        conn.sendall(answer)
                        return
            except OSError:
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            accepted = time.monotonic()
            established = _established_at(conn)
            with lock:
                record.connections += 1
                record.accepted_at.append(accepted)
                record.established_at.append(established)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield record
    finally:
        stop.set()
        thread.join(3)
        # Connections the kernel completed but nobody accepted yet still count.
        srv.setblocking(False)
        while True:
            try:
                conn, _ = srv.accept()
            except OSError:
                break
            record.connections += 1
            record.established_at.append(_established_at(conn))
            serve(conn)
        srv.close()
