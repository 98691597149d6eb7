"""The endpoint document: what ``radguard discover --json`` prints and evidence stores.

Field names are a contract with the checks (RG-DICOM-*, RG-TLS-WEAK, RG-WEB-NO-AUTH,
RG-HL7-CLEARTEXT read them from ``evidence.received``); do not rename them. ``None`` always
means "not tested at this level, or could not tell" — a probe never guesses.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

State = Literal["open", "closed", "filtered"]
Service = Literal["dicom", "dicom-tls", "dicomweb", "hl7-mllp", "http", "https", "unknown"]


class RejectDoc(BaseModel):
    result: int
    source: int
    reason: int
    meaning: str


class DicomDoc(BaseModel):
    implementation_class_uid: str | None = None
    implementation_version_name: str | None = None
    product: str | None = None
    version: str | None = None
    accepts_unknown_calling_ae: bool | None = None
    accepts_any_called_ae: bool | None = None
    reject: RejectDoc | None = None
    echo: bool | None = None
    anonymous_query: bool | None = None
    accepted_services: list[str] = Field(default_factory=list)


class CertificateDoc(BaseModel):
    subject: str | None = None
    issuer: str | None = None
    not_after: str | None = None
    self_signed: bool | None = None
    key_type: str | None = None  # "RSA", "EC", "DSA", "Ed25519"…
    key_bits: int | None = None


class TlsDoc(BaseModel):
    """One TLS port as ssl-enum-ciphers would describe it: the negotiated handshake, and (level
    2 and up) every protocol version and weak cipher class the server accepts."""

    version: str | None = None  # what radguard's default client negotiated
    cipher: str | None = None
    cipher_bits: int | None = None
    certificate: CertificateDoc | None = None
    versions: list[str] | None = None  # accepted: TLSv1, TLSv1.1, TLSv1.2, TLSv1.3 (None: not enumerated)
    weak_cipher_classes: list[str] | None = None  # accepted: "NULL", "export", "RC4", "DES", "3DES", "anonymous"
    weak_ciphers: list[str] | None = None  # the suites the server chose when offered only those classes
    client_certificate: Literal["required", "optional", "not requested"] | None = None


class HttpDoc(BaseModel):
    status: int | None = None
    server: str | None = None
    product: str | None = None
    version: str | None = None
    auth_required: bool | None = None
    dicomweb_anonymous: bool | None = None
    # The server's Date header minus radguard's clock when the answer arrived, in seconds.
    clock_offset_s: int | None = None


class EndpointDoc(BaseModel):
    host: str
    port: int
    state: State
    service: Service | None = None
    dicom: DicomDoc | None = None
    tls: TlsDoc | None = None
    http: HttpDoc | None = None
    banner: str | None = None  # what the peer said before being sent anything (first line, printable)
    errors: list[str] = Field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
