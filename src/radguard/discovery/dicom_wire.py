"""DICOM Upper Layer over asyncio streams, built on pynetdicom's PDU classes.

pynetdicom runs one thread per association and polls; a scan of thousands of endpoints
needs one event loop instead. This module only moves bytes: it encodes requests with
pynetdicom's classes and decodes what peers send back, with every read bounded in size and
time so a hostile or broken peer can make a probe fail but never hang or exhaust a scan.

Data sets received in P-DATA (e.g. C-FIND identifiers) are *never decoded*: only the DIMSE
command set (status, message IDs) is parsed, so patient attributes never enter memory as
values radguard could keep.
"""

from __future__ import annotations

import asyncio
import functools
import struct
from dataclasses import dataclass, field
from io import BytesIO

from pydicom.dataset import Dataset
from pynetdicom.dimse_messages import C_CANCEL_RQ, C_ECHO_RQ, C_FIND_RQ, DIMSEMessage
from pynetdicom.dimse_primitives import C_CANCEL, C_ECHO, C_FIND
from pynetdicom.dsutils import decode as decode_dataset
from pynetdicom.dsutils import encode as encode_dataset
from pynetdicom.pdu import (
    A_ABORT_RQ,
    A_ASSOCIATE_AC,
    A_ASSOCIATE_RQ,
    A_RELEASE_RQ,
    P_DATA_TF,
)
from pynetdicom.pdu_primitives import (
    A_ASSOCIATE,
    ImplementationClassUIDNotification,
    ImplementationVersionNameNotification,
    MaximumLengthNotification,
)
from pynetdicom.presentation import build_context

APPLICATION_CONTEXT = "1.2.840.10008.3.1.1.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
# radguard's own implementation identity, so peers' logs show who connected.
RADGUARD_IMPLEMENTATION_UID = "1.2.826.0.1.3680043.10.1375.1"
RADGUARD_VERSION_NAME = "RADGUARD_01"

VERIFICATION = "1.2.840.10008.1.1"
STUDY_ROOT_FIND = "1.2.840.10008.5.1.4.1.2.2.1"

# The largest PDU radguard accepts. Association answers are a few hundred bytes and C-ECHO /
# C-FIND responses a few kB; anything larger is refused, so "a PDU of 4 GB" costs nothing.
MAX_PDU_ACCEPTED = 256 * 1024
MAX_PDU_ANNOUNCED = 64 * 1024

PDU_NAMES = {1: "A-ASSOCIATE-RQ", 2: "A-ASSOCIATE-AC", 3: "A-ASSOCIATE-RJ", 4: "P-DATA-TF",
             5: "A-RELEASE-RQ", 6: "A-RELEASE-RP", 7: "A-ABORT"}

_RESULTS = {1: "rejected-permanent", 2: "rejected-transient"}
_SOURCES = {1: "service-user", 2: "service-provider-acse", 3: "service-provider-presentation"}
_REASONS = {
    (1, 1): "no reason given",
    (1, 2): "application context name not supported",
    (1, 3): "calling AE title not recognized",
    (1, 7): "called AE title not recognized",
    (2, 1): "no reason given",
    (2, 2): "protocol version not supported",
    (3, 1): "temporary congestion",
    (3, 2): "local limit exceeded",
}

_ABORT_SOURCES = {0: "service-user", 1: "reserved", 2: "service-provider"}


class ProtocolViolation(Exception):
    """The peer sent something that is not valid DICOM Upper Layer traffic."""


class NotDicom(ProtocolViolation):
    """The first bytes are clearly another protocol (HTTP, TLS alert, a banner, garbage)."""

    def __init__(self, first_bytes: bytes) -> None:
        self.first_bytes = first_bytes
        super().__init__(f"not DICOM: first bytes {first_bytes[:8].hex()}")

    @property
    def looks_like(self) -> str:
        b = self.first_bytes
        if b.startswith(b"HTTP/") or looks_like_html(b):
            return "http"  # a status line, or an HTML page without one (an HTTP/0.9-style error)
        if b[:1] == b"\x0b" and b[1:4] == b"MSH":
            return "hl7"  # an MLLP frame: an HL7 engine answering (ACK/NAK) what it took for a message
        if len(b) >= 2 and b[0] == 0x15 and b[1] == 0x03:
            return "tls"
        return "unknown"


def looks_like_html(first_bytes: bytes) -> bool:
    """True when a peer's first bytes open an HTML (or XML) document: ``<!DOCTYPE``, ``<html>``,
    ``<?xml`` … Python's http.server, for one, answers a request it cannot parse with a bare
    HTML error page and no status line."""
    text = first_bytes.lstrip()
    return len(text) >= 2 and text[:1] == b"<" and (text[1:2].isalpha() or text[1:2] in (b"!", b"?"))


@dataclass
class Reject:
    """A decoded A-ASSOCIATE-RJ: the three numbers and what they mean."""

    result: int
    source: int
    reason: int

    @property
    def meaning(self) -> str:
        result = _RESULTS.get(self.result, f"result {self.result} (invalid)")
        source = _SOURCES.get(self.source, f"source {self.source} (invalid)")
        reason = _REASONS.get((self.source, self.reason), f"reason {self.reason} (reserved)")
        return f"{result}; {source}: {reason}"

    @property
    def transient(self) -> bool:
        return self.result == 2

    def as_dict(self) -> dict[str, object]:
        return {"result": self.result, "source": self.source, "reason": self.reason, "meaning": self.meaning}


@dataclass
class Accept:
    """A decoded A-ASSOCIATE-AC: what the peer says about itself and what it accepted."""

    implementation_class_uid: str | None
    implementation_version_name: str | None
    max_pdu: int
    accepted_contexts: dict[int, str] = field(default_factory=dict)  # context ID -> transfer syntax


@dataclass
class Abort:
    """The peer sent A-ABORT (Orthanc 1.10 does this instead of rejecting unknown peers)."""

    source: int
    reason: int

    @property
    def meaning(self) -> str:
        return f"aborted by {_ABORT_SOURCES.get(self.source, 'unknown source')} (reason {self.reason})"


AssociationAnswer = Accept | Reject | Abort


async def read_pdu(reader: asyncio.StreamReader, timeout: float,
                   max_length: int = MAX_PDU_ACCEPTED) -> tuple[int, bytes]:
    """Read one PDU; raise rather than wait forever or allocate what the peer announces.

    Returns (pdu type, the whole PDU including its 6-byte header).
    """
    async with asyncio.timeout(timeout):
        header = await reader.readexactly(6)
        pdu_type, _reserved, length = struct.unpack(">BBI", header)
        if pdu_type not in PDU_NAMES or _reserved != 0:
            raise NotDicom(header)
        if length > max_length:
            raise ProtocolViolation(
                f"{PDU_NAMES[pdu_type]} announces {length} bytes, more than the {max_length} radguard accepts"
            )
        body = await reader.readexactly(length)
    return pdu_type, header + body


def associate_rq(calling_ae: str, called_ae: str, abstract_syntaxes: list[str]) -> bytes:
    """An A-ASSOCIATE-RQ proposing each abstract syntax (context IDs 1, 3, 5 …).

    pynetdicom validates every UID while encoding (~10 ms per request), so the request is
    encoded once per set of syntaxes and only the two AE title fields (fixed 16-byte slots at
    offsets 10 and 26) are filled in per association.
    """
    template = _associate_rq_template(tuple(abstract_syntaxes))
    return template[:10] + _ae_field(called_ae) + _ae_field(calling_ae) + template[42:]


def _ae_field(title: str) -> bytes:
    return title.encode("ascii")[:16].ljust(16, b" ")


@functools.lru_cache(maxsize=16)
def _associate_rq_template(abstract_syntaxes: tuple[str, ...]) -> bytes:
    calling_ae = called_ae = "TEMPLATE"
    primitive = A_ASSOCIATE()
    primitive.application_context_name = APPLICATION_CONTEXT
    primitive.calling_ae_title = calling_ae
    primitive.called_ae_title = called_ae
    contexts = []
    for index, uid in enumerate(abstract_syntaxes):
        ctx = build_context(uid, [EXPLICIT_LE, IMPLICIT_LE])
        ctx.context_id = 2 * index + 1
        contexts.append(ctx)
    primitive.presentation_context_definition_list = contexts
    max_length = MaximumLengthNotification()
    max_length.maximum_length_received = MAX_PDU_ANNOUNCED
    impl_uid = ImplementationClassUIDNotification()
    impl_uid.implementation_class_uid = RADGUARD_IMPLEMENTATION_UID
    impl_name = ImplementationVersionNameNotification()
    impl_name.implementation_version_name = RADGUARD_VERSION_NAME
    primitive.user_information = [max_length, impl_uid, impl_name]
    return bytes(A_ASSOCIATE_RQ(primitive).encode())


def decode_association_answer(pdu_type: int, data: bytes) -> AssociationAnswer:
    if pdu_type == 0x02:
        ac = A_ASSOCIATE_AC()
        try:
            ac.decode(data)
        except Exception as exc:  # malformed items: pynetdicom raises assorted errors
            raise ProtocolViolation(f"malformed A-ASSOCIATE-AC: {exc}") from None
        uid = version = None
        max_pdu = 0
        info = ac.user_information
        if info is not None:
            uid = str(info.implementation_class_uid) if info.implementation_class_uid else None
            version = info.implementation_version_name
            if isinstance(version, bytes):
                version = version.decode("ascii", "replace")
            version = version.strip() if version else None
            max_pdu = int(info.maximum_length or 0)
        accepted = {int(ctx.context_id): str(ctx.transfer_syntax)
                    for ctx in ac.presentation_context
                    if ctx.result_reason == 0 and ctx.context_id is not None}
        return Accept(uid, version, max_pdu, accepted)
    if pdu_type == 0x03:
        if len(data) != 10:
            raise ProtocolViolation(f"A-ASSOCIATE-RJ of {len(data)} bytes (10 expected)")
        return Reject(result=data[7], source=data[8], reason=data[9])
    if pdu_type == 0x07:
        if len(data) != 10:
            raise ProtocolViolation(f"A-ABORT of {len(data)} bytes (10 expected)")
        return Abort(source=data[8], reason=data[9])
    raise ProtocolViolation(f"{PDU_NAMES[pdu_type]} received where an association answer was expected")


def release_rq() -> bytes:
    return bytes(A_RELEASE_RQ().encode())


def abort_rq() -> bytes:
    abort = A_ABORT_RQ()
    abort.source = 0x00
    abort.reason_diagnostic = 0x00
    return bytes(abort.encode())


def _encode_message(message: DIMSEMessage, context_id: int, max_pdu: int) -> bytes:
    out = bytearray()
    for primitive in message.encode_msg(context_id, max_pdu or MAX_PDU_ANNOUNCED):
        pdu = P_DATA_TF()
        pdu.from_primitive(primitive)
        out += pdu.encode()
    return bytes(out)


@functools.lru_cache(maxsize=64)
def c_echo_rq(message_id: int, context_id: int, max_pdu: int) -> bytes:
    primitive = C_ECHO()
    primitive.MessageID = message_id
    primitive.AffectedSOPClassUID = VERIFICATION
    message = C_ECHO_RQ()
    message.primitive_to_message(primitive)
    return _encode_message(message, context_id, max_pdu)


def count_only_identifier(explicit: bool) -> bytes:
    """The smallest study-level query: one return key, no matching keys, so it filters nothing
    and asks for nothing identifying beyond what radguard discards unread."""
    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = ""
    encoded = encode_dataset(ds, not explicit, True)
    if encoded is None:  # pragma: no cover - two plain elements always encode
        raise ValueError("could not encode the count-only identifier")
    return encoded


def c_find_rq(message_id: int, context_id: int, max_pdu: int, transfer_syntax: str) -> bytes:
    primitive = C_FIND()
    primitive.MessageID = message_id
    primitive.AffectedSOPClassUID = STUDY_ROOT_FIND
    primitive.Priority = 2  # low: never compete with clinical traffic
    primitive.Identifier = BytesIO(count_only_identifier(transfer_syntax == EXPLICIT_LE))
    message = C_FIND_RQ()
    message.primitive_to_message(primitive)
    return _encode_message(message, context_id, max_pdu)


def c_cancel_rq(message_id_being_responded_to: int, context_id: int, max_pdu: int) -> bytes:
    primitive = C_CANCEL()
    primitive.MessageIDBeingRespondedTo = message_id_being_responded_to
    message = C_CANCEL_RQ()
    message.primitive_to_message(primitive)
    return _encode_message(message, context_id, max_pdu)


@dataclass
class CommandFragments:
    """Reassembles DIMSE command sets from P-DATA-TF PDUs, discarding every data set byte."""

    buffer: bytearray = field(default_factory=bytearray)
    max_size: int = 64 * 1024

    def feed(self, pdu: bytes) -> list[Dataset]:
        """Return the command sets completed by this PDU (usually zero or one)."""
        complete: list[Dataset] = []
        offset = 6
        while offset + 4 <= len(pdu):
            (item_length,) = struct.unpack(">I", pdu[offset:offset + 4])
            if item_length < 2 or offset + 4 + item_length > len(pdu):
                raise ProtocolViolation("malformed presentation data value item")
            control = pdu[offset + 5]
            value = pdu[offset + 6:offset + 4 + item_length]
            offset += 4 + item_length
            if not control & 0x01:
                continue  # a data set fragment: dropped unread
            self.buffer += value
            if len(self.buffer) > self.max_size:
                raise ProtocolViolation("DIMSE command set larger than 64 kB")
            if control & 0x02:
                try:
                    complete.append(decode_dataset(BytesIO(bytes(self.buffer)), True, True))
                except Exception as exc:  # a malformed command set is the peer's fault
                    raise ProtocolViolation(f"undecodable DIMSE command set: {exc}") from None
                self.buffer.clear()
        return complete
