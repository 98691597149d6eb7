"""SIEM: CEF in RFC 5424 syslog to real UDP, TCP and TLS listeners, parsed back; JSON lines."""

from __future__ import annotations

import contextlib
import json
import re
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from radguard.db.session import Database
from radguard.errors import RadguardError
from radguard.integrations.siem import Target, cef, send

SYSLOG = re.compile(r"^<(?P<pri>\d+)>1 (?P<ts>\S+) (?P<host>\S+) radguard (?P<pid>\d+) (?P<msgid>\S+) - (?P<msg>.*)$",
                    re.S)


def parse_cef(line: str) -> tuple[list[str], dict[str, str]]:
    """Split a CEF line as a SIEM does: 7 header fields on unescaped ``|``, then key=value pairs."""
    assert line.startswith("CEF:0|")
    fields, cur, i = [], "", 0
    while len(fields) < 7:
        ch = line[i]
        if ch == "\\" and line[i + 1] in "\\|":
            cur += line[i + 1]
            i += 2
            continue
        if ch == "|":
            fields.append(cur)
            cur = ""
        else:
            cur += ch
        i += 1
    ext_text = line[i:]
    ext: dict[str, str] = {}
    for match in re.finditer(r"(\w+)=((?:\\.|[^\\=])*?)(?=\s\w+=|$)", ext_text):
        ext[match[1]] = re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], match[2])
    return fields, ext


def _octets(data: bytes) -> list[str]:
    out = []
    while data:
        length, _, rest = data.partition(b" ")
        n = int(length)
        out.append(rest[:n].decode())
        data = rest[n:]
    return out


@pytest.fixture
def listener(cert: tuple[Path, Path]) -> Iterator[Callable[[str], tuple[int, list[str]]]]:
    """Start a UDP, TCP or TLS receiver on 127.0.0.1; returns (port, messages received so far)."""
    stops: list[Callable[[], None]] = []

    def start(kind: str) -> tuple[int, list[str]]:
        received: list[str] = []
        if kind == "udp":
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", 0))
            sock.settimeout(0.2)

            def loop() -> None:
                while not stop.is_set():
                    try:
                        received.append(sock.recv(70000).decode())
                    except TimeoutError:
                        continue
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sock.listen()
            sock.settimeout(0.2)
            context = None
            if kind == "tls":
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(*cert)

            def loop() -> None:
                while not stop.is_set():
                    try:
                        conn, _ = sock.accept()
                    except TimeoutError:
                        continue
                    conn.settimeout(5)
                    if context is not None:
                        try:
                            conn = context.wrap_socket(conn, server_side=True)
                        except (ssl.SSLError, OSError):  # a client that does not trust us
                            conn.close()
                            continue
                    data = b""
                    with contextlib.suppress(ssl.SSLError, OSError):
                        while chunk := conn.recv(65536):
                            data += chunk
                    if isinstance(conn, ssl.SSLSocket):
                        with contextlib.suppress(ssl.SSLError, OSError):
                            conn.unwrap()
                    conn.close()
                    received.extend(_octets(data))
        stop = threading.Event()
        thread = threading.Thread(target=loop, daemon=True)
        thread.start()

        def halt() -> None:
            stop.set()
            thread.join(5)
            sock.close()
        stops.append(halt)
        return sock.getsockname()[1], received

    yield start
    for halt in stops:
        halt()


def _wait(received: list[str], count: int) -> None:
    import time

    deadline = time.monotonic() + 10
    while len(received) < count and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_findings_as_cef_over_syslog(transport: str, findings_db: Database, rg: Callable[..., object],
                                     listener: Callable[[str], tuple[int, list[str]]],
                                     cert: tuple[Path, Path], sqlite_url: str) -> None:
    port, received = listener(transport)
    args = ["--db", sqlite_url, "siem", "send", "--to", f"{transport}://127.0.0.1:{port}"]
    if transport == "tls":
        args += ["--ca-file", str(cert[0])]
    out = rg(*args)
    assert out.code == 0, out.err  # type: ignore[attr-defined]
    sent = int(re.search(r"Sent (\d+)", out.out)[1])  # type: ignore[attr-defined, index]
    assert sent >= 3
    _wait(received, sent)
    assert len(received) == sent
    parsed = []
    for message in received:
        m = SYSLOG.match(message)
        assert m, message
        assert m["msgid"] == "finding" and int(m["pri"]) // 8 == 20
        parsed.append(parse_cef(m["msg"]))
    kev = [(h, e) for h, e in parsed if h[4] == "RG-KEV"]
    assert kev and kev[0][0][:4] == ["CEF:0", "radguard", "radguard", kev[0][0][3]]
    header, ext = kev[0]
    assert header[6] == "10"  # RG-KEV is critical
    assert ext["cs1Label"] == "state" and ext["cs1"] == "open" and ext["dhost"] == "PORTAL"
    assert ext["cn1Label"] == "riskScore" and int(ext["cn1"]) > 0 and ext["externalId"].isdigit()


def test_cef_escaping_round_trips() -> None:
    line = cef("SIG|1", "a\\b|c", 5, {"msg": "x=1\nline two \\ end", "cs1": "plain"})
    header, ext = parse_cef(line)
    assert header[4:] == ["SIG|1", "a\\b|c", "5"]
    assert ext == {"msg": "x=1\nline two \\ end", "cs1": "plain"}


def test_unreachable_and_untrusted_receivers_are_clear_errors(
        listener: Callable[[str], tuple[int, list[str]]]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with pytest.raises(RadguardError, match=f"cannot send to tcp://127.0.0.1:{free}"):
        send(Target.parse(f"tcp://127.0.0.1:{free}"), ["x"])
    port, _ = listener("tls")
    with pytest.raises(RadguardError, match=r"TLS to tls://127\.0\.0\.1"):
        send(Target.parse(f"tls://127.0.0.1:{port}"), ["x"])  # system CAs do not trust the test cert


def test_json_lines(findings_db: Database, rg: Callable[..., object], tmp_path: Path, sqlite_url: str) -> None:
    out_path = tmp_path / "findings.jsonl"
    result = rg("--db", sqlite_url, "siem", "jsonl", "-o", out_path)
    assert result.code == 0, result.err  # type: ignore[attr-defined]
    records = [json.loads(line) for line in out_path.read_text().splitlines()]
    assert {r["check_id"] for r in records} >= {"RG-KEV", "RG-ADVISORY"}
    assert all(r["state"] in ("open", "reopened") for r in records)
