"""Continuity arithmetic: during an outage of N hours, which modalities keep acquiring?

When PACS, the router or the network is down, a modality can keep scanning only while its
local disk holds the studies it cannot send. The inventory records, per modality,
``buffer_hours`` (hours of a normal day's studies the disk holds beyond what is already there)
and/or ``buffer_studies`` (studies it holds), and the ``auto_delete_policy``. A service adds
the modality's expected ``studies_per_hour``, which turns a study count into hours.

The runway is the smaller of the two limits that are known. A modality whose runway is
shorter than the outage *runs out* at that hour; one with no buffer figure is *unknown* — the
honest answer, and a prompt to ask the vendor. The auto-delete policy is read for two risks:
deleting studies that were never archived (data loss during the outage), and deleting
studies that were archived shortly before the outage, which the archive may lose if it has
to be restored from a backup older than its RPO.

Services are also compared with drills: an RTO shorter than the fastest recovery any
functional or full-scale drill has shown is flagged, as is an RTO never demonstrated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from radguard.db.models.inventory import Asset
from radguard.db.models.response import ImagingService

PolicyKind = Literal["unknown", "manual", "after-days", "sent-at-threshold", "may-delete-unsent", "other"]
RunwayStatus = Literal["keeps-acquiring", "runs-out", "unknown"]
RtoStatus = Literal["demonstrated", "slower-than-rto", "never-demonstrated"]


@dataclass(frozen=True)
class DeletePolicy:
    kind: PolicyKind
    text: str | None
    days: int | None = None
    threshold_percent: int | None = None

    @property
    def risk(self) -> str | None:
        """What could go wrong for images during an outage, in words for the binder."""
        if self.kind == "unknown":
            return "auto-delete policy unknown: ask the vendor whether unsent studies can be deleted"
        if self.kind == "may-delete-unsent":
            return "the policy may delete studies that were never archived: stop or watch this modality"
        if self.kind == "sent-at-threshold":
            return ("archived studies are deleted as the disk fills: studies sent shortly before the outage "
                    "may not be recoverable from the modality if the archive is restored from an older backup")
        return None


_PERCENT = re.compile(r"(\d{1,3})\s*%")
_DAYS = re.compile(r"(\d+)\s*day")


def parse_policy(text: str | None) -> DeletePolicy:
    """Classify the free-text ``auto_delete_policy`` of the inventory.

    Only phrases whose meaning is clear are trusted; anything else is shown as written.
    """
    if text is None or not text.strip() or text.strip().lower() in ("unknown", "?", "n/a", "not known"):
        return DeletePolicy("unknown", text)
    low = text.lower()
    if "manual" in low or low.strip() in ("none", "never", "no auto-delete"):
        return DeletePolicy("manual", text)
    mentions_sent = "sent" in low or "archived" in low or "committed" in low
    percent = _PERCENT.search(low)
    days = _DAYS.search(low)
    if mentions_sent and days:
        return DeletePolicy("after-days", text, days=int(days.group(1)))
    if mentions_sent and percent:
        return DeletePolicy("sent-at-threshold", text, threshold_percent=int(percent.group(1)))
    if "delete" in low and not mentions_sent:
        return DeletePolicy("may-delete-unsent", text,
                            days=int(days.group(1)) if days else None,
                            threshold_percent=int(percent.group(1)) if percent else None)
    return DeletePolicy("other", text)


@dataclass(frozen=True)
class BufferFacts:
    """What the arithmetic needs about one modality; built from an asset or by hand in tests."""

    ref: str
    modality_type: str | None
    buffer_hours: float | None
    buffer_studies: int | None
    auto_delete_policy: str | None
    studies_per_hour: float | None

    @classmethod
    def from_asset(cls, asset: Asset, studies_per_hour: float | None) -> BufferFacts:
        return cls(f"{asset.site.code}/{asset.name}", asset.modality_type, asset.buffer_hours,
                   asset.buffer_studies, asset.auto_delete_policy, studies_per_hour)


@dataclass(frozen=True)
class Runway:
    facts: BufferFacts
    outage_hours: float
    hours: float | None
    limited_by: str | None
    policy: DeletePolicy
    notes: tuple[str, ...]

    @property
    def status(self) -> RunwayStatus:
        if self.hours is None:
            return "unknown"
        return "keeps-acquiring" if self.hours >= self.outage_hours else "runs-out"

    @property
    def runs_out_at_hour(self) -> float | None:
        return self.hours if self.status == "runs-out" else None

    def as_dict(self) -> dict[str, Any]:
        f = self.facts
        return {
            "asset": f.ref, "modality_type": f.modality_type, "buffer_hours": f.buffer_hours,
            "buffer_studies": f.buffer_studies, "studies_per_hour": f.studies_per_hour,
            "runway_hours": None if self.hours is None else round(self.hours, 2), "limited_by": self.limited_by,
            "status": self.status,
            "runs_out_at_hour": None if self.runs_out_at_hour is None else round(self.runs_out_at_hour, 2),
            "auto_delete_policy": f.auto_delete_policy, "policy_kind": self.policy.kind,
            "policy_risk": self.policy.risk, "notes": list(self.notes),
        }


def runway(facts: BufferFacts, outage_hours: float) -> Runway:
    """How long one modality can keep acquiring with nothing leaving it."""
    limits: list[tuple[float, str]] = []
    notes: list[str] = []
    if facts.buffer_hours is not None:
        limits.append((float(facts.buffer_hours), "buffer_hours"))
    if facts.buffer_studies is not None:
        if facts.studies_per_hour:
            limits.append((facts.buffer_studies / facts.studies_per_hour, "buffer_studies"))
        elif not limits:
            notes.append(f"holds {facts.buffer_studies} studies, but the service gives no studies_per_hour "
                         "to turn that into hours")
    if not limits and facts.buffer_studies is None:
        notes.append("no buffer_hours or buffer_studies in the inventory; ask the vendor or attest it")
    policy = parse_policy(facts.auto_delete_policy)
    if policy.risk:
        notes.append(policy.risk)
    if not limits:
        return Runway(facts, outage_hours, None, None, policy, tuple(notes))
    hours, limited_by = min(limits)
    return Runway(facts, outage_hours, hours, limited_by, policy, tuple(notes))


@dataclass
class ServiceContinuity:
    key: str
    name: str
    rto_hours: float
    rpo_hours: float
    outage_hours: float
    runways: list[Runway]
    other_dependencies: list[dict[str, str]]
    demonstrated_hours: float | None = None
    demonstrated_by: str | None = None
    procedures: list[str] = field(default_factory=list)

    @property
    def rto_status(self) -> RtoStatus:
        if self.demonstrated_hours is None:
            return "never-demonstrated"
        return "demonstrated" if self.demonstrated_hours <= self.rto_hours else "slower-than-rto"

    @property
    def first_runs_out_at(self) -> float | None:
        times = [r.runs_out_at_hour for r in self.runways if r.runs_out_at_hour is not None]
        return min(times) if times else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.key, "name": self.name, "outage_hours": self.outage_hours,
            "rto_hours": self.rto_hours, "rpo_hours": self.rpo_hours,
            "outage_exceeds_rto": self.outage_hours > self.rto_hours,
            "rto_status": self.rto_status,
            "demonstrated_recovery_hours": None if self.demonstrated_hours is None
            else round(self.demonstrated_hours, 2),
            "demonstrated_by": self.demonstrated_by,
            "modalities": [r.as_dict() for r in self.runways],
            "keep_acquiring": sum(1 for r in self.runways if r.status == "keeps-acquiring"),
            "run_out": sum(1 for r in self.runways if r.status == "runs-out"),
            "unknown": sum(1 for r in self.runways if r.status == "unknown"),
            "first_runs_out_at_hour": None if self.first_runs_out_at is None else round(self.first_runs_out_at, 2),
            "unavailable_during_outage": self.other_dependencies,
            "downtime_procedures": self.procedures,
        }


def service_continuity(service: ImagingService, outage_hours: float,
                       demonstrated: dict[str, tuple[float, str]] | None = None) -> ServiceContinuity:
    """The outage seen from one service: every non-acquisition dependency is assumed down."""
    runways: list[Runway] = []
    others: list[dict[str, str]] = []
    for dep in service.dependencies:
        if dep.function == "acquisition" and dep.asset.asset_class == "modality":
            runways.append(runway(BufferFacts.from_asset(dep.asset, dep.studies_per_hour), outage_hours))
        else:
            others.append({"asset": f"{dep.asset.site.code}/{dep.asset.name}", "function": dep.function})
    runways.sort(key=lambda r: (r.hours is None, r.hours if r.hours is not None else 0.0, r.facts.ref))
    demo = (demonstrated or {}).get(service.key)
    return ServiceContinuity(
        key=service.key, name=service.name, rto_hours=service.rto_hours, rpo_hours=service.rpo_hours,
        outage_hours=outage_hours, runways=runways, other_dependencies=others,
        demonstrated_hours=demo[0] if demo else None, demonstrated_by=demo[1] if demo else None,
        procedures=[p.title for p in service.procedures],
    )


def continuity(services: Sequence[ImagingService], outage_hours: float,
               demonstrated: dict[str, tuple[float, str]] | None = None) -> list[ServiceContinuity]:
    if outage_hours <= 0:
        raise ValueError("the outage must last more than 0 hours")
    return [service_continuity(s, outage_hours, demonstrated) for s in services]
