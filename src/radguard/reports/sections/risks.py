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
    services = services_by_asset(scope)
    risks = []
    for r in rows[:limit]:
        risks.append(
            Risk(
                title=r.title,
                subject=r.subject,
                severity=r.severity,
                risk_score=r.risk_score,
                consequence=r.rationale or r.summary or "See the technical report for details.",
                services=services.get(r.asset_id, []) if r.asset_id is not None else [],
                fix=r.remediation or "See the technical report.",
                effort=r.effort,
            )
        )
    return risks
