"""The five risks that matter most, in words a board understands.

Ranked by the findings register's risk score; for each, what could happen (the check's
rationale), which imaging services depend on the affected asset, and what it takes to fix.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from radguard.reports.scope import Scope
from radguard.reports.sections.findings import FindingRow


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


def services_by_asset(scope: Scope) -> dict[int, list[str]]:
    if not scope.has_table("service_dependency"):
        return {}
    from radguard.db.models.response import ImagingService, ServiceDependency

    out: dict[int, list[str]] = {}
    for asset_id, name in scope.session.execute(
        select(ServiceDependency.asset_id, ImagingService.name).join(ImagingService).order_by(ImagingService.name)
    ).all():
        out.setdefault(asset_id, []).append(name)
    return out


def top_risks(scope: Scope, rows: list[FindingRow], limit: int = 5) -> list[Risk]:
    """One risk per check (its worst finding leads), so five risks are five different problems."""
    services = services_by_asset(scope)
    by_check: dict[str, list[FindingRow]] = {}
    for r in rows:  # rows come highest risk first
        by_check.setdefault(r.check_id, []).append(r)
    risks = []
    for group in list(by_check.values())[:limit]:
        lead = group[0]
        subjects = [r.subject for r in group]
        shown = ", ".join(subjects[:3]) + (f" and {len(subjects) - 3} more" if len(subjects) > 3 else "")
        affected = sorted({s for r in group if r.asset_id is not None for s in services.get(r.asset_id, [])})
        risks.append(
            Risk(
                title=lead.title,
                subject=shown,
                severity=lead.severity,
                risk_score=lead.risk_score,
                consequence=lead.rationale or lead.summary or "See the technical report for details.",
                services=affected,
                fix=lead.remediation or "See the technical report.",
                effort=lead.effort,
                count=len(group),
            )
        )
    return risks
