"""Evaluators for catalog/lifecycle.yaml: operating-system and vendor end of support."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, field_validator

from radguard.checks.evaluators._support import mds2_statements, param
from radguard.checks.registry import CheckContext, Observation, evaluator
from radguard.db.models.inventory import Asset

OS_SUPPORT_FILE = Path(__file__).resolve().parent.parent / "data" / "os_support.yaml"
NO_OS_CLASSES = frozenset({"cloud_service", "network_device", "remote_access"})
DEVICE_CLASSES = frozenset({"modality", "pacs", "vna", "ai_application"})


class OsSupport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    pattern: str
    end: date
    note: str | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        re.compile(value)
        return value


@dataclass(frozen=True)
class OsTable:
    entries: tuple[tuple[OsSupport, re.Pattern[str]], ...]

    def match(self, os_name: str | None, os_version: str | None) -> OsSupport | None:
        text = " ".join(x for x in (os_name, os_version) if x).strip()
        if not text:
            return None
        for entry, pattern in self.entries:
            if pattern.search(text):
                return entry
        return None


@lru_cache(maxsize=4)
def os_table(path: Path = OS_SUPPORT_FILE) -> OsTable:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    entries = tuple((entry, re.compile(entry.pattern, re.IGNORECASE))
                    for entry in (OsSupport.model_validate(x) for x in doc["systems"]))
    return OsTable(entries)


@evaluator("RG-OS-UNSUPPORTED")
def os_unsupported(ctx: CheckContext) -> Iterator[Observation]:
    table = os_table()
    today = ctx.now.date()
    cache: dict[tuple[str | None, str | None], OsSupport | None] = {}
    for asset in ctx.assets():
        if not asset.os_name and not asset.os_version:
            continue
        key = (asset.os_name, asset.os_version)
        if key not in cache:
            cache[key] = table.match(*key)
        entry = cache[key]
        if entry is not None and entry.end <= today:
            yield Observation(
                asset_id=asset.id,
                evidence={"os_name": asset.os_name, "os_version": asset.os_version, "matched": entry.name,
                          "end_of_support": entry.end, **({"note": entry.note} if entry.note else {})},
                exposure=0.7, summary=f"{entry.name} has had no security updates since {entry.end.isoformat()}",
            )


def _years(years: float) -> timedelta:
    return timedelta(days=round(365.25 * years))


@evaluator("RG-EOS-NEAR")
def eos_near(ctx: CheckContext) -> Iterator[Observation]:
    today = ctx.now.date()
    horizon = today + _years(float(param(ctx, "eos_near_years")))
    for asset in ctx.assets():
        eos = asset.end_of_support
        if eos is None or eos > horizon:
            continue
        passed = eos <= today
        yield Observation(
            asset_id=asset.id, evidence={"end_of_support": eos, "days_left": (eos - today).days},
            exposure=0.7 if passed else 0.3,
            summary=f"vendor support ended on {eos.isoformat()}" if passed
            else f"vendor support ends on {eos.isoformat()} ({(eos - today).days} days)",
        )


@evaluator("RG-EOS-UNKNOWN")
def eos_unknown(ctx: CheckContext) -> Iterator[Observation]:
    """No date recorded. The MDS2's RDMP-3 says where to get one: a manufacturer that publishes
    support dates (yes) has the answer on its web page; one that does not (no) leaves the
    hospital with no way to plan, which weighs more in the risk score."""
    mds2 = mds2_statements(ctx)
    for asset in ctx.assets():
        if asset.asset_class not in DEVICE_CLASSES or asset.end_of_support is not None:
            continue
        st = mds2.get(asset.id)
        published = st.get("RDMP-3") if st is not None else None
        evidence: dict[str, Any] = {"end_of_support": None}
        summary, exposure = "no vendor end-of-support date recorded", 0.3
        if st is not None and published in ("yes", "no"):
            evidence["mds2"] = st.quote("RDMP-3", "RDMP-4")
            if published == "yes":
                summary += "; the manufacturer publishes support dates (MDS2 RDMP-3): copy it from there"
            else:
                summary += "; the manufacturer publishes no support dates (MDS2 RDMP-3 no)"
                exposure = 0.5
        yield Observation(asset_id=asset.id, evidence=evidence, exposure=exposure, summary=summary)


def _has_os(asset: Asset) -> bool:
    return bool((asset.os_name or "").strip())


@evaluator("RG-OS-UNKNOWN")
def os_unknown(ctx: CheckContext) -> Iterator[Observation]:
    for asset in ctx.assets():
        if asset.asset_class not in NO_OS_CLASSES and not _has_os(asset):
            yield Observation(asset_id=asset.id, evidence={"os_name": None, "os_version": asset.os_version},
                              exposure=0.3, summary="operating system not recorded")
