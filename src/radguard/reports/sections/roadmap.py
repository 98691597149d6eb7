"""The improvement roadmap, from the readiness stage's planner.

The planner (``radguard.readiness.roadmap.build_roadmap``) ranks open findings and checklist
gaps into actions; the report shows its ranking unchanged so it matches ``radguard roadmap``,
and its "top of the roadmap" is ``top_of_roadmap``'s cut of that ranking, the same one the
top risks come from. The roadmap covers the whole organization even when the report is for
one site.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from radguard.checks.executive import action_name, plain_action
from radguard.readiness.roadmap import build_roadmap, priority_label, top_of_roadmap
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
    ranked_priority: float | None = None
    ranking: str = ""  # the ranking column in words (priority_label)
    cumulative_effort: float | None = None
    plain_title: str = ""  # the executive wording's title (checks/executive.yaml)
    findings: int = 0  # open findings the action closes
    ranked_for: str | None = None  # plain title of the action that needs this one first


@dataclass
class RoadmapSection:
    available: bool
    items: list[RoadmapItem] = field(default_factory=list)
    top: list[RoadmapItem] = field(default_factory=list)  # the executive report's "top of the roadmap"
    note: str = ""
    capacity: float | None = None


def roadmap_document(scope: Scope) -> dict[str, Any]:
    """The roadmap the report shows, computed once and shared by the roadmap and risks sections."""
    return build_roadmap(scope.session, today=scope.now.date(), scope=scope.visible)


def _item(a: dict[str, Any], actions: list[dict[str, Any]] | None = None) -> RoadmapItem:
    return RoadmapItem(
        rank=int(a["rank"]), action_id=str(a["id"]), kind=str(a["kind"]), title=str(a["what"] or a["title"]),
        owner=a["owner"], effort=a["effort"], horizon=a["horizon"], risk_reduction=a["risk_reduction"],
        priority=a["priority"], depends_on=list(a["depends_on"]), ranked_priority=a["ranked_priority"],
        ranking=priority_label(a), cumulative_effort=a["cumulative_effort"],
        plain_title=plain_action(a)["title"], findings=len(a["why"]["findings"]),
        ranked_for=action_name(a["ranked_for"], actions or []),
    )


def roadmap_items(scope: Scope, doc: dict[str, Any] | None = None) -> RoadmapSection:
    """The roadmap section: every action in rank order, and the top of it.

    :param scope: the report's scope (the roadmap itself is organization-wide).
    :param doc: the roadmap document, if the caller has already built it.
    """
    doc = doc if doc is not None else roadmap_document(scope)
    items = [_item(a) for a in doc["actions"]]
    if not items:
        return RoadmapSection(False, note="No roadmap action: no open finding and no checklist gap recorded.")
    return RoadmapSection(True, items=items, top=[_item(a, doc["actions"]) for a in top_of_roadmap(doc).actions],
                          capacity=doc["summary"]["capacity_per_30_days"])
