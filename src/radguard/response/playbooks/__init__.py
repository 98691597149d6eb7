"""The imaging playbook catalog: what to do, who does it, and by when.

Playbooks are content (``catalog.yaml``), validated here when loaded. Their ``targets`` give
minutes after detection for each drill milestone, so a drill's measured timeline can be
compared with what the playbook promises. Every role a step names must be a response-team
role, so the binder can print the name and phone number next to each step.
"""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from radguard.errors import NotFoundError
from radguard.response.playbooks.roles import STANDARD_ROLES
from radguard.response.playbooks.yamldoc import YamlDoc

CATALOG = Path(__file__).with_name("catalog.yaml")

# The milestones of an incident, in the order they must happen.
MILESTONES: tuple[str, ...] = (
    "detected", "declared", "escalated", "segment_isolated", "downtime_active",
    "first_downtime_read", "systems_restored", "back_to_normal",
)
MILESTONE_LABELS: dict[str, str] = {
    "detected": "Detected", "declared": "Incident declared", "escalated": "Escalated",
    "segment_isolated": "Imaging segment isolated", "downtime_active": "Downtime procedures active",
    "first_downtime_read": "First image read in downtime", "systems_restored": "Systems restored",
    "back_to_normal": "Back to normal",
}

Phase = Literal["detect", "contain", "continue", "recover"]
AssetClassName = Literal[
    "modality", "pacs", "vna", "ai_application", "cloud_service", "reporting", "workstation",
    "remote_access", "integration_engine", "network_device", "other",
]


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phase: Phase
    role: str
    action: str = Field(min_length=10)
    within_minutes: int | None = Field(None, gt=0)


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str
    role: str
    guidance: str
    by_minutes: int | None = Field(None, gt=0)


class Notification(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str
    recipient: str
    deadline: str


class Playbook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: str
    summary: str
    applies_to: list[AssetClassName] = Field(default_factory=list)
    triggers: list[str] = Field(min_length=1)
    targets: dict[str, int] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)
    decisions: list[Decision] = Field(default_factory=list)
    notifications: list[Notification] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Playbook:
        for key in self.targets:
            if key not in MILESTONES:
                raise ValueError(f"targets: unknown milestone {key!r}; use one of {', '.join(MILESTONES)}")
        if "detected" in self.targets:
            raise ValueError("targets: 'detected' is time zero and cannot have a target")
        ordered = [self.targets[m] for m in MILESTONES if m in self.targets]
        if any(b < a for a, b in itertools.pairwise(ordered)):
            raise ValueError("targets must not decrease along the milestones (" + ", ".join(MILESTONES) + ")")
        for who in [s.role for s in self.steps] + [d.role for d in self.decisions] + [
                n.role for n in self.notifications]:
            if who not in STANDARD_ROLES:
                raise ValueError(f"role {who!r} is not a response-team role ({', '.join(STANDARD_ROLES)})")
        return self

    def target(self, milestone: str) -> int | None:
        return self.targets.get(milestone)


class Catalog(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["radguard-playbooks"]
    version: Literal[1]
    playbooks: list[Playbook] = Field(min_length=1)


def load_catalog(path: Path = CATALOG) -> list[Playbook]:
    """Read and validate a playbook catalog; the built-in one is cached."""
    if path == CATALOG:
        return list(_builtin())
    return _load(path)


def _load(path: Path) -> list[Playbook]:
    doc = YamlDoc.read(path)
    catalog = doc.validate(Catalog)
    seen: set[str] = set()
    for i, pb in enumerate(catalog.playbooks):
        if pb.id in seen:
            raise doc.error(["playbooks", i, "id"], f"playbook {pb.id!r} is defined twice")
        seen.add(pb.id)
    return catalog.playbooks


@cache
def _builtin() -> tuple[Playbook, ...]:
    return tuple(_load(CATALOG))


def get_playbook(playbook_id: str) -> Playbook:
    for pb in load_catalog():
        if pb.id == playbook_id:
            return pb
    known = ", ".join(pb.id for pb in load_catalog())
    raise NotFoundError(f"no playbook {playbook_id!r}; known playbooks: {known}")
