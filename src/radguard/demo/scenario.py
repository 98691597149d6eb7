"""Northwind Health on loopback: which inventory endpoints become simulated nodes, how each one
identifies itself, and which weaknesses it carries on purpose.

The inventory is the fictional Northwind example (two sites). Its ``10.a.b.c`` hosts become
``127.a.b.c`` and privileged ports become ``11000 + port`` (104 → 11104, 443 → 11443), so the
demo needs no root and never leaves loopback. Every weakness below is *seeded*: the demo's
end-to-end test checks that discovery and assessment find each one on the right asset, and
nothing else from the probes.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from radguard.demo.network import NodeSpec, port_is_free

DATA = Path(__file__).resolve().parent / "data"
INVENTORY_FILE = DATA / "northwind-inventory.yaml"
SCANNER_AE = "RADGUARD"  # the AE title the demo's nodes have been told about, as a site would for a scan

# Checks whose findings come from what the probes observed on the simulated nodes.
PROBE_CHECKS = ("RG-DICOM-ANY-CALLING-AE", "RG-DICOM-ANY-CALLED-AE", "RG-DICOM-ANON-QUERY", "RG-DICOM-NO-TLS",
                "RG-TLS-WEAK", "RG-WEB-NO-AUTH", "RG-HL7-CLEARTEXT")

# Implementation class UID roots the discovery fingerprint table knows, per toolkit or vendor.
DCMTK = "1.2.276.0.7230010.3.0."
PHILIPS = "1.3.46.670589."
SIEMENS = "1.3.12.2.1107.5."
GE = "1.2.840.113619.6."
CANON = "1.2.392.200036.9116."
FUJIFILM = "1.2.392.200036.9125."
DCM4CHE = "1.2.40.0.13.1."
FO_DICOM = "1.3.6.1.4.1.30071.8."
PYNETDICOM = "1.2.826.0.1.3680043.9.3811."

# DICOM policies: "open" accepts any calling and any called AE title; "calling" accepts only
# known calling AE titles but any called AE title; "strict" checks both.
OPEN, CALLING, STRICT = "open", "calling", "strict"


@dataclass(frozen=True)
class Profile:
    """How one inventory endpoint behaves in the demo."""

    uid: str = DCMTK + "3.6.7"
    version_name: str = "OFFIS_DCMTK_367"
    policy: str = STRICT
    find: str = "none"  # "anonymous", "known" or "none"
    tls: bool = False
    self_signed: bool = False
    http_mode: str = "portal"
    http_server: str = "nginx/1.22.1"
    http_version: str = "1.10.1"
    title: str = ""


# Keyed by "ASSET:port" as written in the inventory (before the loopback port mapping).
PROFILES: dict[str, Profile] = {
    # Main campus modalities: a mix of open consoles, partly locked and well-configured ones.
    "CT-ED-1:104": Profile(PHILIPS + "33.1.4.1.2", "CT_BRIL_412", OPEN),
    "CT-2:104": Profile(SIEMENS + "1.4", "SOMATOM_VA40A", STRICT),
    "MR-1:104": Profile(PHILIPS + "11.0.0.51.4.57", "PHILIPS_MR_571", OPEN),
    "MR-2:4100": Profile(GE + "358", "MR_DV26_0", CALLING),
    "DX-ED:104": Profile(FUJIFILM + "5342.1", "FCR_CAPSULA_V20", OPEN),
    "DX-WARD-PORTABLE:104": Profile(DCMTK + "3.5.4", "OFFIS_DCMTK_354", OPEN),  # a 2005 toolkit
    "US-1:104": Profile(GE + "374.1", "LOGIQE10_R3", STRICT),
    "US-2:104": Profile(PHILIPS + "2.4.1.2", "HDI4000_23", OPEN),
    "MG-1:104": Profile(DCMTK + "3.6.2", "OFFIS_DCMTK_362", CALLING),
    "PETCT-1:104": Profile(PHILIPS + "6.1.33", "GEMINI_TF_33", OPEN),
    "XA-CATH-1:104": Profile(PHILIPS + "40.2.2", "AZURION_R22", STRICT),
    # Core imaging: the PACS answers anyone's queries; the VNA is locked down and offers DICOM
    # TLS, but with a certificate it signed itself.
    "PACS-CORE:104": Profile(PHILIPS + "2.4.4.553", "ISPACS_44553", OPEN, find="anonymous"),
    "PACS-CORE:443": Profile(tls=True, http_mode="portal-auth", http_server="Microsoft-IIS/8.5",
                             title="IntelliSpace PACS Enterprise"),
    "VNA:104": Profile(DCMTK + "3.6.5", "OFFIS_DCMTK_365", STRICT, find="known"),
    "VNA:2762": Profile(DCMTK + "3.6.5", "OFFIS_DCMTK_365", STRICT, find="known", tls=True, self_signed=True),
    # Orthanc 1.10.1 (built on DCMTK 3.6.6) with its REST API and DICOMweb open to anyone.
    "DICOM-ROUTER:4242": Profile(DCMTK + "3.6.6", "OFFIS_DCMTK_366", OPEN, find="known"),
    "DICOM-ROUTER:8042": Profile(http_mode="orthanc-open", http_version="1.10.1"),
    "HL7-ENGINE:2575": Profile(),
    "RIS:443": Profile(tls=True, http_mode="portal-auth", http_server="Microsoft-IIS/10.0", title="Vue RIS"),
    "RIS:2575": Profile(),
    "DICTATION:443": Profile(tls=True, http_mode="portal", http_server="Microsoft-IIS/10.0",
                             title="PowerScribe One sign in"),
    "AI-TRIAGE:104": Profile(PYNETDICOM + "2.0.2", "PYNETDICOM_202", OPEN),
    "AI-MAMMO-CAD:104": Profile(DCM4CHE + "3.5.3", "dcm4che-5.26.0", CALLING),
    # The teleradiology gateway in the DMZ answers queries from any AE title.
    "TELERAD-GW:11112": Profile(FO_DICOM + "4.0.8", "fo-dicom 4.0.8", OPEN, find="anonymous"),
    "TELERAD-GW:443": Profile(tls=True, http_mode="portal-auth", title="Teleradiology Gateway"),
    "VENDOR-VPN:443": Profile(tls=True, http_mode="portal", http_server="xxxxxxxx-xxxxx",
                              title="FortiGate SSL-VPN login"),
    "DOSE-MONITOR:80": Profile(http_mode="portal", http_server="Microsoft-IIS/7.5", title="DoseWise Portal"),
    # Outpatient imaging center.
    "OIC-CT:104": Profile(CANON + "7.35", "TM_CT_AQP_100", OPEN),
    "OIC-MR:104": Profile(SIEMENS + "2", "MR_XA51", STRICT),
    "OIC-US:104": Profile(PHILIPS + "2.9.0.1", "EPIQ_90", CALLING),
    "OIC-MG:104": Profile(DCMTK + "3.6.0", "OFFIS_DCMTK_360", OPEN),  # an old toolkit on Windows 7
    "OIC-DEXA:104": Profile(GE + "16.1", "LUNAR_IDXA_16", OPEN),
    "OIC-MINIPACS:11112": Profile(DCM4CHE + "2.0.29", "dcm4che-2.0.29", OPEN, find="anonymous"),
    "OIC-MINIPACS:8080": Profile(http_mode="dicomweb-open", http_server="Apache/2.4.41",
                                 title="MedDream DICOM Viewer"),
    "OIC-WEBVIEWER:8042": Profile(http_mode="orthanc-auth", http_version="1.9.7"),
}


def loopback_host(host: str) -> str:
    """10.20.1.11 → 127.20.1.11 (private example addresses only)."""
    parts = host.split(".")
    if len(parts) != 4 or parts[0] != "10":
        raise ValueError(f"{host} is not one of the example's 10.x.y.z addresses")
    return ".".join(["127", *parts[1:]])


def loopback_port(port: int) -> int:
    """Privileged ports move above 11000 so the demo runs without root."""
    return 11000 + port if port < 1024 else port


@dataclass
class DemoNode:
    """A simulated endpoint and the inventory asset it stands for."""

    asset: str  # SITE/NAME
    spec: NodeSpec
    profile: Profile

    @property
    def where(self) -> str:
        return f"{self.spec.host}:{self.spec.port}"


@dataclass
class Scenario:
    nodes: list[DemoNode]
    inventory: dict[str, Any]  # the inventory document, with the demo's addresses
    moved: dict[str, int] = field(default_factory=dict)  # host:port → port used instead (port was taken)

    def inventory_yaml(self) -> str:
        header = ("# Northwind Health on loopback, written by `radguard demo`: the example inventory with\n"
                  "# 10.a.b.c hosts as 127.a.b.c and privileged ports as 11000+port.\n")
        return header + yaml.safe_dump(self.inventory, sort_keys=False, allow_unicode=True)

    def targets(self) -> list[str]:
        return [node.where for node in self.nodes]

    def expected(self) -> set[tuple[str, str]]:
        """Every seeded weakness as (SITE/NAME, check ID)."""
        return seeded_weaknesses(self.nodes)


def _free_port(host: str, wanted: int, taken: set[tuple[str, int]]) -> int:
    """The wanted port when free, else the next free one above it (a busy machine)."""
    port = wanted
    while (host, port) in taken or not port_is_free(host, port):
        port += 1
        if port > 65535:
            raise OSError(f"no free port on {host} above {wanted}")
    return port


def build_scenario(check_ports: bool = True) -> Scenario:
    """Read the example inventory, map it to loopback and attach a simulated node per profile."""
    doc = yaml.safe_load(INVENTORY_FILE.read_text(encoding="utf-8"))
    inventory = copy.deepcopy(doc)
    nodes: list[DemoNode] = []
    moved: dict[str, int] = {}
    taken: set[tuple[str, int]] = set()
    for asset in inventory["assets"]:
        ref = f"{asset['site']}/{asset['name']}"
        aes = asset.get("ae_titles") or []
        for endpoint in asset.get("endpoints") or []:
            profile = PROFILES.get(f"{asset['name']}:{endpoint['port']}")
            if not endpoint["host"].startswith("10."):
                continue  # a cloud host name: stays as it is, never contacted
            host, port = loopback_host(endpoint["host"]), loopback_port(int(endpoint["port"]))
            if profile is not None and check_ports:
                free = _free_port(host, port, taken)
                if free != port:
                    moved[f"{host}:{port}"] = free
                port = free
            endpoint["host"], endpoint["port"] = host, port
            if profile is None:
                continue  # listed in the inventory (e.g. RDP) but not simulated
            taken.add((host, port))
            protocol = str(endpoint["protocol"])
            kind = "hl7" if protocol == "hl7-mllp" else "http" if protocol in ("http", "https", "dicomweb") \
                else "dicom"
            spec = NodeSpec(
                name=asset["name"], host=host, port=port, kind=kind, ae_title=aes[0] if aes else "ANY-SCP",
                implementation_class_uid=profile.uid, implementation_version_name=profile.version_name,
                accept_any_calling_ae=profile.policy == OPEN, known_calling_aes=[SCANNER_AE, "NWPACS", "NWROUTER"],
                check_called_ae=profile.policy == STRICT, find=profile.find, tls=profile.tls,
                self_signed=profile.self_signed, http_mode=profile.http_mode, http_version=profile.http_version,
                http_server=profile.http_server, title=profile.title,
            )
            nodes.append(DemoNode(ref, spec, profile))
    return Scenario(nodes, inventory, moved)


def seeded_weaknesses(nodes: list[DemoNode]) -> set[tuple[str, str]]:
    """(SITE/NAME, check) for every weakness the nodes carry, as radguard should report it.

    - an ``open`` DICOM node accepts a stranger's calling AE *and* a wrong called AE;
      a ``calling`` node only the wrong called AE; a ``strict`` node neither;
    - ``find="anonymous"`` on an open node answers a stranger's count-only query;
    - an asset whose DICOM is only in cleartext has no TLS (one TLS port is enough);
    - a TLS node with a self-signed certificate has weak TLS;
    - open DICOMweb or an open Orthanc REST API answers without credentials;
    - an HL7 MLLP listener carries HL7 in cleartext.
    """
    out: set[tuple[str, str]] = set()
    cleartext_dicom: set[str] = set()
    tls_dicom: set[str] = set()
    for node in nodes:
        p, spec = node.profile, node.spec
        if spec.kind == "dicom":
            (tls_dicom if spec.tls else cleartext_dicom).add(node.asset)
            if p.policy == OPEN:
                out.add((node.asset, "RG-DICOM-ANY-CALLING-AE"))
                out.add((node.asset, "RG-DICOM-ANY-CALLED-AE"))
                if p.find == "anonymous":
                    out.add((node.asset, "RG-DICOM-ANON-QUERY"))
            elif p.policy == CALLING:
                out.add((node.asset, "RG-DICOM-ANY-CALLED-AE"))
        if spec.tls and p.self_signed:
            out.add((node.asset, "RG-TLS-WEAK"))
        if spec.kind == "http" and p.http_mode in ("dicomweb-open", "orthanc-open", "viewer"):
            out.add((node.asset, "RG-WEB-NO-AUTH"))
        if spec.kind == "hl7":
            out.add((node.asset, "RG-HL7-CLEARTEXT"))
    out |= {(asset, "RG-DICOM-NO-TLS") for asset in cleartext_dicom - tls_dicom}
    return out
