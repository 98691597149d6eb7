"""Greenbone / OpenVAS XML reports (GMP ``get_reports`` XML, or the report file the web UI exports).

Both shapes hold ``report/results/result`` elements; each gives ``host`` (its text), ``port``
(``443/tcp``, or ``general/tcp`` for host-level results), ``nvt/@oid``, ``nvt/name``,
``threat`` (High, Medium, Low, Log), ``severity`` (CVSS) and CVE references (``nvt/refs/ref
type="cve"``, or the older ``nvt/cve`` text). ``report/ports/port`` lists the open ports.
Every numbered TCP port seen becomes an open endpoint; results above "Log" or with CVEs are kept
as vulnerabilities.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree.ElementTree import Element

from radguard.discovery.engine import Probed
from radguard.discovery.imports.nessus import CVE, service_of
from radguard.discovery.imports.store import ImportedReport, Vulnerability
from radguard.discovery.imports.xmlread import host_address, parse_xml, port_number, text
from radguard.discovery.results import DicomDoc, EndpointDoc, HttpDoc
from radguard.errors import InputError

_PORT = re.compile(r"^(?:(?P<name>[\w.?/-]*)\s*\()?(?P<port>\d+|general)/(?P<proto>tcp|udp|icmp)\)?$")
_THREATS = {"high": "high", "medium": "medium", "low": "low", "log": "info", "debug": "info",
            "false positive": "info", "critical": "critical", "alarm": "high"}
_KNOWN_PORTS = {104: "dicom", 11112: "dicom", 2762: "dicom-tls", 80: "http", 8080: "http", 443: "https",
                8443: "https", 2575: "hl7"}


def _parse_port(value: str | None, source: str, where: str) -> tuple[int | None, str]:
    match = _PORT.match((value or "").strip())
    if match is None:
        raise InputError(source, where, "port", f"{value!r} is not a Greenbone port (like 443/tcp)")
    if match["port"] == "general" or match["proto"] != "tcp":
        return None, match["proto"]
    return port_number(match["port"], source, where), "tcp"


def _host(result: Element, source: str, where: str) -> str:
    host_el = result.find("host")
    return host_address(text(host_el) if host_el is not None else None, source, where + "/host")


def read_greenbone(path: Path) -> ImportedReport:
    """The endpoints and vulnerabilities of a Greenbone/OpenVAS XML report.

    :param path: the report file.
    """
    source = str(path)
    root = parse_xml(path, ("report", "get_reports_response"), "a Greenbone/OpenVAS XML report")
    endpoints: dict[tuple[str, int], Probed] = {}
    vulns: list[Vulnerability] = []
    skipped = 0

    def endpoint(host: str, port: int) -> None:
        if (host, port) in endpoints:
            return
        service = service_of(_KNOWN_PORTS.get(port))
        doc = EndpointDoc(host=host, port=port, state="open", service=service)
        if service in ("dicom", "dicom-tls"):
            doc.dicom = DicomDoc()
        elif service in ("http", "https"):
            doc.http = HttpDoc()
        endpoints[(host, port)] = Probed(doc, {"scanner": {"tool": "greenbone"}})

    for p_index, port_el in enumerate(root.iter("port"), 1):
        host_el = port_el.find("host")
        if host_el is None:  # a result's own <port>: read with its result below
            continue
        where = f"element ports/port[{p_index}]"
        port, proto = _parse_port((port_el.text or "").strip(), source, where)
        host = host_address(text(host_el), source, where + "/host")
        if port is not None:
            endpoint(host, port)
        elif proto != "tcp":
            skipped += 1
    for r_index, result in enumerate(root.iter("result"), 1):
        if result.find("nvt") is None:
            continue  # a <result> count element of the report summary, not a result
        where = f"element result[{r_index}]"
        host = _host(result, source, where)
        port, _ = _parse_port(text(result.find("port")), source, where + "/port")
        if port is not None:
            endpoint(host, port)
        nvt = result.find("nvt")
        assert nvt is not None
        oid = nvt.get("oid")
        if not oid:
            raise InputError(source, where + "/nvt", "oid", "the result's NVT has no oid")
        threat = (text(result.find("threat")) or "log").lower()
        if threat not in _THREATS:
            raise InputError(source, where + "/threat", "threat", f"{threat!r} is not a Greenbone threat level")
        cves = {r.get("id", "") for r in nvt.findall("refs/ref") if r.get("type", "").lower() == "cve"}
        cves |= {c.strip() for c in (text(nvt.find("cve")) or "").split(",")}
        cves = {c for c in cves if CVE.match(c)}
        severity = text(result.find("severity"))
        try:
            cvss = float(severity) if severity else None
        except ValueError:
            raise InputError(source, where + "/severity", "severity", f"{severity!r} is not a number") from None
        if _THREATS[threat] != "info" or cves:
            vulns.append(Vulnerability(host=host, port=port, scanner_id=f"greenbone:{oid}",
                                       name=(text(nvt.find("name")) or text(result.find("name")) or "")[:500],
                                       severity=_THREATS[threat], cves=sorted(cves), cvss=cvss,
                                       output=(text(result.find("description")) or "")[:4000] or None))
    return ImportedReport("greenbone", path, list(endpoints.values()), skipped, {"tool": "greenbone"}, vulns)
