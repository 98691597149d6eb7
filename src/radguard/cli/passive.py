"""``radguard passive import``: evidence from packet captures, without touching any device."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from radguard.cli.common import console, db, print_json
from radguard.discovery.targets import parse_ports
from radguard.errors import InputError
from radguard.validate import site_code

passive_app = typer.Typer(help="Passive discovery from packet captures (nothing is sent to any device).",
                          no_args_is_help=True)


@passive_app.command("import")
def import_cmd(
    ctx: typer.Context,
    capture: Path = typer.Argument(..., help="A pcap or pcapng file (streamed, any size)."),
    hl7_ports: str | None = typer.Option(None, "--hl7-ports", help="Ports that carry HL7 MLLP (default 2575)."),
    site: str | None = typer.Option(None, "--site", help="Site code for newly seen assets (default DISCOVERED)."),
    json_out: bool = typer.Option(False, "--json", help="Print the import summary as JSON."),
) -> None:
    """Store DICOM, HL7 (MSH only), HTTP and flow facts from CAPTURE as passive evidence.

    Never keeps data sets, HL7 segments other than MSH, HTTP bodies, query keys or cookie values.
    """
    from radguard.passive.store import import_capture

    if site is not None:
        try:
            site = site_code(site)
        except ValueError as exc:
            raise InputError("--site", None, None, str(exc)) from None
    ports = parse_ports(hl7_ports, "--hl7-ports") if hl7_ports else (2575,)
    with db(ctx).transaction() as session:
        result = import_capture(session, capture, tuple(ports), site)
    if json_out:
        print_json(result)
        return
    c = result["counts"]
    console.print(f"scan {result['scan']} (passive, {result['capture']}): {c['dicom_conversations']} DICOM, "
                  f"{c['hl7_conversations']} HL7, {c['http_conversations']} HTTP conversations, {c['flows']} flows; "
                  f"{c['assets_created']} new unconfirmed assets, {c['data_flows_added']} data flows added; "
                  f"{c['invalid_lines'] + c['oversized_lines']} facts skipped", highlight=False)
    for warning in c["warnings"]:
        console.print(f"warning: {warning}", highlight=False)


flows_app = typer.Typer(help="Flow logs: NetFlow v5/v9 and IPFIX (nfcapd files) or firewall CSV logs.",
                        no_args_is_help=True)
passive_app.add_typer(flows_app, name="flows")


@flows_app.command("import")
def flows_import_cmd(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="An nfcapd file, a collector folder (read recursively) or a CSV log."),
    fmt: str | None = typer.Option(None, "--format",
                                   help="netflow or csv (default: csv for a .csv file, else netflow)."),
    json_out: bool = typer.Option(False, "--json", help="Print the import summary as JSON."),
) -> None:
    """Store the conversations of a flow log as passive flow evidence.

    NetFlow v5/v9 and IPFIX files written by nfcapd are read with nfdump; the firewall CSV form is
    described in docs/passive.md. A bad CSV row stops the import and nothing is stored.
    """
    from radguard.passive.flowlogs import import_flow_log

    with db(ctx).transaction() as session:
        result = import_flow_log(session, path, fmt)
    if json_out:
        print_json(result)
        return
    c = result["counts"]
    console.print(f"scan {result['scan']} (passive, {c['format']} {result['flow_log']}): {c['records']} records, "
                  f"{c['flows']} conversations stored; {c['blocked']} blocked by the firewall and "
                  f"{c['skipped']} unreadable records left out", highlight=False)


@passive_app.command("capture")
def capture_cmd(
    ctx: typer.Context,
    interface: str = typer.Option(..., "--interface", "-i", help="Interface to listen on (a SPAN/mirror port)."),
    seconds: int = typer.Option(..., "--seconds", help="How long to listen (1 to 86400)."),
    max_megabytes: int = typer.Option(2048, "--max-megabytes", help="Stop early when the capture reaches this size."),
    hl7_ports: str | None = typer.Option(None, "--hl7-ports", help="Ports that carry HL7 MLLP (default 2575)."),
    site: str | None = typer.Option(None, "--site", help="Site code for newly seen assets (default DISCOVERED)."),
    json_out: bool = typer.Option(False, "--json", help="Print the import summary as JSON."),
) -> None:
    """Listen on INTERFACE for a bounded time, then store what was seen as passive evidence.

    Nothing is sent. The packets go to a temporary file that is deleted after the import; the
    same facts are kept as from `radguard passive import`.
    """
    import tempfile

    from radguard.passive.reader import capture_live
    from radguard.passive.store import import_capture

    site = _site(site)
    ports = parse_ports(hl7_ports, "--hl7-ports") if hl7_ports else (2575,)
    with tempfile.TemporaryDirectory(prefix="radguard-capture-") as tmp:
        path = capture_live(interface, seconds, Path(tmp) / "live.pcapng", max_megabytes)
        with db(ctx).transaction() as session:
            result = import_capture(session, path, tuple(ports), site, label=f"live {interface} {seconds} s")
    _summary(result, json_out)


def _site(site: str | None) -> str | None:
    if site is None:
        return None
    try:
        return site_code(site)
    except ValueError as exc:
        raise InputError("--site", None, None, str(exc)) from None


def _summary(result: dict[str, Any], json_out: bool) -> None:
    if json_out:
        print_json(result)
        return
    c = result["counts"]
    console.print(f"scan {result['scan']} (passive, {result['capture']}): {c['dicom_conversations']} DICOM, "
                  f"{c['hl7_conversations']} HL7, {c['http_conversations']} HTTP conversations, {c['flows']} flows; "
                  f"{c['assets_created']} new unconfirmed assets, {c['data_flows_added']} data flows added; "
                  f"{c['invalid_lines'] + c['oversized_lines']} facts skipped", highlight=False)
    for warning in c["warnings"]:
        console.print(f"warning: {warning}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(passive_app, name="passive")
