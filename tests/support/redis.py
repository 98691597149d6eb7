"""A real redis-server for the test: TLS only (certificate from a test CA), with a password.

The broker is started and stopped by PID; its configuration file, certificates and CA live in a
temporary directory. ``kill()`` then ``start()`` lets fault tests kill the broker and bring it
back on the same port; like deploy/redis-radguard.conf it runs ``appendonly yes`` with
``appendfsync always``, so what was queued before a kill -9 is there after the restart.
"""

from __future__ import annotations

import ipaddress
import secrets
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.support.ports import free_port


def _write_ca_and_server(directory: Path, addresses: list[str]) -> tuple[Path, Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "radguard test broker CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
          .not_valid_after(now + timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    sans = [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses] + [x509.DNSName("localhost")]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "broker")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(sans), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "broker.pem", directory / "broker.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_path, cert_path, key_path


@dataclass
class RedisBroker:
    addresses: list[str] = field(default_factory=lambda: ["127.0.0.1"])
    port: int = 0
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="rg-redis-")))
    process: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.port = self.port or free_port()
        self.ca, cert, key = _write_ca_and_server(self.workdir, self.addresses)
        (self.workdir / "redis.conf").write_text(
            f"port 0\ntls-port {self.port}\nbind {' '.join(self.addresses)}\n"
            f"tls-cert-file {cert}\ntls-key-file {key}\ntls-ca-cert-file {self.ca}\n"
            "tls-auth-clients no\n"
            f"requirepass {self.password}\nsave \"\"\nappendonly yes\nappendfsync always\ndaemonize no\n"
            f"dir {self.workdir}\nlogfile {self.workdir / 'redis.log'}\n")

    def url(self, host: str = "127.0.0.1") -> str:
        return f"rediss://:{self.password}@{host}:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(["/usr/bin/redis-server", str(self.workdir / "redis.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.ping():
                return
            time.sleep(0.1)
        raise RuntimeError(f"redis-server did not start: {(self.workdir / 'redis.log').read_text()[-2000:]}")

    def ping(self) -> bool:
        import redis

        client = redis.Redis(host="127.0.0.1", port=self.port, password=self.password, ssl=True,
                             ssl_ca_certs=str(self.ca), ssl_cert_reqs=ssl.CERT_REQUIRED, socket_timeout=1)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
