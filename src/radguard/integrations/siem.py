"""Findings and audit events for a SIEM: CEF in RFC 5424 syslog over UDP, TCP or TLS, or JSON lines.

Framing: UDP sends one message per datagram (RFC 5426); TCP and TLS use octet counting
(``LEN SP MSG``, RFC 6587 §3.4.1 / RFC 5425), which keeps a message with a newline in it whole.
The RFC 5424 header is ``<PRI>1 TIMESTAMP HOSTNAME radguard PROCID MSGID -`` with facility
local4 (20) and a syslog severity derived from the finding's severity; MSGID is ``finding`` or
``audit``. The CEF field mapping is in docs/integrations.md and :func:`finding_cef`/:func:`audit_cef`.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import radguard
from radguard.errors import InputError, RadguardError

FACILITY = 20  # local4
CEF_SEVERITY = {"critical": 10, "high": 8, "medium": 5, "low": 3, "info": 1}
SYSLOG_SEVERITY = {"critical": 2, "high": 3, "medium": 4, "low": 5, "info": 6}  # crit, err, warning, notice, info


class SiemError(RadguardError):
    """The SIEM receiver could not be reached or refused the connection."""

    exit_code = 5


def _header(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _ext(value: object) -> str:
    text = str(value).replace("\\", "\\\\").replace("=", "\\=").replace("\r\n", "\n")
    return text.replace("\n", "\\n").replace("\r", "\\n")


def cef(signature: str, name: str, severity: int, extension: dict[str, object]) -> str:
    """One CEF:0 line; header fields escape ``\\`` and ``|``, extension values ``\\``, ``=`` and newlines."""
    ext = " ".join(f"{k}={_ext(v)}" for k, v in extension.items() if v is not None and v != "")
    return "|".join(["CEF:0", "radguard", "radguard", _header(radguard.__version__), _header(signature),
                     _header(name), str(severity)]) + "|" + ext


def _ms(value: Any) -> int | None:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    if isinstance(value, str):
        try:
            return int(datetime.fromisoformat(value).timestamp() * 1000)
        except ValueError:
            return None
    return None


def finding_cef(record: dict[str, Any]) -> str:
    """A finding record (:func:`radguard.checks.findings.finding_record`) as CEF."""
    asset = record.get("asset") or {}
    return cef(record["check_id"], record["title"], CEF_SEVERITY.get(record["severity"], 5), {
        "externalId": record["id"], "rt": _ms(record.get("last_seen")), "start": _ms(record.get("first_seen")),
        "dhost": asset.get("name"), "cs1Label": "state", "cs1": record["state"],
        "cs2Label": "site", "cs2": asset.get("site"), "cs3Label": "key", "cs3": record.get("key"),
        "cn1Label": "riskScore", "cn1": record.get("risk_score"), "cs4Label": "due",
        "cs4": record["due"].isoformat() if hasattr(record.get("due"), "isoformat") else record.get("due"),
        "cat": "finding", "msg": record.get("summary"),
    })


def audit_cef(event: Any) -> str:
    """An audit event (who changed what) as CEF."""
    return cef(f"audit:{event.action}", event.action, 3, {
        "externalId": event.id, "rt": _ms(event.at), "suser": event.actor, "src": event.ip,
        "cs1Label": "target", "cs1": event.target, "cs2Label": "via", "cs2": event.via, "cat": "audit",
        "msg": event.note,
    })


def audit_record(event: Any) -> dict[str, Any]:
    """An audit event as a JSON-lines record: the same fields as its CEF form, marked ``"record": "audit"``
    so a SIEM reading one stream can tell it from a finding record."""
    return {"record": "audit", "id": event.id, "at": event.at, "actor": event.actor, "action": event.action,
            "target": event.target, "via": event.via, "ip": event.ip, "note": event.note}


def syslog_line(message: str, *, msgid: str, severity: str = "info", hostname: str | None = None,
                at: datetime | None = None) -> str:
    """An RFC 5424 message with no structured data around ``message``."""
    pri = FACILITY * 8 + SYSLOG_SEVERITY.get(severity, 6)
    stamp = (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    host = (hostname or socket.gethostname() or "-")[:255].replace(" ", "_")
    return f"<{pri}>1 {stamp} {host} radguard {os.getpid()} {msgid} - {message}"


@dataclass
class Target:
    """Where to send: ``udp``, ``tcp`` or ``tls``, a host and port, and for TLS a CA file."""

    transport: str
    host: str
    port: int
    ca_file: str | None = None
    timeout: float = 10.0

    @classmethod
    def parse(cls, url: str, ca_file: str | None = None) -> Target:
        """``udp://host:514``, ``tcp://host:514`` or ``tls://host:6514``."""
        scheme, sep, rest = url.partition("://")
        host, _, port = rest.rpartition(":")
        if not sep or scheme not in ("udp", "tcp", "tls") or not host or not port.isdigit():
            raise InputError("--to", None, None, f"{url!r}: use udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT")
        return cls(scheme, host.strip("[]"), int(port), ca_file)


def send(target: Target, messages: Sequence[str]) -> int:
    """Send every message; returns how many were sent. Raises SiemError naming the receiver."""
    where = f"{target.transport}://{target.host}:{target.port}"
    try:
        if target.transport == "udp":
            with socket.socket(socket.AF_INET6 if ":" in target.host else socket.AF_INET, socket.SOCK_DGRAM) as s:
                for m in messages:
                    s.sendto(m.encode()[:65000], (target.host, target.port))
            return len(messages)
        raw = socket.create_connection((target.host, target.port), timeout=target.timeout)
        conn: socket.socket = raw
        if target.transport == "tls":
            context = ssl.create_default_context(cafile=target.ca_file)
            conn = context.wrap_socket(raw, server_hostname=target.host)
        with conn:
            for m in messages:
                data = m.encode()
                conn.sendall(f"{len(data)} ".encode() + data)
            if isinstance(conn, ssl.SSLSocket):
                # close_notify tells the receiver nothing was cut off; every message was already
                # sent, and receivers that never answer close_notify are common.
                with contextlib.suppress(ssl.SSLError, OSError):
                    conn.unwrap()
        return len(messages)
    except ssl.SSLError as exc:
        raise SiemError(f"TLS to {where} failed ({exc.reason or exc}); check --ca-file") from None
    except OSError as exc:
        raise SiemError(f"cannot send to {where}: {exc.strerror or exc}") from None


def json_lines(records: Iterable[dict[str, Any]]) -> Iterable[str]:
    """One compact JSON object per line (the finding records as ``findings show --json`` has them)."""
    for record in records:
        yield json.dumps(record, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v),
                         sort_keys=True, separators=(",", ":"))
