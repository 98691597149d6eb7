"""The web probe: what serves HTTP(S) on a port, whether it asks for credentials, and — at
level 3 — whether DICOMweb (QIDO-RS) answers a stranger.

A deliberately tiny HTTP/1.1 client over the scan's own connections: every request is a GET
with ``Connection: close``, every response is read up to a fixed size and time, and bodies are
only looked at for a page title or Orthanc's ``/system`` document. A QIDO-RS body is only
checked for the shape of DICOM JSON (no value is read) and then dropped: only whether it
answered is kept.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from radguard.discovery.dicom_wire import looks_like_html
from radguard.discovery.fingerprints import http_product
from radguard.discovery.net import Conn, ConnectFailed, Net
from radguard.discovery.results import HttpDoc

MAX_RESPONSE = 64 * 1024
QIDO_ROOTS = ("/dicom-web", "/dicomweb", "/dcm4chee-arc/aets/DCM4CHEE/rs", "/wado-rs")
NOT_HERE = frozenset({404, 405})  # nothing serves QIDO-RS at that root: try the next one
STATUS_PATHS = ("/system",)  # Orthanc REST: name and version when reachable


class NotHttp(Exception):
    def __init__(self, first_bytes: bytes) -> None:
        self.first_bytes = first_bytes
        super().__init__(f"not HTTP: first bytes {first_bytes[:8].hex()}")


@dataclass
class Response:
    status: int | None  # None: an HTML answer without a status line
    headers: dict[str, str]
    body: bytes  # at most MAX_RESPONSE bytes; discarded after the probe


@dataclass
class HttpOutcome:
    doc: HttpDoc | None = None
    dicomweb: bool = False
    not_http: bool = False
    sent: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: bool = False


def parse_response(raw: bytes) -> Response:
    """A response's status, headers and (bounded) body. An HTML page without a status line —
    what HTTP/0.9-style servers and some embedded web servers send — is HTTP with no status."""
    head, _sep, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    match = re.match(rb"HTTP/\d(?:\.\d)? (\d{3})", lines[0])
    if not match:
        if looks_like_html(raw[:16]):
            return Response(None, {}, raw)
        raise NotHttp(raw[:16])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _colon, value = line.partition(b":")
        headers[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    return Response(int(match.group(1)), headers, body)


class HttpProbe:
    def __init__(self, net: Net, host: str, port: int, *, tls: bool, level: int) -> None:
        self.net = net
        self.host = host
        self.port = port
        self.tls = tls
        self.level = level
        self.outcome = HttpOutcome()
        self.first: Conn | None = None  # an already open connection to use for the first request

    async def get(self, path: str) -> Response:
        self.outcome.sent.append(f"GET {path}")
        request = (f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                   "User-Agent: radguard-discovery\r\nAccept: */*\r\nConnection: close\r\n\r\n").encode()
        conn, self.first = self.first, None
        if conn is None:
            conn = await self.net.open(self.host, self.port, self.tls)
        try:
            await conn.send(request, self.net.timeout)
            raw = bytearray()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.net.timeout
            while len(raw) < MAX_RESPONSE:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    chunk = await asyncio.wait_for(conn.reader.read(MAX_RESPONSE - len(raw)), remaining)
                except TimeoutError:
                    break
                if not chunk:
                    break
                raw += chunk
                if len(raw) >= 5 and not raw.startswith(b"HTTP/"[: len(raw)]) and not looks_like_html(bytes(raw[:16])):
                    break
                if _complete(raw):
                    break
            if not raw:
                raise NotHttp(b"")
            return parse_response(bytes(raw))
        finally:
            await conn.close()

    async def run(self, first: Conn | None = None) -> HttpOutcome:
        out = self.outcome
        self.first = first
        try:
            root = await self.get("/")
        except NotHttp:
            out.not_http = True
            return out
        except (ConnectFailed, ConnectionError, TimeoutError, OSError) as exc:
            out.errors.append(f"HTTP GET /: {exc}")
            out.failed = True
            return out
        doc = out.doc = HttpDoc(status=root.status, server=root.headers.get("server"),
                                clock_offset_s=clock_offset(root.headers.get("date"), datetime.now(UTC)))
        realm = root.headers.get("www-authenticate")
        title = _title(root.body)
        system: dict[str, Any] | None = None
        auth_seen = root.status in (401, 403)
        open_api = False
        for path in STATUS_PATHS:
            try:
                answer = await self.get(path)
            except (NotHttp, ConnectFailed, ConnectionError, TimeoutError, OSError) as exc:
                out.errors.append(f"HTTP GET {path}: {exc}")
                continue
            if answer.status in (401, 403):
                auth_seen = True
                realm = realm or answer.headers.get("www-authenticate")
            elif answer.status == 200 and "json" in answer.headers.get("content-type", ""):
                try:
                    parsed = json.loads(answer.body)
                except ValueError:
                    parsed = None
                if isinstance(parsed, dict):
                    system = {k: parsed.get(k) for k in ("ApiVersion", "DicomAet", "Version", "Name")
                              if k in parsed}
                    open_api = True
        no_dicomweb = False
        if system and "ApiVersion" in system:
            try:
                plugins = await self.get("/plugins")
                if plugins.status == 200:
                    out.dicomweb = b"dicom-web" in plugins.body
                    no_dicomweb = not out.dicomweb  # Orthanc without the plugin: no QIDO-RS to ask
            except (NotHttp, ConnectFailed, ConnectionError, TimeoutError, OSError):
                pass
        doc.product, doc.version = http_product(doc.server, realm, title, system)
        if auth_seen:
            doc.auth_required = True
        elif open_api:
            doc.auth_required = False
        if self.level >= 3 and not no_dicomweb:
            await self._qido(doc)
        return out

    async def _qido(self, doc: HttpDoc) -> None:
        """QIDO-RS ``/studies?limit=1`` at the usual roots; keep only whether it answered.

        Roots are tried in order only while they answer 404/405 ("nothing here"); the first
        other answer, or any error, ends the search — so at most ``len(QIDO_ROOTS)`` GETs, and
        one whenever a DICOMweb server (or an authentication wall) answers at the first root.
        """
        for root in QIDO_ROOTS:
            try:
                answer = await self.get(f"{root}/studies?limit=1&includefield=StudyInstanceUID")
            except (NotHttp, ConnectFailed, ConnectionError, TimeoutError, OSError) as exc:
                self.outcome.errors.append(f"QIDO-RS at {root}: {exc}")
                return
            dicom_json = answer.status == 200 and is_dicom_json(answer)
            answer.body = b""  # never kept; only its shape was looked at
            if dicom_json:
                doc.dicomweb_anonymous = True
                self.outcome.dicomweb = True
                if doc.auth_required is None:
                    doc.auth_required = False
                return
            if answer.status in (401, 403):
                doc.dicomweb_anonymous = False
                doc.auth_required = True
                return
            if answer.status == 200:
                continue  # 200 but not DICOM JSON (a single-page app answers every path): not here
            if answer.status not in NOT_HERE:
                return  # a definite answer that says nothing about access (e.g. 204, 400, 500): stop


def is_dicom_json(answer: Response) -> bool:
    """True when a QIDO-RS answer is DICOM JSON (PS3.18 F.2): ``application/dicom+json``, or a
    JSON array of data sets — objects keyed by 8-hex-digit tags whose values carry a ``vr``.

    A web server that answers every path with 200 (a single-page viewer's ``index.html``) is
    not DICOMweb. Only the shape is checked: no value is read or kept.
    """
    media = answer.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "application/dicom+json":
        return True
    if media not in ("application/json", "text/json"):
        return False
    try:
        parsed = json.loads(answer.body)
    except ValueError:
        return False
    if not isinstance(parsed, list) or not parsed:
        return False
    return all(isinstance(item, dict) and item and all(
        isinstance(key, str) and _TAG.fullmatch(key) and isinstance(value, dict) and "vr" in value
        for key, value in item.items()) for item in parsed)


_TAG = re.compile(r"[0-9A-Fa-f]{8}")


def clock_offset(date_header: str | None, now: datetime) -> int | None:
    """Whole seconds the server's clock (its ``Date`` header) is ahead of ours, negative when
    behind; None without a valid header. An audit trail is only as good as the clock that
    stamps it, and this is the one clock reading a scan gets for free."""
    if not date_header or len(date_header) > 64:
        return None
    try:
        when = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": no zone given, so no comparison possible
        return None
    return round((when - now).total_seconds())


def _title(body: bytes) -> str | None:
    match = re.search(rb"<title[^>]*>(.{0,200}?)</title>", body, re.IGNORECASE | re.DOTALL)
    return match.group(1).decode("utf-8", "replace").strip() if match else None


def _complete(raw: bytearray) -> bool:
    """True once headers and a Content-Length body have arrived (for servers that keep the
    connection open despite ``Connection: close``)."""
    head, sep, body = bytes(raw).partition(b"\r\n\r\n")
    if not sep:
        return False
    match = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.IGNORECASE)
    return bool(match) and len(body) >= int(match.group(1))  # type: ignore[union-attr]
