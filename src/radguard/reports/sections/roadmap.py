"""The improvement roadmap, as the readiness stage ranked and stored it.

The report reads the roadmap through its one read path (``readiness.roadmap_store.current_roadmap``),
the ranking the roadmap page, its exports, ``radguard roadmap`` and the ticket exports show, so
they all give one order; when decisions came after that ranking the section says so in the
page's words (``wording.ranking_note``). Its "top of the roadmap" is ``top_of_roadmap``'s cut
of that ranking, the same one the top risks come from. The roadmap covers the whole
organization even when the report is for one site (a reader limited to sites gets the ranking
of its sites).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from radguard.checks.executive import action_name, plain_action
from radguard.readiness.roadmap import findings_closed, priority_label, top_of_roadmap
from radguard.readiness.roadmap_store import RoadmapView, current_roadmap
from radguard.reports.scope import Scope
from radguard.wording import ranking_note


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
    ranking: str = ""  # when the stored ranking was made, and whether decisions came since (wording.ranking_note)


def roadmap_view(scope: Scope) -> RoadmapView:
    """The roadmap the report shows, read once and shared by the roadmap and risks sections.

    Every action lists all its findings (``full``): the top risks tell each one's rationale.
    """
    return current_roadmap(scope.session, today=scope.now.date(), full=True, scope=scope.visible)


def _item(a: dict[str, Any], actions: list[dict[str, Any]] | None = None) -> RoadmapItem:
    return RoadmapItem(
        rank=int(a["rank"]), action_id=str(a["id"]), kind=str(a["kind"]), title=str(a["what"] or a["title"]),
        owner=a["owner"], effort=a["effort"], horizon=a["horizon"], risk_reduction=a["risk_reduction"],
        priority=a["priority"], depends_on=list(a["depends_on"]), ranked_priority=a["ranked_priority"],
        ranking=priority_label(a), cumulative_effort=a["cumulative_effort"],
        plain_title=plain_action(a)["title"], findings=findings_closed(a),
        ranked_for=action_name(a["ranked_for"], actions or []),
    )


def roadmap_items(scope: Scope, view: RoadmapView | None = None) -> RoadmapSection:
    """The roadmap section: every action in rank order, and the top of it.

    :param scope: the report's scope (the roadmap itself is organization-wide).
    :param view: the roadmap as :func:`roadmap_view` read it, if the caller has already read it.
    """
    view = view if view is not None else roadmap_view(scope)
    doc = view.doc
    items = [_item(a) for a in doc["actions"]]
    if not items:
        return RoadmapSection(False, note="No roadmap action: no open finding and no checklist gap recorded.")
    return RoadmapSection(True, items=items, top=[_item(a, doc["actions"]) for a in top_of_roadmap(doc).actions],
                          capacity=doc["summary"]["capacity_per_30_days"],
                          ranking=ranking_note(view.ranked_at, view.stale))
