"""The metadata every check carries, validated when the catalog is loaded.

A check is data (``catalog/*.yaml``) plus one evaluator function (``evaluators/*.py``)
registered under the same ID. The metadata says what the check means to a security team
(severity, defense layer, safeguard type) and to a compliance officer (framework mappings).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["critical", "high", "medium", "low", "info"]
SafeguardType = Literal["technical", "administrative", "physical"]
DefenseLayer = Literal[
    "encryption", "segmentation", "access_control", "vendor_oversight", "training", "compliance",
    "backup_recovery", "monitoring", "asset_management",
]
EvidenceKind = Literal["probe", "inventory", "attestation", "feed", "document", "readiness"]
# What a check's findings are about: an asset of one of these classes, or something that is not
# an asset (a vendor, a service, a backup set, a role group, the organization).
Scope = Literal[
    "modality", "pacs", "vna", "ai_application", "cloud_service", "reporting", "workstation",
    "remote_access", "integration_engine", "network_device", "other",
    "vendor", "service", "backup_set", "playbook", "workforce", "organization",
]
Effort = Literal["low", "medium", "high"]

SEVERITY_ORDER: dict[str, int] = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}


class FrameworkRefs(BaseModel):
    """IDs in each framework. Validated against radguard's framework catalog in tests."""

    model_config = ConfigDict(extra="forbid")

    csf2: list[str] = Field(default_factory=list, description="NIST CSF 2.0 subcategories, e.g. PR.AA-05")
    # At least one: HICP is the practice guide healthcare leaders plan against, so a check that
    # maps to no practice cannot be placed on their roadmap.
    hicp: list[str] = Field(min_length=1, description="HICP sub-practices, e.g. 9.M.A")
    hph_cpg: list[str] = Field(default_factory=list, description="HPH CPG goals, e.g. essential.mfa")
    hipaa: list[str] = Field(default_factory=list, description="45 CFR citations, e.g. 164.312(e)(1)")


class CheckSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^RG-[A-Z0-9]+(-[A-Z0-9]+)*$")
    title: str = Field(min_length=5)
    description: str
    rationale: str
    scope: list[Scope] = Field(min_length=1)
    severity: Severity
    safeguard_type: SafeguardType
    defense_layer: DefenseLayer
    evidence_kind: list[EvidenceKind] = Field(min_length=1)
    remediation: str
    effort: Effort = "medium"
    references: list[str] = Field(default_factory=list)
    frameworks: FrameworkRefs
