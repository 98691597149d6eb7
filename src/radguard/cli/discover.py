"""``radguard discover``: clinically safe discovery of imaging endpoints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from radguard.cli.common import console, db, err_console, print_json
from radguard.discovery.engine import PortHints, Probed, ScanOptions
from radguard.discovery.run import DiscoveryRequest, check_ae, execute, plan
from radguard.discovery.targets import DEFAULT_PORTS, parse_ports
from radguard.discovery.vantage import check_vantage_zone
from radguard.errors import InputError
from radguard.validate import site_code

_DEFAULT_PORTS = ",".join(str(p) for p in DEFAULT_PORTS)


def _flag(value: bool | None, yes: str, no: str) -> str:
    return "?" if value is None else (yes if value else no)


def _describe(endpoint: dict[str, Any]) -> str:
    parts: list[str] = []
    dicom, http, tls = endpoint.get("dicom"), endpoint.get("http"), endpoint.get("tls")
    if dicom:
        product = " ".join(x for x in (dicom.get("product"), dicom.get("version")) if x)
        if product:
            parts.append(product)
        parts.append("calling AE: " + _flag(dicom["accepts_unknown_calling_ae"], "ANY accepted", "checked"))
        parts.append("called AE: " + _flag(dicom["accepts_any_called_ae"], "ANY accepted", "checked"))
        if dicom.get("echo") is not None:
            parts.append("echo " + ("ok" if dicom["echo"] else "refused"))
        if dicom.get("anonymous_query") is not None:
            parts.append("anonymous query " + ("ALLOWED" if dicom["anonymous_query"] else "refused"))
        if dicom.get("reject"):
            parts.append(f"reject: {dicom['reject']['meaning']}")
    if http:
        product = " ".join(x for x in (http.get("product"), http.get("version")) if x)
        parts.append(f"HTTP {http.get('status')}" + (f" {product}" if product else ""))
        parts.append("auth " + _flag(http["auth_required"], "required", "NOT required"))
        if http.get("dicomweb_anonymous") is not None:
            parts.append("anonymous DICOMweb " + ("ALLOWED" if http["dicomweb_anonymous"] else "refused"))
    if tls:
        parts.append(f"{tls.get('version')} {tls.get('cipher')}")
        if tls.get("versions"):
            parts.append("accepts " + ", ".join(tls["versions"]))
        if tls.get("weak_cipher_classes"):
            parts.append("WEAK ciphers: " + ", ".join(tls["weak_cipher_classes"]))
        if tls.get("client_certificate") == "required":
            parts.append("client certificate required")
    if endpoint.get("banner"):
        parts.append(f"banner: {endpoint['banner']}")
    return "; ".join(parts)


def discover(
    ctx: typer.Context,
    targets: list[str] = typer.Argument(..., metavar="TARGET...",
                                        help="Host, CIDR (10.0.0.0/24), host:port, or range (10.0.0.1-40)."),
    ports: str = typer.Option(_DEFAULT_PORTS, "--ports", help="Ports to probe on each host: 104,11112,8000-8010."),
    level: int = typer.Option(2, "--level", min=1, max=3,
                              help="1 TCP connect; 2 + association, C-ECHO, TLS, HTTP banners; "
                                   "3 + count-only C-FIND / QIDO-RS (needs --scope)."),
    scope: Path | None = typer.Option(None, "--scope", help="Scope YAML: authorized_by, reason, window, "
                                                            "targets, exclude, max_level."),
    exclude: list[str] = typer.Option([], "--exclude", help="Host, CIDR, host:port or range never to contact "
                                                            "(repeatable)."),
    rate: float = typer.Option(100.0, "--rate", min=0.1,
                               help="New connections per second, whole scan. The default (100) is the clinical-"
                                    "safety limit for live networks; only an authorised test lab or an agreed "
                                    "maintenance window raises it, with --concurrency (e.g. --rate 5000 "
                                    "--concurrency 512; see docs/discovery.md, 'Raising the limits')."),
    concurrency: int = typer.Option(64, "--concurrency", min=1, max=4096, help="Endpoints probed at once."),
    per_host: int = typer.Option(2, "--per-host", min=1, max=16, help="Connections at once to one host."),
    timeout: float = typer.Option(5.0, "--timeout", min=0.1, help="Seconds to wait for each answer."),
    calling_ae: str | None = typer.Option(None, "--calling-ae", help="An AE title the peers know (to tell "
                                                                     "the called-AE policy apart)."),
    called_ae: str | None = typer.Option(None, "--called-ae", help="The peers' own AE title, if known (to tell "
                                                                   "the calling-AE policy apart)."),
    site: str | None = typer.Option(None, "--site", help="Site code for newly found assets (default DISCOVERED)."),
    vantage_zone: str | None = typer.Option(None, "--vantage-zone",
                                            help="Network zone this scan runs from (as the inventory names "
                                                 "zones, e.g. corporate-lan); a general-IT zone that reaches a "
                                                 "modality is a segmentation finding."),
    hl7_ports: str | None = typer.Option(None, "--hl7-ports", help="Ports that run HL7 MLLP (default 2575): only "
                                                                   "connected to, never sent a message."),
    http_ports: str | None = typer.Option(None, "--http-ports", help="Ports that run plain HTTP (DICOMweb, viewers, "
                                                                     "REST) besides 80, 8000, 8042, 8080, ..."),
    https_ports: str | None = typer.Option(None, "--https-ports", help="TLS ports where HTTPS is tried first "
                                                                       "(besides 443, 8443)."),
    dicom_tls_ports: str | None = typer.Option(None, "--dicom-tls-ports", help="TLS ports where DICOM TLS is tried "
                                                                               "first (besides 2762)."),
    json_out: bool = typer.Option(False, "--json", help="Print the result document as JSON on stdout."),
) -> None:
    """Find imaging endpoints (DICOM, DICOM TLS, DICOMweb, HL7 MLLP, web viewers) without harming them.

    Never sends C-STORE, C-MOVE, C-GET, N-* or HL7 messages; keeps no patient data. Results are
    stored as evidence and merged into the inventory (new assets are unconfirmed).
    """
    database = db(ctx)
    if site is not None:
        try:
            site = site_code(site)  # the inventory's rule, so discovery never makes a site it refuses
        except ValueError as exc:
            raise InputError("--site", None, None, str(exc)) from None
    if not targets:
        raise InputError("TARGET", None, None, "name at least one target")
    named = {option: parse_ports(text, option) if text else ()
             for option, text in (("--hl7-ports", hl7_ports), ("--http-ports", http_ports),
                                  ("--https-ports", https_ports), ("--dicom-tls-ports", dicom_tls_ports))}
    try:
        hints = PortHints().assign(hl7=named["--hl7-ports"], http=named["--http-ports"],
                                   https=named["--https-ports"], dicom_tls=named["--dicom-tls-ports"])
    except ValueError as exc:
        raise InputError("port options", None, None, str(exc)) from exc
    options = ScanOptions(level=level, timeout=timeout, rate=rate, concurrency=concurrency, per_host=per_host,
                          calling_ae=check_ae(calling_ae, "--calling-ae"),
                          called_ae=check_ae(called_ae, "--called-ae"), port_hints=hints)
    # A port named for a service is probed even when --ports leaves it out.
    probed = tuple(dict.fromkeys((*parse_ports(ports), *(p for group in named.values() for p in group))))
    request = DiscoveryRequest(targets=list(targets), ports=probed, level=level, scope_file=scope,
                               exclude=list(exclude), options=options, site=site,
                               vantage_zone=check_vantage_zone(vantage_zone))
    scan_plan = plan(database, request)
    if json_out:
        result = execute(database, scan_plan)
        print_json(result)
        return
    with Progress(TextColumn("discovering"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[open]} open"),
                  TimeElapsedColumn(), console=err_console, transient=True) as progress:
        task = progress.add_task("scan", total=scan_plan.total, open=0)
        opened = 0

        def on_result(probed: Probed) -> None:
            nonlocal opened
            opened += probed.doc.state == "open"
            progress.update(task, advance=1, open=opened)

        result = execute(database, scan_plan, on_result)
    _print(result)


def _print(result: dict[str, Any]) -> None:
    scan = result["scan"]
    table = Table("Endpoint", "Service", "What it allows", "Errors")
    for endpoint in result["endpoints"]:
        if endpoint["state"] != "open":
            continue
        table.add_row(f"{endpoint['host']}:{endpoint['port']}", endpoint["service"], _describe(endpoint),
                      "; ".join(endpoint["errors"]))
    console.print(table)
    for skipped in result["skipped"]:
        where = skipped["host"] + (f":{skipped['port']}" if skipped["port"] else "")
        console.print(f"not contacted: {where} ({skipped['reason']})", highlight=False)
    counts = result["counts"]
    console.print(
        f"scan {scan['id']} (level {scan['level']}): {counts['endpoints']} endpoints probed, {counts['open']} open, "
        f"{counts['closed']} closed, {counts['filtered']} filtered, {counts['skipped']} hosts/endpoints not "
        f"contacted; {counts.get('assets_created', 0)} new unconfirmed assets, "
        f"{counts.get('assets_matched', 0)} matched",
        highlight=False,
    )
    if result.get("not_probed"):
        console.print(f"the scope's window closed at {result['window_end']} during the scan: "
                      f"{result['not_probed']} endpoints were not started; run the rest in the next window",
                      highlight=False)


def register(app: typer.Typer) -> None:
    app.command("discover")(discover)
