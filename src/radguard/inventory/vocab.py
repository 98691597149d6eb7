"""Controlled vocabularies of the inventory, shared by import, checks and reports."""

from __future__ import annotations

from enum import StrEnum


class AssetClass(StrEnum):
    MODALITY = "modality"
    PACS = "pacs"
    VNA = "vna"
    AI_APPLICATION = "ai_application"
    CLOUD_SERVICE = "cloud_service"
    REPORTING = "reporting"
    WORKSTATION = "workstation"
    REMOTE_ACCESS = "remote_access"
    INTEGRATION_ENGINE = "integration_engine"
    NETWORK_DEVICE = "network_device"
    OTHER = "other"


class ModalityType(StrEnum):
    """DICOM modality families as imaging departments name them."""

    CT = "CT"
    MR = "MR"
    CR_DX = "CR/DX"
    US = "US"
    MG = "MG"
    NM_PET = "NM/PET"
    XA_RF = "XA/RF"
    DEXA = "DEXA"
    OTHER = "OTHER"


class Protocol(StrEnum):
    DICOM = "dicom"
    DICOM_TLS = "dicom-tls"
    DICOMWEB = "dicomweb"
    HL7_MLLP = "hl7-mllp"
    HTTP = "http"
    HTTPS = "https"
    RDP = "rdp"
    SSH = "ssh"
    SMB = "smb"
    OTHER = "other"


class RemoteAccess(StrEnum):
    NONE = "none"
    ON_DEMAND = "on-demand"
    ALWAYS_ON = "always-on"


class Criticality(int):
    """Clinical criticality 1–5 (documented in docs/inventory.md).

    1 = no patient-care impact if unavailable; 2 = minor, workarounds for days;
    3 = degrades a department's throughput; 4 = delays diagnosis or treatment within hours;
    5 = life-critical or stops emergency imaging immediately.
    """


CRITICALITY_MEANING = {
    1: "no patient-care impact if unavailable",
    2: "minor impact; workarounds last for days",
    3: "degrades a department's throughput",
    4: "delays diagnosis or treatment within hours",
    5: "life-critical, or stops emergency imaging immediately",
}

DO_NOT_SCAN_TAG = "do-not-scan"

# Classes whose assets are "imaging assets" for segmentation and buffer checks.
IMAGING_CLASSES = frozenset(
    {AssetClass.MODALITY, AssetClass.PACS, AssetClass.VNA, AssetClass.AI_APPLICATION,
     AssetClass.WORKSTATION, AssetClass.REPORTING, AssetClass.INTEGRATION_ENGINE}
)
