"""TLS handshake description: protocol version, cipher and the certificate presented.

Verification is off on purpose: radguard describes what a device offers (self-signed, expired,
TLS 1.0) rather than failing on it; RG-TLS-WEAK judges the description later. Old protocol
versions and ciphers are allowed so weak servers can be described instead of looking closed.
"""

from __future__ import annotations

import ssl
import warnings
from datetime import UTC

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from radguard.discovery.results import CertificateDoc, TlsDoc


def client_context() -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with warnings.catch_warnings():  # deprecated for *use*; we only want to describe old servers
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):  # an OpenSSL built without them: describe what we can
        pass
    return ctx


def _self_signed(cert: x509.Certificate) -> bool:
    if cert.subject != cert.issuer:
        return False
    key = cert.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            hash_alg = cert.signature_hash_algorithm
            if hash_alg is None:
                return True
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), hash_alg)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            hash_alg = cert.signature_hash_algorithm
            if hash_alg is None:
                return True
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hash_alg))
    except Exception:
        return False
    return True


def describe_certificate(der: bytes | None) -> CertificateDoc | None:
    if not der:
        return None
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return CertificateDoc()
    return CertificateDoc(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_after=cert.not_valid_after_utc.astimezone(UTC).isoformat(),
        self_signed=_self_signed(cert),
    )


def describe(ssl_object: ssl.SSLObject | None) -> TlsDoc | None:
    if ssl_object is None:
        return None
    cipher = ssl_object.cipher()
    return TlsDoc(
        version=ssl_object.version(),
        cipher=cipher[0] if cipher else None,
        certificate=describe_certificate(ssl_object.getpeercert(binary_form=True)),
    )
