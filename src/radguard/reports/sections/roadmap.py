"""The top of the improvement roadmap, from the readiness stage's planner when it is installed."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

from radguard.reports.scope import Scope


@dataclass
class RoadmapItem:
    rank: int
    title: str
    owner: str | None
    effort: str | None
    due: str | None
    source: str
    detail: dict[str, Any] = field(default_factory=dict)


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
    build = getattr(planner, "build_roadmap", None)
    if build is None:
        return RoadmapSection(False, note="No roadmap computed.")
    items = []
    for i, raw in enumerate(_as_dicts(build(scope.session, site=scope.site)), start=1):
        items.append(
            RoadmapItem(
                rank=int(raw.get("rank") or i),
                title=str(raw.get("title") or raw.get("action") or "?"),
                owner=raw.get("owner"),
                effort=raw.get("effort"),
                due=str(raw["due"]) if raw.get("due") else None,
                source=str(raw.get("source") or raw.get("kind") or ""),
                detail=raw,
            )
        )
    if not items:
        return RoadmapSection(False, note="The roadmap is empty: nothing to improve was found.")
    return RoadmapSection(True, items=items)


def _as_dicts(result: Any) -> list[dict[str, Any]]:
    items = getattr(result, "items", result)
    if callable(items):
        items = items()
    out = []
    for item in items or []:
        if isinstance(item, dict):
            out.append(item)
        elif hasattr(item, "model_dump"):
            out.append(item.model_dump(mode="json"))
        elif hasattr(item, "__dict__"):
            out.append({k: v for k, v in vars(item).items() if not k.startswith("_")})
    return out
