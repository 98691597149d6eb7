"""The DICOM probe: who may associate (calling and called AE policy), C-ECHO, and — at level 3
only — whether a stranger may query (count-only C-FIND, cancelled after the first answer).

Why two associations: the reason a peer states in A-ASSOCIATE-RJ is not reliable (DCMTK's
dcmqrscp says "called AE not recognized" when it is the *calling* AE it refuses; Orthanc 1.10
aborts instead of rejecting). So each policy is inferred from a pair of probes, one varying
only the calling AE and one varying only the called AE, and left ``None`` when the pair cannot
tell. At most one association per probe kind, never a retry, and every association ends with
A-RELEASE (or A-ABORT when the peer misbehaves).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from pydicom.uid import UID

from radguard.discovery import dicom_wire as wire
from radguard.discovery.fingerprints import dicom_product
from radguard.discovery.net import Conn, ConnectFailed, Net
from radguard.discovery.results import DicomDoc, RejectDoc

# Proposed (never used, except Verification and — at level 3 — Study Root FIND) so the
# A-ASSOCIATE-AC tells which services a peer offers, as nmap's dicom-info does.
PROPOSED_SYNTAXES = (
    wire.VERIFICATION,
    wire.STUDY_ROOT_FIND,
    "1.2.840.10008.5.1.4.1.2.1.1",  # Patient Root Q/R FIND
    "1.2.840.10008.5.1.4.1.2.2.2",  # Study Root Q/R MOVE
    "1.2.840.10008.5.1.4.1.2.2.3",  # Study Root Q/R GET
    "1.2.840.10008.5.1.4.31",  # Modality Worklist FIND
    "1.2.840.10008.3.1.2.3.3",  # Modality Performed Procedure Step
    "1.2.840.10008.1.20.1",  # Storage Commitment Push Model
    "1.2.840.10008.5.1.4.1.1.2",  # CT Image Storage
    "1.2.840.10008.5.1.4.1.1.4",  # MR Image Storage
    "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image Storage
)
PENDING = (0xFF00, 0xFF01)
MAX_FIND_RESPONSES = 64  # after C-CANCEL a peer may still stream matches; stop listening here


def random_ae(prefix: str = "RG") -> str:
    """An AE title no site will have configured: the 'stranger' of the probes."""
    return (prefix + secrets.token_hex(8).upper())[:16]


class PeerClosed(Exception):
    """The peer closed the connection without answering."""


class PeerAborted(wire.ProtocolViolation):
    """The peer sent A-ABORT in the middle of a DIMSE exchange."""


@dataclass
class Attempt:
    """The result of one association attempt."""

    calling_ae: str
    called_ae: str
    answer: wire.AssociationAnswer | None = None
    echo: bool | None = None
    anonymous_query: bool | None = None
    error: str | None = None
    error_kind: str | None = None  # "timeout", "violation" (spoke DICOM badly), "lost", "connect"

    @property
    def accepted(self) -> bool:
        return isinstance(self.answer, wire.Accept)

    @property
    def refused(self) -> bool:
        """Permanently refused: rejected (not transiently) or aborted at association time."""
        if isinstance(self.answer, wire.Reject):
            return not self.answer.transient
        return isinstance(self.answer, wire.Abort)


@dataclass
class DicomOutcome:
    doc: DicomDoc | None = None
    looks_like: str | None = None  # when not DICOM: "http", "tls", "closed", "silent", "malformed", "unknown"
    sent: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    failed: bool = False


class DicomProbe:
    def __init__(self, net: Net, host: str, port: int, *, tls: bool, level: int,
                 calling_ae: str | None, called_ae: str | None) -> None:
        self.net = net
        self.host = host
        self.port = port
        self.tls = tls
        self.level = level
        self.known_calling = calling_ae
        self.known_called = called_ae
        self.timeout = net.timeout
        self.outcome = DicomOutcome()
        self._message_id = 0

    # -- one association -----------------------------------------------------------------

    async def _attempt(self, conn: Conn | None, calling: str, called: str, *, query: bool,
                       echo: bool = True) -> Attempt:
        attempt = Attempt(calling, called)
        if conn is not None:
            try:
                await self._run(conn, attempt, query, echo)
            finally:
                await conn.close()  # frees the host slot before any second association
            return attempt
        try:
            async with self.net.connect(self.host, self.port, self.tls) as fresh:
                await self._run(fresh, attempt, query, echo)
        except ConnectFailed as exc:
            attempt.error, attempt.error_kind = f"reconnect failed: {exc.detail}", "connect"
        return attempt

    async def _run(self, conn: Conn, attempt: Attempt, query: bool, echo: bool) -> None:
        sent = {"calling_ae": attempt.calling_ae, "called_ae": attempt.called_ae}
        self.outcome.sent.setdefault("a_associate_rq", []).append(sent)
        try:
            await conn.send(wire.associate_rq(attempt.calling_ae, attempt.called_ae,
                                              list(PROPOSED_SYNTAXES)), self.timeout)
            try:
                pdu_type, data = await wire.read_pdu(conn.reader, self.timeout, wire.MAX_PDU_ACCEPTED)
            except asyncio.IncompleteReadError as exc:
                if exc.partial:
                    raise wire.NotDicom(exc.partial) from None
                raise PeerClosed() from None
            attempt.answer = wire.decode_association_answer(pdu_type, data)
            if isinstance(attempt.answer, wire.Accept):
                await self._use(conn, attempt, query, echo)
        except wire.NotDicom:
            raise
        except PeerClosed:
            raise
        except TimeoutError:
            attempt.error, attempt.error_kind = f"no answer within {self.timeout:g}s", "timeout"
            await self._abort(conn)
        except wire.ProtocolViolation as exc:
            attempt.error, attempt.error_kind = str(exc), "violation"
            await self._abort(conn)
        except (ConnectionError, asyncio.IncompleteReadError, OSError) as exc:
            attempt.error, attempt.error_kind = f"connection lost: {type(exc).__name__}", "lost"
            await self._abort(conn)

    async def _use(self, conn: Conn, attempt: Attempt, query: bool, echo: bool) -> None:
        """Use an accepted association: C-ECHO (unless an earlier association already did: one
        C-ECHO per endpoint), the level-3 count-only C-FIND, then release."""
        accept = attempt.answer
        assert isinstance(accept, wire.Accept)
        contexts = {uid: (cid, accept.accepted_contexts[cid])
                    for index, uid in enumerate(PROPOSED_SYNTAXES)
                    if (cid := 2 * index + 1) in accept.accepted_contexts}
        if not echo:
            pass  # attempt.echo stays None: not tested on this association
        elif wire.VERIFICATION in contexts:
            cid, _ts = contexts[wire.VERIFICATION]
            attempt.echo = await self._echo(conn, cid, accept.max_pdu)
            self.outcome.sent["c_echo"] = True
        else:
            attempt.echo = False
        if query:
            if wire.STUDY_ROOT_FIND in contexts:
                cid, ts = contexts[wire.STUDY_ROOT_FIND]
                try:
                    attempt.anonymous_query = await self._count_find(conn, cid, ts, accept.max_pdu)
                except PeerAborted:
                    # Orthanc 1.10 answers a stranger's C-FIND with A-ABORT: a refusal, not an error.
                    attempt.anonymous_query = False
                    self.outcome.errors.append("the peer aborted the association in answer to the count-only "
                                               "C-FIND (counted as: query refused)")
                    return
            else:
                attempt.anonymous_query = False
        await self._release(conn)

    def _next_id(self) -> int:
        self._message_id += 1
        return self._message_id

    async def _commands(self, conn: Conn, fragments: wire.CommandFragments) -> list[Any]:
        """Read PDUs until at least one DIMSE command set is complete."""
        while True:
            pdu_type, data = await wire.read_pdu(conn.reader, self.timeout)
            if pdu_type == 0x04:
                commands = fragments.feed(data)
                if commands:
                    return commands
            elif pdu_type == 0x07:
                raise PeerAborted("peer aborted the association")
            else:
                raise wire.ProtocolViolation(f"unexpected {wire.PDU_NAMES[pdu_type]} during DIMSE exchange")

    async def _echo(self, conn: Conn, context_id: int, max_pdu: int) -> bool:
        await conn.send(wire.c_echo_rq(self._next_id(), context_id, max_pdu), self.timeout)
        commands = await self._commands(conn, wire.CommandFragments())
        return bool(commands and "Status" in commands[0] and commands[0].Status == 0x0000)

    async def _count_find(self, conn: Conn, context_id: int, transfer_syntax: str, max_pdu: int) -> bool:
        """Ask for study UIDs only; cancel at the first match; keep nothing but "allowed or not".

        Identifier data sets in the responses are discarded by :class:`CommandFragments`
        without being decoded.
        """
        message_id = self._next_id()
        self.outcome.sent["c_find"] = {"level": "STUDY", "return_keys": ["StudyInstanceUID"],
                                       "matching_keys": [], "c_cancel_after_first": True}
        await conn.send(wire.c_find_rq(message_id, context_id, max_pdu, transfer_syntax), self.timeout)
        fragments = wire.CommandFragments()
        cancelled = False
        responses = 0
        while responses < MAX_FIND_RESPONSES:
            for command in await self._commands(conn, fragments):
                responses += 1
                status = int(command.Status) if "Status" in command else -1
                if status in PENDING:
                    if not cancelled:
                        cancelled = True
                        await conn.send(wire.c_cancel_rq(message_id, context_id, max_pdu), self.timeout)
                    continue
                # Final answer: success or cancelled means strangers may query; anything else not.
                return status in (0x0000, 0xFE00) or cancelled
        return True

    async def _release(self, conn: Conn) -> None:
        try:
            await conn.send(wire.release_rq(), self.timeout)
            for _ in range(8):  # late P-DATA may precede A-RELEASE-RP
                pdu_type, _data = await wire.read_pdu(conn.reader, self.timeout)
                if pdu_type in (0x06, 0x07):
                    return
        except (TimeoutError, wire.ProtocolViolation, ConnectionError, asyncio.IncompleteReadError, OSError):
            await self._abort(conn)

    async def _abort(self, conn: Conn) -> None:
        with contextlib.suppress(Exception):  # the peer may be gone; nothing more to do
            await conn.send(wire.abort_rq(), 1.0)

    # -- the plan ------------------------------------------------------------------------

    async def run(self, first: Conn | None) -> DicomOutcome:
        out = self.outcome
        query = self.level >= 3
        stranger = random_ae("RG")
        called1 = self.known_called or "ANY-SCP"
        try:
            p1 = await self._attempt(first, stranger, called1, query=query)
        except wire.NotDicom as exc:
            out.looks_like = exc.looks_like
            return out
        except PeerClosed:
            out.looks_like = "closed"
            return out
        if p1.answer is None:
            out.failed = True
            if p1.error_kind == "violation":
                # A malformed answer (a PDU announcing 4 GB, undecodable items) is not evidence of
                # a DICOM service: say what was seen, and leave no DICOM document for checks to read.
                out.errors.append(f"DICOM association: {p1.error}; a malformed answer, not counted as DICOM")
                out.looks_like = "malformed"
            elif p1.error_kind == "lost":
                out.looks_like = "closed"
            else:
                out.errors.append(f"DICOM association: {p1.error}")
                out.looks_like = "silent"
            return out

        doc = out.doc = DicomDoc()
        if p1.error:
            out.errors.append(f"DICOM after association: {p1.error}")
            out.failed = True
        p2: Attempt | None = None
        need_p2 = not out.failed and (
            (p1.accepted and self.known_called is not None)
            or (not p1.accepted and self.known_calling is not None)
        )
        if need_p2:
            wrong_called = random_ae("RGX")
            try:
                p2 = await self._attempt(None, self.known_calling or random_ae("RG"), wrong_called,
                                         query=False, echo=not p1.accepted)
            except (wire.NotDicom, PeerClosed):
                out.errors.append("second association: the peer stopped answering DICOM")
                out.failed = True
            if p2 is not None and p2.error:
                out.errors.append(f"second association: {p2.error}")
                out.failed = True

        self._infer(doc, p1, p2)
        for attempt in (p1, p2):
            if attempt is not None and isinstance(attempt.answer, wire.Abort):
                out.errors.append(f"association {attempt.calling_ae}->{attempt.called_ae}: "
                                  f"{attempt.answer.meaning}")
            if attempt is not None and isinstance(attempt.answer, wire.Reject) and attempt.answer.transient:
                out.errors.append(f"association {attempt.calling_ae}->{attempt.called_ae}: "
                                  f"transient reject ({attempt.answer.meaning}); policy not inferred")
        return out

    def _infer(self, doc: DicomDoc, p1: Attempt, p2: Attempt | None) -> None:
        known_called = self.known_called is not None
        known_calling = self.known_calling is not None
        # Calling-AE policy.
        if p1.accepted:
            doc.accepts_unknown_calling_ae = True
            if not known_called:
                # A made-up called AE *and* a made-up calling AE were accepted.
                doc.accepts_any_called_ae = True
        elif p1.refused and known_called:
            doc.accepts_unknown_calling_ae = False
        # Called-AE policy from the second probe (wrong called AE).
        if p2 is not None and p2.answer is not None:
            if p2.accepted:
                doc.accepts_any_called_ae = True
                if not p1.accepted and not known_called and known_calling:
                    # Wrong called AE is fine with the known calling AE, so the stranger was refused.
                    doc.accepts_unknown_calling_ae = False
            elif p2.refused and (p1.accepted or known_calling):
                doc.accepts_any_called_ae = False
        for attempt in (p1, p2):
            if attempt is None:
                continue
            if doc.reject is None and isinstance(attempt.answer, wire.Reject):
                doc.reject = RejectDoc(**attempt.answer.as_dict())
        accepted = next((a for a in (p1, p2) if a is not None and a.accepted), None)
        if accepted is not None:
            accept = accepted.answer
            assert isinstance(accept, wire.Accept)
            doc.implementation_class_uid = accept.implementation_class_uid
            doc.implementation_version_name = accept.implementation_version_name
            doc.product, doc.version = dicom_product(accept.implementation_class_uid,
                                                     accept.implementation_version_name)
            doc.accepted_services = [UID(uid).name for index, uid in enumerate(PROPOSED_SYNTAXES)
                                     if 2 * index + 1 in accept.accepted_contexts]
            doc.echo = accepted.echo
        if self.level >= 3:
            if p1.accepted:
                doc.anonymous_query = p1.anonymous_query
            elif doc.accepts_unknown_calling_ae is False:
                doc.anonymous_query = False
