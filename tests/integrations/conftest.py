"""Shared by the integrations tests: a certificate for 127.0.0.1, and a database with findings."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from radguard.checks.engine import assess
from radguard.db.session import Database
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
