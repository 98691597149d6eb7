"""Tenable Nessus ``.nessus`` (NessusClientData_v2) reports as discovery results and vulnerabilities.

Per ``Report/ReportHost``: the address is the ``host-ip`` HostProperties tag, else the
ReportHost ``name``. Each ``ReportItem`` with a port other than 0 is an open TCP endpoint
(``svc_name`` gives the service: ``dicom``, ``www``/``http`` → http, with ``https``/``ssl``
names → https); items with severity above 0 or any ``<cve>`` are kept as vulnerabilities with
the plugin ID, name, CVEs, ``cvss3_base_score``/``cvss_base_score`` and plugin output (cut at
4,000 characters). Severity numbers follow Nessus: 0 info, 1 low, 2 medium, 3 high, 4 critical.
"""

from __future__ import annotations

import re
from pathlib import Path

from radguard.discovery.engine import Probed
from radguard.discovery.imports.store import ImportedReport, Vulnerability
from radguard.discovery.imports.xmlread import host_address, parse_xml, port_number, text
from radguard.discovery.results import DicomDoc, EndpointDoc, HttpDoc, Service
from radguard.errors import InputError

SEVERITY = {"0": "info", "1": "low", "2": "medium", "3": "high", "4": "critical"}
CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")


def service_of(name: str | None) -> Service:
    """radguard's service for a scanner's service name (Nessus svc_name, Greenbone port name)."""
    n = (name or "").lower()
    if "dicom" in n:
        return "dicom-tls" if "tls" in n or "ssl" in n else "dicom"
    if n in ("https", "https?", "ssl/http", "www-ssl") or ("http" in n and "ssl" in n):
        return "https"
    if n in ("www", "http", "http?", "http-alt", "www?"):
        return "http"
    if "hl7" in n:
        return "hl7-mllp"
    return "unknown"


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def read_nessus(path: Path) -> ImportedReport:
    """The endpoints and vulnerabilities of a ``.nessus`` v2 file.

    :param path: the exported ``.nessus`` file.
    """
    source = str(path)
    root = parse_xml(path, ("NessusClientData_v2",), "a Nessus .nessus (v2) report")
    endpoints: dict[tuple[str, int], Probed] = {}
    vulns: list[Vulnerability] = []
    skipped = 0
    for h_index, host_el in enumerate(root.iter("ReportHost"), 1):
        where = f"element ReportHost[{h_index}]"
        tags = {t.get("name"): text(t) for t in host_el.findall("HostProperties/tag")}
        host = host_address(tags.get("host-ip") or host_el.get("name"), source, where)
        for i_index, item in enumerate(host_el.findall("ReportItem"), 1):
            iwhere = f"{where}/ReportItem[{i_index}]"
            port = port_number(item.get("port"), source, iwhere)
            severity = item.get("severity", "")
            if severity not in SEVERITY:
                raise InputError(source, iwhere, "severity", f"{severity!r} is not a Nessus severity (0-4)")
            if port and item.get("protocol", "tcp") == "tcp":
                if (host, port) not in endpoints:
                    service = service_of(item.get("svc_name"))
                    doc = EndpointDoc(host=host, port=port, state="open", service=service)
                    if service in ("dicom", "dicom-tls"):
                        doc.dicom = DicomDoc()
                    elif service in ("http", "https"):
                        doc.http = HttpDoc()
                    endpoints[(host, port)] = Probed(doc, {"scanner": {"tool": "nessus",
                                                                       "service": item.get("svc_name")}})
            elif port:
                skipped += 1
            cves = sorted({c for c in (text(e) for e in item.findall("cve")) if c and CVE.match(c)})
            if severity != "0" or cves:
                plugin = item.get("pluginID")
                if not plugin:
                    raise InputError(source, iwhere, "pluginID", "the item has no pluginID")
                vulns.append(Vulnerability(
                    host=host, port=port or None, scanner_id=f"nessus:{plugin}",
                    name=(item.get("pluginName") or "")[:500], severity=SEVERITY[severity], cves=cves,
                    cvss=_float(text(item.find("cvss3_base_score")) or text(item.find("cvss_base_score"))),
                    output=(text(item.find("plugin_output")) or "")[:4000] or None))
    report_el = root.find("Report")
    facts = {"tool": "nessus", "report": (report_el.get("name", "") if report_el is not None else "")[:200]}
    return ImportedReport("nessus", path, list(endpoints.values()), skipped, facts, vulns)
