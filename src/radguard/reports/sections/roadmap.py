"""The top of the improvement roadmap, from the readiness stage's planner.

The planner (``radguard.readiness.roadmap.build_roadmap``) orders open findings and checklist
gaps into actions; the report shows its ranking unchanged so it matches ``radguard roadmap``.
The roadmap covers the whole organization even when the report is for one site.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from radguard.reports.scope import Scope


@dataclass
class RoadmapItem:
    rank: int
    action_id: str
    kind: str
    title: str
    owner: str | None
    effort: str | None
    horizon: str | None
    risk_reduction: float | None
    priority: float | None
    depends_on: list[str] = field(default_factory=list)


@dataclass
class RoadmapSection:
    available: bool
    items: list[RoadmapItem] = field(default_factory=list)
    note: str = ""


def roadmap_items(scope: Scope) -> RoadmapSection:
    try:
        planner = importlib.import_module("radguard.readiness.roadmap")
    except ImportError:
        return RoadmapSection(False, note="No roadmap computed: the readiness planner is not installed.")
    doc: dict[str, Any] = planner.build_roadmap(scope.session, today=scope.now.date())
    items = [
        RoadmapItem(
            rank=int(a["rank"]),
            action_id=str(a.get("id", "")),
            kind=str(a.get("kind", "")),
            title=str(a.get("what") or a.get("title") or ""),
            owner=a.get("owner"),
            effort=a.get("effort"),
            horizon=a.get("horizon"),
            risk_reduction=a.get("risk_reduction"),
            priority=a.get("priority"),
            depends_on=list(a.get("depends_on") or []),
        )
        for a in doc.get("actions", [])
    ]
    if not items:
        return RoadmapSection(False, note="No roadmap action: no open finding and no checklist gap recorded.")
    return RoadmapSection(True, items=items)
