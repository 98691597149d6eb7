"""The validated shape of inventory records, shared by import and export.

One model per record type. Import turns every row into these models (so every error names a
field); export writes them back in the same shape, which is what makes export → import an
exact round trip.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from radguard.inventory.vocab import AssetClass, ModalityType, Protocol, RemoteAccess
from radguard.validate import PlausibleDate, SiteCode

_HOSTNAME = re.compile(r"^(?=.{1,253}$)(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\.?$")
_LOOKS_NUMERIC = re.compile(r"^[0-9.]+$")
_AE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # DICOM AE: 16 chars, no backslash/control


def validate_host(value: str) -> str:
    """Accept an IPv4/IPv6 address or an RFC 1123 host name; reject near-miss addresses."""
    value = value.strip().strip("[]")
    if not value:
        raise ValueError("host is empty")
    if ":" in value or _LOOKS_NUMERIC.match(value):
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError(f"{value!r} is not a valid IP address") from None
    if not _HOSTNAME.match(value):
        raise ValueError(f"{value!r} is not a valid host name or IP address")
    return value.lower()


class _Record(BaseModel):
    # allow_inf_nan=False: "inf" in a CSV cell or .inf in YAML is not a number of hours (and
    # would be exported as Infinity, which no JSON reader accepts back).
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, use_enum_values=True,
                              allow_inf_nan=False, str_max_length=10_000)


class SiteRecord(_Record):
    code: SiteCode
    name: str = Field(min_length=1, max_length=200)
    kind: str | None = None
    address: str | None = None
    organization_size: str | None = Field(default=None, pattern=r"^(small|medium|large)$")


class EndpointRecord(_Record):
    host: str
    port: int = Field(ge=1, le=65535)
    protocol: Protocol

    @field_validator("host")
    @classmethod
    def _host(cls, v: str) -> str:
        return validate_host(v)


class ComponentRecord(_Record):
    vendor: str = Field(min_length=1, max_length=200)
    product: str = Field(min_length=1, max_length=200)
    version: str | None = None
    cpe: str | None = Field(default=None, pattern=r"^cpe:(2\.3:|/)")
    purl: str | None = Field(default=None, pattern=r"^pkg:")


class AssetRecord(_Record):
    site: SiteCode
    name: str = Field(min_length=1, max_length=200)
    asset_class: AssetClass = Field(alias="class")
    modality_type: ModalityType | None = None
    vendor: str | None = None
    product: str | None = None
    software_version: str | None = None
    os_name: str | None = None
    os_version: str | None = None
    serial: str | None = None
    owner: str | None = None
    criticality: int | None = Field(default=None, ge=1, le=5)
    network_zone: str | None = None
    stores_phi: bool | None = None
    end_of_support: PlausibleDate | None = None
    remote_access: RemoteAccess | None = None
    remote_access_mfa: bool | None = None
    buffer_hours: float | None = Field(default=None, ge=0, le=100_000)
    buffer_studies: int | None = Field(default=None, ge=0, le=1_000_000_000)
    auto_delete_policy: str | None = None
    last_reviewed: PlausibleDate | None = None
    tags: list[str] = Field(default_factory=list)
    attributes: dict[str, Any] = Field(default_factory=dict)
    endpoints: list[EndpointRecord] = Field(default_factory=list)
    ae_titles: list[str] = Field(default_factory=list)
    software: list[ComponentRecord] = Field(default_factory=list)

    model_config = ConfigDict(populate_by_name=True)

    @field_validator("ae_titles")
    @classmethod
    def _ae(cls, values: list[str]) -> list[str]:
        for v in values:
            if not _AE.match(v):
                raise ValueError(f"{v!r} is not a valid DICOM AE title (1–16 printable characters)")
        if len(set(values)) != len(values):
            raise ValueError("the same AE title is listed twice")
        return values

    @field_validator("tags")
    @classmethod
    def _tags(cls, values: list[str]) -> list[str]:
        return sorted({t.strip().lower() for t in values if t.strip()})

    @field_validator("endpoints")
    @classmethod
    def _unique_endpoints(cls, values: list[EndpointRecord]) -> list[EndpointRecord]:
        seen = set()
        for e in values:
            if (e.host, e.port) in seen:
                raise ValueError(f"endpoint {e.host}:{e.port} is listed twice")
            seen.add((e.host, e.port))
        return values

    @field_validator("software")
    @classmethod
    def _unique_software(cls, values: list[ComponentRecord]) -> list[ComponentRecord]:
        # A device may bundle one library in two versions (both matter for advisories); the
        # same version twice is a mistake in the file.
        seen = set()
        for c in values:
            key = (c.vendor.lower(), c.product.lower(), c.version)
            if key in seen:
                version = f" {c.version}" if c.version else " (no version)"
                raise ValueError(f"software {c.vendor} {c.product}{version} is listed twice")
            seen.add(key)
        return values

    @property
    def key(self) -> tuple[str, str]:
        return (self.site, self.name)

    @property
    def ref(self) -> str:
        return f"{self.site}/{self.name}"


class DataFlowRecord(_Record):
    source: str = Field(alias="from", description="asset reference SITE/NAME")
    target: str = Field(alias="to", description="asset reference SITE/NAME")
    protocol: Protocol
    carries_phi: bool = True
    description: str | None = None

    model_config = ConfigDict(populate_by_name=True)

    @field_validator("source", "target")
    @classmethod
    def _ref(cls, v: str) -> str:
        if "/" not in v:
            raise ValueError(f"{v!r} must name an asset as SITE/NAME")
        return v


# Columns of the CSV layout, in export order. Lists are ';'-separated; see docs/inventory.md.
CSV_COLUMNS = [
    "site", "name", "class", "modality_type", "vendor", "product", "software_version",
    "os_name", "os_version", "serial", "owner", "criticality", "network_zone", "stores_phi",
    "end_of_support", "remote_access", "remote_access_mfa", "buffer_hours", "buffer_studies",
    "auto_delete_policy", "last_reviewed", "tags", "endpoints", "ae_titles", "software",
    "attributes",
]
CSV_REQUIRED = ("site", "name", "class")
CSV_OPTIONAL_EXTRA = ("site_name",)
