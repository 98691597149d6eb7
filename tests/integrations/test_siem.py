"""SIEM: CEF in RFC 5424 syslog to real UDP, TCP and TLS listeners, parsed back; JSON lines."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from radguard.db.session import Database
from radguard.errors import RadguardError
from radguard.integrations.siem import Target, cef, send
from tests.integrations.conftest import SYSLOG, parse_cef, wait_for


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
    wait_for(received, sent)
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


def _audit_events(db: Database) -> None:
    from radguard.web.audit import record

    with db.transaction() as s:
        record(s, "alice@hospital", "finding.accept", target="finding:7", ip="10.1.2.3", via="web",
               detail={"until": "2027-01-31"})
        record(s, "bob", "user.disable", target="user:carol", via="cli")


@pytest.mark.parametrize("transport", ["tcp", "tls"])
def test_audit_events_as_cef_over_syslog(transport: str, findings_db: Database, rg: Callable[..., object],
                                         listener: Callable[[str], tuple[int, list[str]]],
                                         cert: tuple[Path, Path], sqlite_url: str) -> None:
    _audit_events(findings_db)
    port, received = listener(transport)
    args = ["--db", sqlite_url, "siem", "send", "--no-findings", "--audit", "--to", f"{transport}://127.0.0.1:{port}"]
    if transport == "tls":
        args += ["--ca-file", str(cert[0])]
    out = rg(*args)
    assert out.code == 0, out.err  # type: ignore[attr-defined]
    wait_for(received, 2)
    audit = [SYSLOG.match(m) for m in received]
    assert all(m is not None and m["msgid"] == "audit" for m in audit)
    parsed = [parse_cef(m["msg"]) for m in audit if m is not None]
    assert [h[4] for h, _ in parsed] == ["audit:finding.accept", "audit:user.disable"]  # oldest first
    header, ext = parsed[0]
    assert header[5] == "finding.accept" and ext["suser"] == "alice@hospital" and ext["src"] == "10.1.2.3"
    assert ext["cs1Label"] == "target" and ext["cs1"] == "finding:7" and ext["cs2"] == "web" and ext["cat"] == "audit"
    assert parsed[1][1]["suser"] == "bob" and "src" not in parsed[1][1]  # no address: no empty field


def test_audit_events_as_json(findings_db: Database, rg: Callable[..., object],
                              listener: Callable[[str], tuple[int, list[str]]], tmp_path: Path,
                              sqlite_url: str) -> None:
    _audit_events(findings_db)
    port, received = listener("udp")
    out = rg("--db", sqlite_url, "siem", "send", "--no-findings", "--audit", "--format", "json",
             "--to", f"udp://127.0.0.1:{port}")
    assert out.code == 0, out.err  # type: ignore[attr-defined]
    wait_for(received, 2)
    bodies = [json.loads(m["msg"]) for m in map(SYSLOG.match, received) if m is not None]
    assert [b["action"] for b in bodies] == ["finding.accept", "user.disable"]
    assert bodies[0]["record"] == "audit" and bodies[0]["actor"] == "alice@hospital" and bodies[0]["via"] == "web"
    path = tmp_path / "siem.jsonl"
    assert rg("--db", sqlite_url, "siem", "jsonl", "--audit", "-o", path).code == 0  # type: ignore[attr-defined]
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    audit_lines = [r for r in lines if r.get("record") == "audit"]
    assert [r["action"] for r in audit_lines] == ["finding.accept", "user.disable"]
    assert len(lines) > len(audit_lines) and all("check_id" in r for r in lines if r.get("record") != "audit")
