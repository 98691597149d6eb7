"""The numbers docs/safety.md promises — requests per endpoint and level — counted on the wire."""

from __future__ import annotations

import re

import pytest

from radguard.discovery.engine import PortHints, Probed, ScanOptions, run_scan
from radguard.discovery.http import QIDO_ROOTS
from tests.support.peers import Peer, pynetdicom_scp, recording_listener


def _scan(host: str, port: int, **options: object) -> Probed:
    [probed] = run_scan([(host, port)], ScanOptions(timeout=1.0, **options))  # type: ignore[arg-type]
    return probed


def _web(port: int) -> PortHints:
    """A free port declared as a web port (HTTP is then tried first, as on 80 or 8042)."""
    return PortHints(http=frozenset({port}))


def _requests(raw: bytes) -> list[str]:
    """Request lines as the server saw them, e.g. ``GET /system``."""
    return [m.decode() for m in re.findall(rb"^(GET \S+) HTTP/1\.1\r$", raw, re.MULTILINE)]


def _qido(requests: list[str]) -> list[str]:
    return [r for r in requests if "/studies?" in r]


def _answer(status: str, content_type: str | None = None, body: bytes = b"") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    return (head + "\r\n").encode() + body


DATASET = b'[{"0020000D": {"vr": "UI", "Value": ["1.2.3"]}}]'


@pytest.mark.parametrize("status, content_type, body, qido, anonymous", [
    ("404 Not Found", None, b"", len(QIDO_ROOTS), None),   # nothing at any root: every root tried once
    ("405 Method Not Allowed", None, b"", len(QIDO_ROOTS), None),
    ("500 Internal Server Error", None, b"", 1, None),     # a definite answer at the first root: stop
    ("400 Bad Request", None, b"", 1, None),
    ("401 Unauthorized", None, b"", 1, False),
    ("403 Forbidden", None, b"", 1, False),
    ("200 OK", "application/dicom+json", b"[]", 1, True),
    ("200 OK", "application/json; charset=utf-8", DATASET, 1, True),  # DICOM JSON by its shape
    # 200 that is not DICOM JSON (a single-page app answers every path): not DICOMweb, next root.
    ("200 OK", "text/html", b"<html><title>Viewer</title></html>", len(QIDO_ROOTS), None),
    ("200 OK", "application/json", b'{"status": "ok"}', len(QIDO_ROOTS), None),
    ("200 OK", "application/json", b"[]", len(QIDO_ROOTS), None),
    ("200 OK", None, b"", len(QIDO_ROOTS), None),
    ("204 No Content", None, b"", 1, None),
])
def test_qido_stops_at_the_first_definite_answer(status: str, content_type: str | None, body: bytes, qido: int,
                                                 anonymous: bool | None) -> None:
    with recording_listener(answer=_answer(status, content_type, body)) as server:
        probed = _scan(server.host, server.port, level=3, port_hints=_web(server.port))
    seen = _requests(bytes(server.received))
    assert seen[:2] == ["GET /", "GET /system"]  # no /plugins: not Orthanc
    assert len(_qido(seen)) == qido and len(seen) == 2 + qido
    assert len(seen) <= 7  # the level-3 ceiling per web service stated in docs/safety.md
    assert probed.sent["http"] == seen
    assert probed.doc.http is not None and probed.doc.http.dicomweb_anonymous is anonymous


def test_level_2_sends_no_qido() -> None:
    with recording_listener(answer=_answer("404 Not Found")) as server:
        _scan(server.host, server.port, level=2, port_hints=_web(server.port))
    assert _requests(bytes(server.received)) == ["GET /", "GET /system"]


def test_level_1_sends_nothing() -> None:
    with recording_listener(answer=_answer("200 OK")) as server:
        probed = _scan(server.host, server.port, level=1, port_hints=_web(server.port))
    assert probed.doc.state == "open" and server.connections == 1 and server.received == b""


def test_orthanc_with_dicomweb_gets_one_qido(orthanc_open: Peer) -> None:
    assert orthanc_open.http_port
    probed = _scan(orthanc_open.host, orthanc_open.http_port, level=3)
    assert probed.sent["http"] == ["GET /", "GET /system", "GET /plugins",
                                   "GET /dicom-web/studies?limit=1&includefield=StudyInstanceUID"]


def test_orthanc_without_dicomweb_gets_no_qido(orthanc_tls: Peer) -> None:
    """The plugin list says there is no DICOMweb: asking four roots would only collect 404s."""
    assert orthanc_tls.http_port
    probed = _scan(orthanc_tls.host, orthanc_tls.http_port, level=3)
    assert probed.sent["http"] == ["GET /", "GET /system", "GET /plugins"]
    assert probed.doc.http is not None and probed.doc.http.dicomweb_anonymous is None


@pytest.mark.parametrize("level, find", [(2, 0), (3, 1)])
def test_dicom_two_associations_one_echo_at_most(level: int, find: int) -> None:
    """Both probes accepted (anyone, any called AE): two associations, still a single C-ECHO."""
    with pynetdicom_scp(required_calling=()) as peer:
        probed = _scan(peer.host, peer.dicom_port, level=level, called_ae=peer.aet)
        events = peer.events()
    assert events.count("A-ASSOCIATE-RQ") == 2 and events.count("C-ECHO") == 1
    assert events.count("C-FIND") == find
    assert events[:2] == ["A-ASSOCIATE-RQ", "C-ECHO"]  # the echo is on the first association
    assert probed.doc.dicom is not None and probed.doc.dicom.echo is True
    assert probed.doc.dicom.accepts_any_called_ae is True


def test_dicom_echo_on_the_second_association_when_the_first_is_refused() -> None:
    with pynetdicom_scp(required_calling=("KNOWNSCU",)) as peer:
        probed = _scan(peer.host, peer.dicom_port, level=2, calling_ae="KNOWNSCU")
        events = peer.events()
    assert events == ["A-ASSOCIATE-RQ", "A-ASSOCIATE-RQ", "C-ECHO"]
    assert probed.doc.dicom is not None and probed.doc.dicom.echo is True
    assert probed.doc.dicom.accepts_unknown_calling_ae is False
