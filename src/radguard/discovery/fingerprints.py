"""From what a peer says about itself to a product and version.

A DICOM Implementation Class UID names the *toolkit* that built the software, not always the
product: Orthanc answers with DCMTK's UID. So DICOM fingerprints are refined with what the
HTTP side of the same host says (:func:`correlate_host`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from radguard.discovery.results import EndpointDoc


@dataclass(frozen=True)
class UidRoot:
    root: str
    product: str
    version_pattern: str | None = None  # regex on the version name; group(s) give the version
    version_join: str = ""  # how to join several groups ("." for OFFIS_DCMTK_367 → 3.6.7)


# Longest root first when matching. Toolkits first, then device vendors' organisation roots.
UID_ROOTS: tuple[UidRoot, ...] = (
    UidRoot("1.2.276.0.7230010.3", "DCMTK", r"OFFIS_DCMTK_(\d)(\d)(\d+)", "."),
    UidRoot("1.2.826.0.1.3680043.9.3811", "pynetdicom", r"PYNETDICOM_(\d)(\d)(\d+)", "."),
    UidRoot("1.2.826.0.1.3680043.2.1545", "Orthanc", r"ORTHANC_?(\S+)?"),
    UidRoot("1.2.40.0.13.1", "dcm4che", r"dcm4che-(\S+)"),
    UidRoot("1.3.6.1.4.1.30071.8", "fo-dicom", r"fo-dicom[ _]?(\S+)"),
    UidRoot("1.2.826.0.1.3680043.2.1143", "GDCM", r"GDCM[ _]?(\S+)"),
    UidRoot("1.2.826.0.1.3680043.2.135.1066", "Conquest DICOM server"),
    UidRoot("1.2.826.0.1.3680043.10.1375", "radguard"),
    UidRoot("1.2.840.113619", "GE HealthCare device"),
    UidRoot("1.3.12.2.1107.5", "Siemens Healthineers device"),
    UidRoot("1.3.46.670589", "Philips device"),
    UidRoot("1.2.392.200036.9116", "Canon Medical (Toshiba) device"),
    UidRoot("1.2.392.200036.9125", "Fujifilm device"),
    UidRoot("1.2.124.113532", "Agfa device"),
)

# Version names alone, for peers whose UID root is unknown (many products reuse toolkits).
VERSION_NAMES: tuple[tuple[str, str, str], ...] = (
    (r"^OFFIS_DCMTK_(\d)(\d)(\d+)$", "DCMTK", "."),
    (r"^PYNETDICOM_(\d)(\d)(\d+)$", "pynetdicom", "."),
    (r"^dcm4che-(\S+)$", "dcm4che", ""),
    (r"^fo-dicom[ _]?(\S+)$", "fo-dicom", ""),
    (r"^GDCM[ _]?(\S+)$", "GDCM", ""),
)


def _version(pattern: str | None, join: str, name: str | None) -> str | None:
    if not pattern or not name:
        return None
    match = re.match(pattern, name.strip(), re.IGNORECASE)
    if not match:
        return None
    groups = [g for g in match.groups() if g]
    return join.join(groups) if groups else None


def dicom_product(uid: str | None, version_name: str | None) -> tuple[str | None, str | None]:
    """(product, version) from an A-ASSOCIATE-AC's implementation class UID and version name."""
    if uid:
        for entry in sorted(UID_ROOTS, key=lambda e: -len(e.root)):
            if uid == entry.root or uid.startswith(entry.root + "."):
                return entry.product, _version(entry.version_pattern, entry.version_join, version_name)
    if version_name:
        for pattern, product, join in VERSION_NAMES:
            version = _version(pattern, join, version_name)
            if version:
                return product, version
    return None, None


def http_product(server: str | None, realm: str | None, title: str | None,
                 system: dict[str, object] | None) -> tuple[str | None, str | None]:
    """(product, version) of a web service from its headers, page title and Orthanc's /system."""
    if system and "ApiVersion" in system and "DicomAet" in system:
        version = system.get("Version")
        return "Orthanc", str(version) if version else None
    if realm and "orthanc" in realm.lower():
        return "Orthanc", None
    if title:
        lowered = title.lower()
        for needle, product in (("ohif", "OHIF Viewer"), ("orthanc", "Orthanc"),
                                ("dcm4chee", "dcm4chee-arc"), ("meddream", "MedDream"),
                                ("dicoogle", "Dicoogle")):
            if needle in lowered:
                return product, None
    if server:
        match = re.match(r"([A-Za-z][\w.-]*)(?:/([\w.-]+))?", server)
        if match:
            return match.group(1), match.group(2)
    return None, None


TOOLKITS = frozenset({"DCMTK", "pynetdicom", "GDCM", "fo-dicom", "dcm4che"})


def correlate_host(endpoints: Iterable[EndpointDoc]) -> None:
    """Where a host's DICOM port names only a toolkit and its web port names a product built on
    it (Orthanc on DCMTK), report the product on the DICOM endpoint too. Updates in place."""
    endpoints = list(endpoints)
    web = [e.http for e in endpoints if e.http is not None and e.http.product]
    if not web:
        return
    for endpoint in endpoints:
        dicom = endpoint.dicom
        if dicom is None or dicom.product not in TOOLKITS:
            continue
        for http in web:
            if http.product == "Orthanc" and dicom.product == "DCMTK":
                dicom.product, dicom.version = "Orthanc", http.version
                break
