"""The scan engine: one event loop, a bounded pool of workers, one coroutine per endpoint.

Per endpoint the order of probes follows the port's usual service and falls back on what the
peer answers: DICOM first on DICOM ports (an HTTP or TLS peer reveals itself in its answer),
HTTP first on web ports, TLS first on 443/2762/8443. HL7 ports are only connected to: radguard
never sends an HL7 message. The first TCP connection is reused for the first probe, so a
fragile peer sees as few connections as possible.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from radguard.discovery.dicom import DicomProbe
from radguard.discovery.fingerprints import correlate_host
from radguard.discovery.http import HttpProbe
from radguard.discovery.limits import Deadline, Limits, WindowClosed
from radguard.discovery.net import Conn, ConnectFailed, Net
from radguard.discovery.results import EndpointDoc
from radguard.discovery.targets import LEGACY_SERVICES
from radguard.discovery.tls import describe
from radguard.discovery.tls_scan import inspect_tls

HL7_PORTS = frozenset({2575})
HTTP_PORTS = frozenset({80, 8000, 8042, 8080, 8081, 8088, 3000})
TLS_PORTS = frozenset({443, 2762, 8443})
HTTPS_FIRST = frozenset({443, 8443})
# Ports where DICOM is expected: the association request is sent at once. Any other port first
# gets a banner read, so a service that talks first (SSH, FTP, SMTP…) is never sent DICOM bytes.
DICOM_PORTS = frozenset({104, 11112, 4242, 2761})
# Services modalities are found with in the wild (FTP, Telnet, SMB, RDP, VNC): connect only at
# every level — at level 2 and 3 radguard reads a banner if the service sends one, and sends nothing.
LEGACY_PORTS = frozenset(LEGACY_SERVICES)
BANNER_WAIT = 1.0  # seconds a port not known as DICOM is given to speak first


@dataclass(frozen=True)
class PortHints:
    """Which service to expect on which port: it decides the first probe sent.

    The defaults follow the usual assignments. A site whose HL7 interface listens on 6661, or
    whose viewer answers on 8443, can say so per scan — this matters most for HL7, because an
    HL7 port is only ever connected to, while any other port gets a DICOM association request.
    """

    hl7: frozenset[int] = HL7_PORTS
    http: frozenset[int] = HTTP_PORTS
    tls: frozenset[int] = TLS_PORTS
    https_first: frozenset[int] = HTTPS_FIRST  # TLS ports where HTTPS is tried before DICOM-TLS
    dicom: frozenset[int] = DICOM_PORTS  # association request at once, no banner read first
    legacy: frozenset[int] = LEGACY_PORTS  # connect (and banner read) only, at every level

    def assign(self, *, hl7: Iterable[int] = (), http: Iterable[int] = (), https: Iterable[int] = (),
               dicom_tls: Iterable[int] = ()) -> PortHints:
        """These hints with the named ports moved to the named service (the site knows best).

        A port named for one service is taken out of every other; naming one port for two
        services is refused, since only one of them can be tried first.
        """
        named = {"hl7": set(hl7), "http": set(http), "https": set(https), "dicom_tls": set(dicom_tls)}
        owner: dict[int, str] = {}
        for service, ports in named.items():
            for port in sorted(ports):
                if port in owner:
                    raise ValueError(f"port {port} is named for both {owner[port]} and {service}")
                owner[port] = service
        moved = set(owner)
        tls = (self.tls - moved) | named["https"] | named["dicom_tls"]
        return PortHints(hl7=frozenset((self.hl7 - moved) | named["hl7"]),
                         http=frozenset((self.http - moved) | named["http"]),
                         tls=frozenset(tls),
                         https_first=frozenset((self.https_first - moved) | named["https"]),
                         dicom=frozenset(self.dicom - moved), legacy=frozenset(self.legacy - moved))


@dataclass
class ScanOptions:
    level: int = 2
    timeout: float = 5.0
    rate: float = 200.0
    concurrency: int = 128
    per_host: int = 2
    calling_ae: str | None = None
    called_ae: str | None = None
    port_hints: PortHints = field(default_factory=PortHints)
    # Host name -> the addresses it was resolved to when the scan was planned (and checked
    # against every exclusion); connections go only there. Set by ``discovery.run.plan``.
    pinned: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # When set (a sensor: its local scope's window end), no endpoint probe starts after it.
    deadline: Deadline | None = None


@dataclass
class Probed:
    """One endpoint's result and the description of everything sent to it."""

    doc: EndpointDoc
    sent: dict[str, Any] = field(default_factory=dict)


class EndpointScan:
    def __init__(self, net: Net, options: ScanOptions, host: str, port: int) -> None:
        self.net = net
        self.options = options
        self.host = host
        self.port = port
        self.hints = options.port_hints
        self.doc = EndpointDoc(host=host, port=port, state="open")
        self.sent: dict[str, Any] = {"tcp_connect": True}
        self._http_tried: set[bool] = set()  # plain / TLS: one web probe each, never a retry

    async def run(self) -> Probed | None:
        """Probe the endpoint; None when the scan's deadline passed before its first connection."""
        try:
            conn = await self.net.open(self.host, self.port, deadline=self.options.deadline)
        except WindowClosed:
            return None
        except ConnectFailed as exc:
            self.doc.state = "closed" if exc.state == "closed" else "filtered"
            if exc.state != "closed":
                self.doc.errors.append(f"TCP: {exc.detail}")
            return Probed(self.doc, self.sent)
        budget = max(30.0, 12 * self.options.timeout)
        try:
            async with asyncio.timeout(budget):
                await self._classify(conn)
        except TimeoutError:
            # Each read is bounded; this bounds a peer that answers just slowly enough, many times.
            self.doc.errors.append(f"stopped after {budget:g}s on this endpoint (a slow-drip peer)")
            self.net.limits.failed(self.host)
        except Exception as exc:  # a bug or an unforeseen peer: record it, never stop the scan
            self.doc.errors.append(f"probe error: {type(exc).__name__}: {exc}")
            self.net.limits.failed(self.host)
        finally:
            await conn.close()
        if self.doc.service is None:
            self.doc.service = "unknown"
        return Probed(self.doc, self.sent)

    async def _classify(self, conn: Conn) -> None:
        if self.options.level == 1:
            self.doc.service = "hl7-mllp" if self.port in self.hints.hl7 else "unknown"
            if self.port in self.hints.legacy:
                self.sent["legacy"] = "connect only, nothing sent"
            return
        if self.port in self.hints.hl7:
            await self._hl7(conn)
        elif self.port in self.hints.legacy:
            await self._legacy(conn)
        elif self.port in self.hints.tls:
            await self._tls_path(conn)
        elif self.port in self.hints.http:
            if not await self._http(conn, tls=False):
                await self._dicom_path(None)
        elif self.port in self.hints.dicom or not await self._banner(conn):
            await self._dicom_path(conn)
        else:
            self.doc.service = "unknown"
            self.doc.errors.append("sent a banner before any request: not DICOM, so no DICOM bytes were sent")

    async def _read_banner(self, conn: Conn) -> bytes | None:
        """Wait briefly for the peer to speak first; what it said (b"" if it closed), or None."""
        try:
            return await asyncio.wait_for(conn.reader.read(256), min(BANNER_WAIT, self.net.timeout))
        except TimeoutError:
            return None
        except (ConnectionError, OSError):
            return b""

    async def _banner(self, conn: Conn) -> bool:
        """On a port not known as DICOM: True when the peer talked (or hung up) before being
        sent anything, which rules DICOM out — a DICOM acceptor always waits for the request."""
        self.sent["banner_read"] = True
        data = await self._read_banner(conn)
        if data is None:
            return False
        self.doc.banner = describe_banner(data)
        return True

    async def _legacy(self, conn: Conn) -> None:
        """FTP, Telnet, SMB, RDP, VNC: connect and note a banner if one comes; nothing is sent."""
        self.sent["legacy"] = "connect only, nothing sent"
        data = await self._read_banner(conn)
        if data:
            self.doc.banner = describe_banner(data)
        self.doc.service = "unknown"

    async def _hl7(self, conn: Conn) -> None:
        """Connect only. An MLLP listener waits silently for a message; if something talks
        first (a banner), it is not MLLP."""
        self.sent["hl7"] = "connect only, nothing sent"
        try:
            data = await asyncio.wait_for(conn.reader.read(64), min(1.0, self.net.timeout))
        except TimeoutError:
            self.doc.service = "hl7-mllp"
            return
        except (ConnectionError, OSError):
            data = b""
        self.doc.service = "unknown"
        if data:
            self.doc.errors.append("HL7 port sent data unprompted: not an MLLP listener")

    async def _dicom(self, conn: Conn | None, tls: bool) -> str | None:
        """Run the DICOM probe; return what the peer looks like when it is not DICOM."""
        probe = DicomProbe(self.net, self.host, self.port, tls=tls, level=self.options.level,
                           calling_ae=self.options.calling_ae, called_ae=self.options.called_ae)
        outcome = await probe.run(conn)
        if outcome.sent:
            self.sent.setdefault("dicom" if not tls else "dicom_tls", outcome.sent)
            # Flat keys the evidence readers expect, from the first association request.
            rqs = outcome.sent.get("a_associate_rq") or []
            if rqs and "a_associate_rq" not in self.sent:
                self.sent["a_associate_rq"] = rqs[0]
            if outcome.sent.get("c_echo"):
                self.sent["c_echo"] = True
            if outcome.sent.get("c_find"):
                self.sent["c_find"] = outcome.sent["c_find"]
        self.doc.errors.extend(outcome.errors)
        if outcome.failed:
            self.net.limits.failed(self.host)
        if outcome.doc is not None:
            self.doc.dicom = outcome.doc
            self.doc.service = "dicom-tls" if tls else "dicom"
            return None
        return outcome.looks_like

    async def _dicom_path(self, conn: Conn | None) -> None:
        looks_like = await self._dicom(conn, tls=False)
        if looks_like is None:
            return
        if looks_like == "http":
            await self._http(None, tls=False)
        elif looks_like in ("tls", "closed"):
            await self._tls_path(None)
        elif looks_like in ("silent", "malformed"):
            self.doc.service = "unknown"  # the probe's error says what was seen
        elif looks_like == "hl7":
            self.doc.service = "hl7-mllp"
            self.doc.errors.append("answered the DICOM association request with an HL7 (MLLP) message: "
                                   "declare this port with --hl7-ports so it is only connected to")
        else:
            self.doc.service = "unknown"
            self.doc.errors.append("answered the DICOM association request with something that is not DICOM")

    async def _tls_path(self, conn: Conn | None) -> None:
        self.sent["tls_handshake"] = True
        if conn is not None:
            await conn.close()  # the first connection, nothing sent: free its slot for the handshakes
        inspection = await inspect_tls(self.net, self.host, self.port)
        self.sent["tls_enumeration"] = inspection.sent
        tls = self.doc.tls = inspection.doc
        if tls is not None and tls.client_certificate == "required":
            # Strangers cannot even start a session: the best configuration there is. Nothing
            # more can be learnt without a certificate the device trusts, and no DICOM or HTTP
            # policy is inferred from a refusal.
            self.doc.service = "https" if self.port in self.hints.https_first else "dicom-tls"
            return
        try:
            conn = await self.net.open(self.host, self.port, tls=True)
        except ConnectFailed as exc:
            if tls is None:
                self.doc.errors.extend(inspection.errors or [exc.detail])
            else:
                self.doc.errors.append(f"{exc.detail} (with radguard's own client; see tls for what it accepts)")
            self.sent["tls_handshake_failed"] = True
            if tls is None and self.port in self.hints.tls and self.port not in self.hints.https_first \
                    and "a_associate_rq" not in self.sent:
                # Plain DICOM on the DICOM-TLS port is worth one look (and is a finding of its own).
                await self._dicom_path_plain_only()
            return
        if self.doc.tls is None:
            self.doc.tls = describe(conn.ssl_object)
        if self.port in self.hints.https_first:
            if await self._http(conn, tls=True):
                return
            conn = None
        looks_like = await self._dicom(conn, tls=True)
        if looks_like is None:
            return
        # Not DICOM over TLS: HTTPS is what most TLS ports serve (a viewer on 9443 with no
        # hint), so a port that answered, stayed silent or closed is asked for ``/`` once.
        if looks_like in ("http", "silent", "closed", "unknown") and await self._http(None, tls=True):
            return
        if self.doc.service is None:
            self.doc.service = "unknown"

    async def _dicom_path_plain_only(self) -> None:
        looks_like = await self._dicom(None, tls=False)
        if looks_like == "http":
            await self._http(None, tls=False)

    async def _http(self, conn: Conn | None, tls: bool) -> bool:
        if tls in self._http_tried:
            if conn is not None:
                await conn.close()
            return False
        self._http_tried.add(tls)
        probe = HttpProbe(self.net, self.host, self.port, tls=tls, level=self.options.level)
        outcome = await probe.run(conn)
        if outcome.sent:
            self.sent.setdefault("http", []).extend(outcome.sent)
        self.doc.errors.extend(outcome.errors)
        if outcome.failed:
            self.net.limits.failed(self.host)
        if outcome.doc is None:
            return False
        self.doc.http = outcome.doc
        if outcome.dicomweb:
            self.doc.service = "dicomweb"
        else:
            self.doc.service = "https" if tls else "http"
        return True


def describe_banner(data: bytes) -> str:
    """A banner in printable words for the report (``SSH-2.0-OpenSSH_9.2``, ``RFB 003.008``):
    the first line, at most 80 characters, other bytes as ``\\xNN``; Telnet option negotiation
    and empty answers are named."""
    if not data:
        return "(closed the connection without a word)"
    if data[0] == 0xFF:
        return "(Telnet option negotiation)"
    line = data.split(b"\n", 1)[0].rstrip(b"\r")[:80]
    return "".join(chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}" for b in line)


ProgressCallback = Callable[[Probed], None]


def run_scan(endpoints: Iterable[tuple[str, int]], options: ScanOptions,
             on_result: ProgressCallback | None = None) -> list[Probed]:
    """Run :func:`scan_endpoints` on a fresh event loop (uvloop when installed: it halves the
    per-connection overhead of the standard loop)."""
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    try:
        import uvloop

        loop_factory = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
        pass
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(scan_endpoints(endpoints, options, on_result))


async def scan_endpoints(endpoints: Iterable[tuple[str, int]], options: ScanOptions,
                         on_result: ProgressCallback | None = None) -> list[Probed]:
    """Probe every (host, port) with at most ``options.concurrency`` in flight.

    Endpoints are pulled from the iterable as workers free up, so a large range is never
    expanded in memory; results are correlated per host at the end.
    """
    limits = Limits(rate=options.rate, per_host=max(1, options.per_host))
    net = Net(limits, options.timeout, options.pinned)
    queue: asyncio.Queue[tuple[str, int] | None] = asyncio.Queue(maxsize=options.concurrency * 2)
    results: list[Probed] = []

    async def producer() -> None:
        for endpoint in endpoints:
            await queue.put(endpoint)
        for _ in range(options.concurrency):
            await queue.put(None)

    async def worker() -> None:
        while True:
            item = await queue.get()
            if item is None:
                return
            deadline = options.deadline
            probed = None if deadline is not None and deadline.passed() else \
                await EndpointScan(net, options, *item).run()
            if probed is None:  # the window closed: this endpoint is not started, the scan drains
                assert deadline is not None
                deadline.not_started += 1
                continue
            results.append(probed)
            if on_result is not None:
                on_result(probed)

    workers = [asyncio.create_task(worker()) for _ in range(max(1, options.concurrency))]
    try:
        await asyncio.gather(producer(), *workers)
    finally:
        for task in workers:
            task.cancel()
    by_host: dict[str, list[EndpointDoc]] = defaultdict(list)
    for probed in results:
        by_host[probed.doc.host].append(probed.doc)
    for docs in by_host.values():
        correlate_host(docs)
    return results
