"""TLS handshake description: protocol version, cipher and the certificate presented.

Verification is off on purpose: radguard describes what a device offers (self-signed, expired,
TLS 1.0) rather than failing on it; RG-TLS-WEAK judges the description later. Old protocol
versions and ciphers are allowed so weak servers can be described instead of looking closed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import struct
import warnings
from dataclasses import dataclass
from datetime import UTC
from ssl import _TLSAlertType, _TLSContentType, _TLSMessageType  # type: ignore[attr-defined]

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa

from radguard.discovery.results import CertificateDoc, TlsDoc


def client_context(version: ssl.TLSVersion | None = None) -> ssl.SSLContext:
    """A client that accepts anything it can, so that weak servers are described, not missed.

    ``version`` pins one protocol version (for enumerating them); ``@SECLEVEL=0`` is what lets
    OpenSSL 3 still speak TLS 1.0/1.1 and small keys; ``COMPLEMENTOFALL`` adds the NULL suites.
    """
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        with warnings.catch_warnings():  # deprecated for *use*; we only want to describe old servers
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = version or ssl.TLSVersion.TLSv1
            if version is not None:
                ctx.maximum_version = version
        ctx.set_ciphers("ALL:COMPLEMENTOFALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):  # an OpenSSL built without them: describe what we can
        pass
    return ctx


RECORD_VERSIONS = {0x0300: "SSLv3", 0x0301: "TLSv1", 0x0302: "TLSv1.1", 0x0303: "TLSv1.2", 0x0304: "TLSv1.3"}


@dataclass
class Handshake:
    """What one handshake showed, read step by step (so a server's alert cannot race it)."""

    completed: bool = False
    version: str | None = None
    cipher: str | None = None
    cipher_bits: int | None = None
    certificate: bytes | None = None
    server_hello: bool = False
    certificate_requested: bool = False  # the server sent CertificateRequest
    certificate_required: bool = False  # …and refused radguard's empty answer
    alert: bool = False  # the server sent a TLS alert: it speaks TLS, even if it refused this client
    error: str | None = None


def server_hello_version(message: bytes) -> str | None:
    """The version a ServerHello (handshake header included) selects: its ``supported_versions``
    extension when present (TLS 1.3), else its legacy version field."""
    try:
        legacy = int.from_bytes(message[4:6], "big")
        offset = 6 + 32
        offset += 1 + message[offset] + 2 + 1  # session id, cipher suite, compression
        end = offset + 2 + int.from_bytes(message[offset:offset + 2], "big") if len(message) > offset else offset
        offset += 2
        while offset + 4 <= min(end, len(message)):
            kind = int.from_bytes(message[offset:offset + 2], "big")
            length = int.from_bytes(message[offset + 2:offset + 4], "big")
            if kind == 0x002B and length == 2:
                legacy = int.from_bytes(message[offset + 4:offset + 6], "big")
            offset += 4 + length
    except IndexError:
        return None
    return RECORD_VERSIONS.get(legacy)


def _first_certificate(message: bytes, tls13: bool) -> bytes | None:
    """The leaf certificate's DER from a Certificate handshake message (header included)."""
    try:
        offset = 4
        if tls13:
            offset += 1 + message[offset]  # certificate_request_context
        offset += 3  # certificate_list length
        length = int.from_bytes(message[offset:offset + 3], "big")
        der = message[offset + 3:offset + 3 + length]
        return der if len(der) == length and length else None
    except IndexError:
        return None


def blocking_handshake(address: str, port: int, server_name: str | None, context: ssl.SSLContext,
                       timeout: float) -> Handshake:
    """One TLS handshake on a blocking socket (run it in a thread), nothing sent after it.

    The handshake's messages are watched (``SSLContext._msg_callback``, the hook behind
    ``openssl s_client -msg``) to see whether the server asks for a client certificate: in
    TLS 1.2 it then fails the handshake when none is sent, in TLS 1.3 it sends the
    ``certificate_required`` alert just *after* the client finished — which is why this waits
    a moment for the server's verdict when a certificate was asked for.
    """
    result = Handshake()

    def watch(_conn: object, direction: str, _version: object, content_type: object, msg_type: object,
              data: bytes) -> None:
        if direction != "read":
            return
        if content_type == _TLSContentType.HANDSHAKE:
            if msg_type == _TLSMessageType.SERVER_HELLO:
                result.server_hello = True
                result.version = server_hello_version(data)
            elif msg_type == _TLSMessageType.CERTIFICATE_REQUEST:
                result.certificate_requested = True
            elif msg_type == _TLSMessageType.CERTIFICATE and result.certificate is None:
                result.certificate = _first_certificate(data, _version == ssl.TLSVersion.TLSv1_3)
        elif content_type == _TLSContentType.ALERT:
            result.alert = True
            if msg_type == _TLSAlertType.CERTIFICATE_REQUIRED:
                result.certificate_required = True

    with contextlib.suppress(AttributeError, TypeError):  # a Python without the hook: alerts still tell
        context._msg_callback = watch  # type: ignore[attr-defined]
    try:
        sock = socket.create_connection((address, port), timeout)
    except OSError as exc:
        result.error = f"connect: {exc.strerror or exc}"
        return result
    try:
        with context.wrap_socket(sock, server_hostname=server_name, do_handshake_on_connect=False) as tls:
            tls.settimeout(timeout)
            tls.do_handshake()
            result.completed = True
            result.version = tls.version()
            cipher = tls.cipher()
            if cipher:
                result.cipher, result.cipher_bits = cipher[0], cipher[2]
            result.certificate = tls.getpeercert(binary_form=True) or result.certificate
            if result.certificate_requested and result.version == "TLSv1.3":
                tls.settimeout(min(1.0, timeout))
                try:
                    if not tls.recv(1):
                        result.certificate_required = True  # hung up on our empty certificate
                except ssl.SSLError as exc:
                    if "CERTIFICATE_REQUIRED" in str(exc.reason or exc).upper() or "alert" in str(exc).lower():
                        result.certificate_required = True
                except (TimeoutError, OSError):
                    pass  # no verdict: the certificate was optional
    except ssl.SSLError as exc:
        result.error = f"TLS handshake failed: {exc.reason or exc}"
        if result.certificate_requested:
            result.certificate_required = True  # asked for one, got none, and refused (TLS 1.2)
    except (TimeoutError, OSError) as exc:
        result.error = f"TLS handshake: {type(exc).__name__}"
        if result.certificate_requested:
            result.certificate_required = True
    finally:
        sock.close()
    return result


# Cipher suites OpenSSL 3 no longer offers at all, named as IANA/OpenSSL do, by weak class. A
# ClientHello listing only one class tells whether the server would still pick one of them.
LEGACY_SUITES: dict[str, dict[int, str]] = {
    "export": {0x0003: "EXP-RC4-MD5", 0x0006: "EXP-RC2-CBC-MD5", 0x0008: "EXP-DES-CBC-SHA",
               0x000B: "EXP-DH-DSS-DES-CBC-SHA", 0x000E: "EXP-DH-RSA-DES-CBC-SHA",
               0x0011: "EXP-EDH-DSS-DES-CBC-SHA", 0x0014: "EXP-EDH-RSA-DES-CBC-SHA",
               0x0017: "EXP-ADH-RC4-MD5", 0x0019: "EXP-ADH-DES-CBC-SHA", 0x0062: "EXP1024-DES-CBC-SHA",
               0x0063: "EXP1024-DHE-DSS-DES-CBC-SHA", 0x0064: "EXP1024-RC4-SHA", 0x0065: "EXP1024-DHE-DSS-RC4-SHA"},
    "NULL": {0x0001: "NULL-MD5", 0x0002: "NULL-SHA", 0x003B: "NULL-SHA256", 0xC006: "ECDHE-ECDSA-NULL-SHA",
             0xC010: "ECDHE-RSA-NULL-SHA", 0xC015: "AECDH-NULL-SHA"},
    "RC4/DES/3DES": {0x0004: "RC4-MD5", 0x0005: "RC4-SHA", 0xC007: "ECDHE-ECDSA-RC4-SHA",
                     0xC011: "ECDHE-RSA-RC4-SHA", 0x0009: "DES-CBC-SHA", 0x0015: "EDH-RSA-DES-CBC-SHA",
                     0x000A: "DES-CBC3-SHA", 0x0016: "EDH-RSA-DES-CBC3-SHA", 0xC008: "ECDHE-ECDSA-DES-CBC3-SHA",
                     0xC012: "ECDHE-RSA-DES-CBC3-SHA", 0x0018: "ADH-RC4-MD5", 0x001B: "ADH-DES-CBC3-SHA"},
}


def cipher_classes(name: str | None) -> list[str]:
    """The weak classes a cipher suite (OpenSSL name) belongs to, e.g. ``EXP-RC4-MD5`` → export, RC4."""
    if not name:
        return []
    upper = name.upper()
    classes = []
    if upper.startswith("EXP"):
        classes.append("export")
    if "NULL" in upper.replace("ANULL", "") and ("-NULL-" in upper or upper.startswith("NULL")):
        classes.append("NULL")
    if "RC4" in upper:
        classes.append("RC4")
    if "DES-CBC3" in upper or "3DES" in upper:
        classes.append("3DES")
    elif "DES" in upper:
        classes.append("DES")
    if upper.startswith(("ADH", "AECDH")) or "-ANON-" in upper:
        classes.append("anonymous")
    return classes


def client_hello(suites: list[int], server_name: str | None) -> bytes:
    """A TLS 1.2 ClientHello offering exactly ``suites`` (plus the renegotiation SCSV), with the
    extensions servers need to consider ECDHE suites. Only the server's answer to it is read."""
    def ext(kind: int, body: bytes) -> bytes:
        return struct.pack(">HH", kind, len(body)) + body

    extensions = ext(0x000A, struct.pack(">H", 6) + struct.pack(">HHH", 0x0017, 0x0018, 0x0019))  # groups
    extensions += ext(0x000B, b"\x01\x00")  # EC point formats: uncompressed
    algorithms = (0x0401, 0x0501, 0x0601, 0x0403, 0x0503, 0x0201, 0x0203, 0x0202)
    extensions += ext(0x000D, struct.pack(">H", 2 * len(algorithms))
                      + struct.pack(f">{len(algorithms)}H", *algorithms))
    if server_name:
        name = server_name.encode("idna")
        extensions += ext(0x0000, struct.pack(">HBH", len(name) + 3, 0, len(name)) + name)
    offered = [*suites, 0x00FF]
    body = (b"\x03\x03" + os.urandom(32) + b"\x00" + struct.pack(">H", 2 * len(offered))
            + struct.pack(f">{len(offered)}H", *offered) + b"\x01\x00"
            + struct.pack(">H", len(extensions)) + extensions)
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack(">H", len(handshake)) + handshake


def blocking_hello(address: str, port: int, server_name: str | None, suites: list[int],
                   timeout: float) -> tuple[str, int] | None:
    """Send one ClientHello offering only ``suites``; (version, chosen suite) from the
    ServerHello, or None when the server refused (an alert, a close, silence). The connection
    is closed right after the ServerHello: no key exchange, nothing else sent."""
    try:
        sock = socket.create_connection((address, port), timeout)
    except OSError:
        return None
    try:
        sock.settimeout(timeout)
        sock.sendall(client_hello(suites, server_name))
        data = b""
        while len(data) < 5 + 4 + 2 + 32 + 1 + 32 + 2:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
            if len(data) >= 5 and data[0] != 0x16:
                break
        if len(data) < 5 + 4 + 38 or data[0] != 0x16 or data[5] != 0x02:
            return None
        version = int.from_bytes(data[9:11], "big")
        session_id = data[43]
        offset = 44 + session_id
        if len(data) < offset + 2:
            return None
        return RECORD_VERSIONS.get(version, f"0x{version:04x}"), int.from_bytes(data[offset:offset + 2], "big")
    except OSError:
        return None
    finally:
        sock.close()


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
    key_type, key_bits = _key(cert)
    return CertificateDoc(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        not_after=cert.not_valid_after_utc.astimezone(UTC).isoformat(),
        self_signed=_self_signed(cert),
        key_type=key_type,
        key_bits=key_bits,
    )


def _key(cert: x509.Certificate) -> tuple[str | None, int | None]:
    try:
        key = cert.public_key()
    except (ValueError, TypeError):  # an algorithm cryptography does not know
        return None, None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.key_size
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    return type(key).__name__, None


def describe(ssl_object: ssl.SSLObject | None) -> TlsDoc | None:
    """The negotiated version, cipher and certificate of a live connection; ``None`` fields
    where the connection cannot tell (a handshake a server alert interrupted)."""
    if ssl_object is None:
        return None
    try:
        cipher = ssl_object.cipher()
        der = ssl_object.getpeercert(binary_form=True)
        version = ssl_object.version()
    except ValueError:  # "handshake not done yet": the server's alert arrived first
        return None
    return TlsDoc(
        version=version,
        cipher=cipher[0] if cipher else None,
        cipher_bits=cipher[2] if cipher else None,
        certificate=describe_certificate(der),
    )
