"""``radguard siem``: findings and audit events to a SIEM (syslog CEF over UDP/TCP/TLS, or JSON lines)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from radguard.cli.common import console, db

siem_app = typer.Typer(help="Findings and audit events to a SIEM: RFC 5424 syslog in CEF, or JSON lines.",
                       no_args_is_help=True)


def _records(ctx: typer.Context, states: list[str], audit: bool,
             findings_too: bool = True) -> tuple[list[dict[str, Any]], list[Any]]:
    from radguard.checks.findings import finding_record, list_findings
    from radguard.checks.loader import default_catalog
    from radguard.web.audit import recent

    catalog = default_catalog()
    with db(ctx).read() as session:
        findings = [finding_record(f, catalog) for f in list_findings(session, states=states)] if findings_too else []
        events = list(reversed(recent(session, limit=100_000))) if audit else []  # oldest first
        for e in events:
            session.expunge(e)
    return findings, events


@siem_app.command("send")
def send_cmd(
    ctx: typer.Context,
    to: str = typer.Option(..., "--to", help="udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT."),
    ca_file: Path | None = typer.Option(None, "--ca-file", help="TLS: the CA certificate that signed the receiver's."),
    fmt: str = typer.Option("cef", "--format", help="cef or json (the message body inside each syslog line)."),
    state: list[str] = typer.Option(["open"], "--state", help="Finding states to send (repeatable)."),
    audit: bool = typer.Option(False, "--audit", help="Send the audit events too."),
    findings_too: bool = typer.Option(True, "--findings/--no-findings", help="--no-findings: only the audit events."),
) -> None:
    """Send findings (and audit events) as RFC 5424 syslog messages."""
    from radguard.errors import InputError
    from radguard.integrations.siem import Target, audit_cef, audit_record, finding_cef, json_lines, send, syslog_line

    if fmt not in ("cef", "json"):
        raise InputError("--format", None, None, f"{fmt!r}: use cef or json")
    target = Target.parse(to, str(ca_file) if ca_file else None)
    findings, events = _records(ctx, state, audit, findings_too)
    if fmt == "cef":
        bodies = [(finding_cef(r), "finding", r["severity"]) for r in findings]
        bodies += [(audit_cef(e), "audit", "info") for e in events]
    else:
        bodies = [(line, "finding", r["severity"]) for line, r in zip(json_lines(findings), findings, strict=True)]
        bodies += [(line, "audit", "info") for line in json_lines(audit_record(e) for e in events)]
    sent = send(target, [syslog_line(body, msgid=msgid, severity=sev) for body, msgid, sev in bodies])
    console.print(f"Sent {sent} messages to {to}.")


@siem_app.command("jsonl")
def jsonl_cmd(
    ctx: typer.Context,
    output: Path | None = typer.Option(None, "--output", "-o", help="Write here instead of standard output."),
    state: list[str] = typer.Option(["open"], "--state", help="Finding states to write (repeatable)."),
    audit: bool = typer.Option(False, "--audit", help='Then the audit events, one per line, marked "record": "audit".'),
) -> None:
    """Write findings as JSON lines, one finding record per line (and, with --audit, the audit events)."""
    from radguard.integrations.siem import audit_record, json_lines
    from radguard.outfiles import write_file

    findings, events = _records(ctx, state, audit)
    lines = list(json_lines(findings)) + list(json_lines(audit_record(e) for e in events))
    text = "".join(line + "\n" for line in lines)
    if output is None:
        sys.stdout.write(text)
    else:
        write_file(output, text)
        console.print(f"Wrote {len(findings)} findings and {len(events)} audit events to {output}.")


def register(app: typer.Typer) -> None:
    app.add_typer(siem_app, name="siem")
