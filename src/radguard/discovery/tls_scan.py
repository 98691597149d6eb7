"""Enumerating what a TLS port accepts, as nmap's ssl-enum-ciphers does, within a fixed budget.

The version a default client negotiates says little: a server that also accepts TLS 1.0, or
still picks an export suite when offered one, is the finding. So each TLS port gets, once:

1. one handshake with radguard's permissive client (certificate, negotiated version and
   cipher, and whether a client certificate is asked for and required);
2. one handshake pinned to each *other* protocol version (TLS 1.0, 1.1, 1.2, 1.3);
3. one ClientHello per weak class OpenSSL 3 can no longer offer itself (export, NULL,
   RC4/DES/3DES): only the server's ServerHello is read, then the connection is closed.

At most 7 connections, each taking a rate token and a host slot like any other; no
application data is sent on any of them. Handshakes run on blocking sockets in a thread, so
a server's alert (TLS 1.3 ``certificate_required`` comes right after the handshake) is read
in order instead of racing the event loop.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from radguard.discovery.net import Net
from radguard.discovery.results import TlsDoc
from radguard.discovery.tls import (
    LEGACY_SUITES,
    Handshake,
    blocking_handshake,
    blocking_hello,
    cipher_classes,
    client_context,
    describe_certificate,
)

VERSIONS = (("TLSv1", ssl.TLSVersion.TLSv1), ("TLSv1.1", ssl.TLSVersion.TLSv1_1),
            ("TLSv1.2", ssl.TLSVersion.TLSv1_2), ("TLSv1.3", ssl.TLSVersion.TLSv1_3))
ORDER = {name: index for index, (name, _v) in enumerate((("SSLv3", None), *VERSIONS))}
MAX_CONNECTIONS = 1 + (len(VERSIONS) - 1) + len(LEGACY_SUITES)  # the ceiling docs/safety.md states


@dataclass
class TlsInspection:
    doc: TlsDoc | None = None
    sent: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def inspect_tls(net: Net, host: str, port: int) -> TlsInspection:
    """Describe the TLS service on ``host:port`` (see the module docstring for what is sent)."""
    out = TlsInspection()
    timeout = net.timeout

    async def handshake(version: ssl.TLSVersion | None) -> Handshake:
        context = client_context(version)
        return await net.in_thread(host, lambda address, name: blocking_handshake(address, port, name, context,
                                                                                  timeout))

    out.sent.append("TLS handshake (default client)")
    first = await handshake(None)
    accepted: set[str] = set()
    if first.version:  # completed, or a ServerHello before a refusal
        accepted.add(first.version)
    if first.server_hello:  # the server speaks TLS with radguard's client: try each other version
        for name, version in VERSIONS:
            if name == first.version:
                continue
            out.sent.append(f"TLS handshake ({name} only)")
            attempt = await handshake(version)
            if attempt.version == name:  # a ServerHello choosing it (completed, or refused for a certificate)
                accepted.add(name)
    weak_classes: list[str] = []
    weak_ciphers: list[str] = []
    negotiated: tuple[str, str] | None = None
    # Only a server that answered in TLS (a ServerHello, or an alert refusing radguard's
    # suites) is offered the legacy ones: a plain DICOM server on 2762 gets nothing more.
    speaks_tls = first.server_hello or first.alert or "ALERT" in (first.error or "").upper()
    for label, suites in LEGACY_SUITES.items() if speaks_tls else ():
        out.sent.append(f"ClientHello offering only {label} suites")
        offered = list(suites)
        answer = await net.in_thread(host, lambda address, name, offered=offered:  # type: ignore[misc]
                                     blocking_hello(address, port, name, offered, timeout))
        if answer is None:
            continue
        hello_version, suite = answer
        cipher = suites.get(suite, f"0x{suite:04x}")
        accepted.add(hello_version)
        weak_ciphers.append(cipher)
        weak_classes.extend(c for c in cipher_classes(cipher) if c not in weak_classes)
        negotiated = negotiated or (hello_version, cipher)
    for extra in cipher_classes(first.cipher):  # e.g. a NULL suite the default client was given
        if extra not in weak_classes:
            weak_classes.append(extra)
            weak_ciphers.append(first.cipher or "")
    if not first.server_hello and negotiated is None:
        out.errors.append(first.error or "TLS handshake failed")
        return out
    doc = TlsDoc(
        version=first.version or (negotiated[0] if negotiated else None),
        cipher=first.cipher if first.completed else (negotiated[1] if negotiated else None),
        cipher_bits=first.cipher_bits if first.completed else None,
        certificate=describe_certificate(first.certificate),
        versions=sorted(accepted, key=lambda v: ORDER.get(v, 99)),
        weak_cipher_classes=weak_classes,
        weak_ciphers=weak_ciphers,
    )
    if first.certificate_requested:
        doc.client_certificate = "required" if first.certificate_required else "optional"
    elif first.completed:
        doc.client_certificate = "not requested"
    out.doc = doc
    return out
