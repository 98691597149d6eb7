"""nmap ``-oX`` reports as discovery results.

What is read, per ``<host>/<ports>/<port protocol="tcp">``: the port state, the service name and
product/version (``-sV``), and three scripts whose findings radguard's checks already know how
to judge:

- ``dicom-ping``: ``config`` "Any AET is accepted (Insecure)" means the peer accepted nmap's
  association with made-up AE titles (``accepts_unknown_calling_ae`` and
  ``accepts_any_called_ae`` true); "Called AET check enabled" means the called AE is checked.
- ``ssl-enum-ciphers``: the accepted protocol versions (``TLSv1.0`` is stored as ``TLSv1``, as
  radguard's own probe names it) and the weak cipher classes found in the accepted suites.
- ``http-title``: kept with the evidence (``sent.scanner.scripts``), not interpreted.

UDP ports are not endpoints radguard records and are counted as skipped. Hosts nmap reports as
down have no ports and give nothing.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

from radguard.discovery.engine import Probed
from radguard.discovery.imports.xmlread import host_address, parse_xml, port_number
from radguard.discovery.results import DicomDoc, EndpointDoc, HttpDoc, Service, State, TlsDoc
from radguard.errors import InputError

_STATES: dict[str, State] = {"open": "open", "closed": "closed", "filtered": "filtered",
                             "open|filtered": "filtered", "closed|filtered": "filtered",
                             "unfiltered": "filtered"}
_HTTP = {"http", "http-alt", "http-proxy", "https", "https-alt", "ssl/http", "http-mgmt"}
_DICOM = {"dicom", "acr-nema"}
_TLS_NAMES = {"SSLv3": "SSLv3", "TLSv1.0": "TLSv1", "TLSv1.1": "TLSv1.1", "TLSv1.2": "TLSv1.2",
              "TLSv1.3": "TLSv1.3"}


def weak_classes(cipher: str) -> set[str]:
    """The weak cipher classes (radguard's names) an IANA/OpenSSL suite name belongs to."""
    name = cipher.upper()
    out: set[str] = set()
    if "_NULL_" in name or name.endswith("_NULL") or "WITH_NULL" in name:
        out.add("NULL")
    if "EXPORT" in name:
        out.add("export")
    if "RC4" in name:
        out.add("RC4")
    if "3DES" in name or "DES_EDE" in name:
        out.add("3DES")
    elif "_DES" in name or "DES40" in name:
        out.add("DES")
    if "_ANON_" in name or "ADH" in name.split("-"):
        out.add("anonymous")
    return out


def _service(name: str | None, tunnel: str | None, port_scripts: set[str]) -> Service:
    ssl = tunnel == "ssl" or (name or "").startswith("ssl/")
    base = (name or "").removeprefix("ssl/")
    if base in _DICOM or "dicom-ping" in port_scripts:
        return "dicom-tls" if ssl else "dicom"
    if base in _HTTP:
        return "https" if ssl or base.startswith("https") else "http"
    if base in {"hl7", "hl7-mllp"}:
        return "hl7-mllp"
    return "unknown"


def _elems(script: Element) -> dict[str, str]:
    return {e.get("key", ""): (e.text or "").strip() for e in script.findall("elem")}


def _tls(script: Element) -> TlsDoc:
    versions: list[str] = []
    weak: set[str] = set()
    suites: list[str] = []
    for table in script.findall("table"):
        key = table.get("key", "")
        if key not in _TLS_NAMES:
            continue
        versions.append(_TLS_NAMES[key])
        for cipher in table.findall("table[@key='ciphers']/table"):
            name = next((e.text or "" for e in cipher.findall("elem") if e.get("key") == "name"), "")
            classes = weak_classes(name)
            if classes:
                weak |= classes
                suites.append(name)
    order = list(_TLS_NAMES.values())
    versions.sort(key=order.index)
    return TlsDoc(version=versions[-1] if versions else None, versions=versions,
                  weak_cipher_classes=sorted(weak), weak_ciphers=sorted(suites))


def _port(host: str, port_el: Element, source: str, where: str) -> Probed:
    port = port_number(port_el.get("portid"), source, where)
    state_el = port_el.find("state")
    raw_state = state_el.get("state", "") if state_el is not None else ""
    if raw_state not in _STATES:
        raise InputError(source, where + "/state", "state", f"{raw_state!r} is not an nmap port state")
    service_el = port_el.find("service")
    scripts = {s.get("id", ""): s for s in port_el.findall("script")}
    name = service_el.get("name") if service_el is not None else None
    tunnel = service_el.get("tunnel") if service_el is not None else None
    service = _service(name, tunnel, set(scripts))
    doc = EndpointDoc(host=host, port=port, state=_STATES[raw_state],
                      service=service if raw_state == "open" else None)
    product = service_el.get("product") if service_el is not None else None
    version = service_el.get("version") if service_el is not None else None
    if "dicom-ping" in scripts:
        config = _elems(scripts["dicom-ping"]).get("config", "")
        any_ae = True if "Any AET is accepted" in config else False if "Called AET check" in config else None
        doc.dicom = DicomDoc(accepts_unknown_calling_ae=True if any_ae else None, accepts_any_called_ae=any_ae,
                             product=product, version=version)
    elif service in ("dicom", "dicom-tls"):
        doc.dicom = DicomDoc(product=product, version=version)
    if "ssl-enum-ciphers" in scripts:
        doc.tls = _tls(scripts["ssl-enum-ciphers"])
    if service in ("http", "https"):
        doc.http = HttpDoc(product=product, version=version)
    sent = {"scanner": {"tool": "nmap", "service": name, "tunnel": tunnel, "product": product,
                        "version": version,
                        "scripts": {sid: (s.get("output") or "")[:4000] for sid, s in sorted(scripts.items())}}}
    return Probed(doc, sent)


def read_nmap(path: Path) -> tuple[list[Probed], int, dict[str, str]]:
    """(endpoints, skipped ports, scan facts) of an nmap ``-oX`` report.

    :param path: the XML file nmap wrote.
    """
    source = str(path)
    root = parse_xml(path, ("nmaprun",), "an nmap -oX report")
    results: list[Probed] = []
    skipped = 0
    for h_index, host_el in enumerate(root.findall("host"), 1):
        where = f"element host[{h_index}]"
        addresses = [a for a in host_el.findall("address") if a.get("addrtype") in ("ipv4", "ipv6")]
        if not addresses:
            raise InputError(source, where, "address", "the host has no IPv4/IPv6 <address>")
        host = host_address(addresses[0].get("addr"), source, where + "/address")
        for p_index, port_el in enumerate(host_el.findall("ports/port"), 1):
            if port_el.get("protocol") != "tcp":
                skipped += 1
                continue
            results.append(_port(host, port_el, source, f"{where}/ports/port[{p_index}]"))
    facts = {"tool": "nmap", "version": root.get("version", ""), "args": (root.get("args") or "")[:1000]}
    return results, skipped, facts
