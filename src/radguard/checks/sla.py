"""Due dates for findings, by severity and by where the asset sits.

Defaults follow HICP Technical Volume 2, Table 8 (days to mitigate IT vulnerabilities):
Internet-facing (DMZ) systems — critical 14, high 30, medium 30, low 90; internal (data
centre) systems — critical 90, high 180, medium 180, low at the organisation's discretion
(no due date). Informational findings get no due date. Everything is configurable with a
YAML settings file (``sla:`` section) or command-line options.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

SEVERITIES = ("critical", "high", "medium", "low", "info")


class SlaDays(BaseModel):
    model_config = ConfigDict(extra="forbid")

    critical: int | None = Field(default=None, ge=0, le=36500)
    high: int | None = Field(default=None, ge=0, le=36500)
    medium: int | None = Field(default=None, ge=0, le=36500)
    low: int | None = Field(default=None, ge=0, le=36500)
    info: int | None = Field(default=None, ge=0, le=36500)

    def days(self, severity: str) -> int | None:
        value: int | None = getattr(self, severity, None)
        return value


class SlaPolicy(BaseModel):
    """Days to mitigate per severity, for exposed and for internal systems."""

    model_config = ConfigDict(extra="forbid")

    exposed: SlaDays = Field(default_factory=lambda: SlaDays(critical=14, high=30, medium=30, low=90))
    internal: SlaDays = Field(default_factory=lambda: SlaDays(critical=90, high=180, medium=180, low=None))
    # Zone names (whole words of the zone, case-insensitive) treated as Internet-facing.
    exposed_zones: list[str] = Field(default_factory=lambda: ["dmz", "internet", "public", "perimeter", "edge"])

    def is_exposed_zone(self, zone: str | None) -> bool:
        if not zone:
            return False
        words = set(re.split(r"[^a-z0-9]+", zone.lower()))
        return any(z.lower() in words for z in self.exposed_zones)

    def due(self, severity: str, since: datetime | date, exposed: bool) -> date | None:
        days = (self.exposed if exposed else self.internal).days(severity)
        if days is None:
            return None
        start = since.date() if isinstance(since, datetime) else since
        return start + timedelta(days=days)

    def with_overrides(self, overrides: dict[str, int | None]) -> SlaPolicy:
        """The same policy with some severities' days replaced for both zone kinds."""
        exposed = self.exposed.model_copy(update=overrides)
        internal = self.internal.model_copy(update=overrides)
        return self.model_copy(update={"exposed": exposed, "internal": internal})


def parse_override(text: str) -> tuple[str, int | None]:
    """``high=30`` or ``low=none`` from the command line."""
    name, sep, value = text.partition("=")
    name = name.strip().lower()
    if not sep or name not in SEVERITIES:
        raise ValueError(f"expected SEVERITY=DAYS with SEVERITY one of {', '.join(SEVERITIES)}, got {text!r}")
    value = value.strip().lower()
    if value in ("none", ""):
        return name, None
    if not value.isdigit():
        raise ValueError(f"days must be a whole number or 'none', got {value!r} in {text!r}")
    return name, int(value)
