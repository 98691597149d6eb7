"""IoMT platforms' device CSV exports as discovery results.

The generic mapping reads these radguard fields from columns (header names match ignoring case,
spaces, ``_`` and ``-``):

========== ======================================== =========================================
field      generic column names                     meaning
========== ======================================== =========================================
ip         ip, ip_address, address                  required: the device's IP address
ports      ports, port, open_ports                  TCP ports, separated by ``;``, ``,`` or space
hostname   hostname, host_name, dns_name            kept with the evidence
mac        mac, mac_address                         kept with the evidence
vendor     vendor, manufacturer                     kept with the evidence
model      model, product                           kept with the evidence
version    firmware, software_version, version      kept with the evidence
device     device_type, type, category              kept with the evidence
========== ======================================== =========================================

A *profile* adds the column names one product's export uses (:data:`PROFILES`). They are the
names these platforms' export documentation and examples show; a product release may rename a
column, so ``--column FIELD=Header`` overrides any of them. A device without a port gives no
endpoint (radguard records endpoints, not bare addresses) and is counted as skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

from radguard.discovery.engine import Probed
from radguard.discovery.imports.store import ImportedReport
from radguard.discovery.imports.xmlread import host_address, port_number
from radguard.discovery.results import DicomDoc, EndpointDoc, HttpDoc
from radguard.errors import InputError
from radguard.textfiles import read_csv, read_text, sniff_dialect

FIELDS = ("ip", "ports", "hostname", "mac", "vendor", "model", "version", "device")
GENERIC: dict[str, tuple[str, ...]] = {
    "ip": ("ip", "ip_address", "address"), "ports": ("ports", "port", "open_ports"),
    "hostname": ("hostname", "host_name", "dns_name"), "mac": ("mac", "mac_address"),
    "vendor": ("vendor", "manufacturer"), "model": ("model", "product"),
    "version": ("firmware", "software_version", "version"), "device": ("device_type", "type", "category"),
}
PROFILES: dict[str, dict[str, tuple[str, ...]]] = {
    "generic": {},
    "claroty": {"ip": ("IP List", "IP"), "mac": ("MAC List",), "vendor": ("Manufacturer",),
                "model": ("Model",), "version": ("Firmware Version", "OS Version"),
                "device": ("Device Type", "Device Category"), "ports": ("Open Ports",),
                "hostname": ("Host Name",)},
    "armis": {"ip": ("IP Address",), "mac": ("MAC Address",), "vendor": ("Manufacturer",),
              "model": ("Model",), "version": ("Firmware", "OS Version"), "device": ("Type", "Category"),
              "hostname": ("Name",)},
    "medigate": {"ip": ("IP", "IP Address"), "mac": ("MAC", "MAC Address"), "vendor": ("Manufacturer",),
                 "model": ("Model",), "version": ("Software Version",), "device": ("Device Type",),
                 "ports": ("Open Ports",)},
    "ordr": {"ip": ("IpAddress", "IP Address"), "mac": ("MacAddress", "MAC Address"),
             "vendor": ("Manufacturer",), "model": ("Model",), "version": ("OsVersion", "Firmware"),
             "device": ("Group", "Device Type")},
}
_PORT_SPLIT = re.compile(r"[;, ]+")
_DICOM_PORTS = {104, 11112, 4242}
_HTTP_PORTS = {80: "http", 8080: "http", 8042: "http", 443: "https", 8443: "https"}


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).lower()


def column_map(header: list[str], profile: str | None, overrides: dict[str, str], source: str) -> dict[str, str]:
    """field → the header cell that holds it, from the overrides, the profile and the generic names."""
    profile = profile or "generic"
    if profile not in PROFILES:
        raise InputError("--profile", None, None, f"{profile!r} is not a profile; use one of {', '.join(PROFILES)}")
    by_norm = {_norm(h): h for h in header}
    out: dict[str, str] = {}
    for fld in FIELDS:
        if fld in overrides:
            if _norm(overrides[fld]) not in by_norm:
                raise InputError(source, "header", overrides[fld], f"--column {fld}={overrides[fld]}: no such column")
            out[fld] = by_norm[_norm(overrides[fld])]
            continue
        for name in PROFILES[profile].get(fld, ()) + GENERIC[fld]:
            if _norm(name) in by_norm:
                out[fld] = by_norm[_norm(name)]
                break
    if "ip" not in out:
        looked = ", ".join(PROFILES[profile].get("ip", ()) + GENERIC["ip"])
        raise InputError(source, "header", None, f"no IP address column (looked for {looked}); "
                                                 "name it with --column ip=HEADER")
    return out


def read_iomt_csv(path: Path, profile: str | None = None, overrides: dict[str, str] | None = None) -> ImportedReport:
    """The endpoints of an IoMT platform's device export.

    :param path: the CSV file (``,``, ``;`` or tab separated).
    :param profile: a key of :data:`PROFILES` (default generic).
    :param overrides: field → header name, taking precedence over the profile.
    """
    source = str(path)
    body = read_text(path)
    table = read_csv(body.splitlines(keepends=True), source, sniff_dialect(body))
    columns = column_map(table.header, profile, overrides or {}, source)
    endpoints: dict[tuple[str, int], Probed] = {}
    skipped = 0
    for row in table.rows:
        cell = {fld: row.cells[col].strip() for fld, col in columns.items()}
        ips = [ip for ip in _PORT_SPLIT.split(cell["ip"]) if ip]
        if not ips:
            raise InputError(source, row.location, columns["ip"], "the device has no IP address")
        host = host_address(ips[0], source, f"{row.location}, field '{columns['ip']}'")
        ports = [p for p in _PORT_SPLIT.split(cell.get("ports", "")) if p]
        if not ports:
            skipped += 1
            continue
        facts = {k: v[:200] for k, v in cell.items() if k not in ("ip", "ports") and v}
        for raw in ports:
            port = port_number(raw.split("/")[0], source, f"{row.location}, field '{columns['ports']}'")
            if (host, port) in endpoints:
                continue
            doc = EndpointDoc(host=host, port=port, state="open", service="unknown")
            if port in _DICOM_PORTS:
                doc.service, doc.dicom = "dicom", DicomDoc(product=facts.get("model"), version=facts.get("version"))
            elif port in _HTTP_PORTS:
                doc.service = "https" if _HTTP_PORTS[port] == "https" else "http"
                doc.http = HttpDoc(product=facts.get("model"), version=facts.get("version"))
            endpoints[(host, port)] = Probed(doc, {"scanner": {"tool": "iomt-csv", "profile": profile or "generic",
                                                               "row": row.number, **facts}})
    return ImportedReport("iomt-csv", path, list(endpoints.values()), skipped, {"profile": profile or "generic"})
