"""The five risks that matter most, in words a board understands.

Which five, and in what order, is the roadmap's ranking (``readiness.roadmap.top_of_roadmap``):
the highest-ranked roadmap actions that fix open findings, one per check, so the report's
"risks that matter most" and its "top of the roadmap" come from one list and cannot disagree.
This section only adds the words: the check's executive wording (``checks/executive.yaml``: a
plain title, what could happen, what to do), which imaging services depend on the affected
assets, and how many findings it closes. The catalog's own title and remediation stay in
``technical_title``/``technical_fix`` for the technical report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from radguard.checks.executive import action_name, plain_action
from radguard.checks.spec import SEVERITY_ORDER
from radguard.readiness.roadmap import TOP, top_of_roadmap
from radguard.reports.scope import Scope
from radguard.reports.sections.findings import FindingRow
from radguard.wording import subject


@dataclass
class Risk:
    title: str
    subject: str
    severity: str
    risk_score: int
    consequence: str
    services: list[str]
    fix: str
    effort: str | None
    count: int = 1
    rank: int | None = None  # the action's rank on the roadmap
    horizon: str | None = None
    check_id: str = ""
    ranked_for: str | None = None  # the action that needs this one first, whose priority it ranks at
    finding_ids: list[int] = field(default_factory=list)
    technical_title: str = ""
    technical_fix: str = ""


def services_by_asset(scope: Scope) -> dict[int, list[str]]:
    if not scope.has_table("service_dependency"):
        return {}
    from radguard.db.models.response import ImagingService, ServiceDependency

    out: dict[int, list[str]] = {}
    stmt = select(ServiceDependency.asset_id, ImagingService.name).join(ImagingService).order_by(ImagingService.name)
    if scope.limited:  # only the reader's sites' services (the services stage's own rule)
        from radguard.response.services import load_services

        stmt = stmt.where(ImagingService.id.in_([s.id for s in load_services(scope.session, scope=scope.visible)]))
    for asset_id, name in scope.session.execute(stmt).all():
        out.setdefault(asset_id, []).append(name)
    return out


def top_risks(scope: Scope, rows: list[FindingRow], roadmap: dict[str, Any], limit: int = TOP) -> list[Risk]:
    """The roadmap's top risks, each told with its findings' rationale, services and fix.

    :param scope: the report's scope (a site report, or one for a reader limited to sites, keeps
        only the findings in it).
    :param rows: the open findings in scope, highest risk first (the findings section's rows).
    :param roadmap: the roadmap document the report shows (``reports.sections.roadmap.roadmap_view``).
    :param limit: how many risks.
    """
    in_scope = {r.id for r in rows} if scope.site is not None or scope.limited else None
    top = top_of_roadmap(roadmap, limit, finding_ids=in_scope)
    services = services_by_asset(scope)
    by_id = {r.id: r for r in rows}
    risks = []
    for action in top.risks:
        refs = action["why"]["findings"]  # highest risk first
        group = [by_id[f["id"]] for f in refs if f["id"] in by_id]
        lead = group[0] if group else None
        plain = plain_action(action)
        consequence = plain["consequence"] or ((lead.rationale or lead.summary) if lead else None)
        subjects = [subject(f["subject"]) for f in refs]
        shown = ", ".join(subjects[:3]) + (f" and {len(subjects) - 3} more" if len(subjects) > 3 else "")
        affected = sorted({s for r in group if r.asset_id is not None for s in services.get(r.asset_id, [])})
        risks.append(
            Risk(
                title=plain["title"],
                subject=shown,
                severity=max((f["severity"] for f in refs), key=lambda v: SEVERITY_ORDER.get(v, 0)),
                risk_score=max(int(f["risk_score"]) for f in refs),
                consequence=consequence or "See the technical report for details.",
                services=affected,
                fix=plain["what"] or "See the technical report.",
                effort=action["effort"],
                count=len(refs),
                rank=int(action["rank"]),
                horizon=action["horizon"],
                check_id=action["id"],
                ranked_for=action_name(action["ranked_for"], roadmap["actions"]),
                finding_ids=[int(f["id"]) for f in refs],
                technical_title=action["title"],
                technical_fix=action["what"] or "",
            )
        )
    return risks
