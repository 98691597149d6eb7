"""The report's header: date, scope, data sources and radguard version."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Table, func, select

import radguard
from radguard import wording
from radguard.db.base import Base
from radguard.db.models.evidence import Evidence
from radguard.db.models.findings import Finding
from radguard.db.models.inventory import Asset, Site
from radguard.reports.scope import Scope
from radguard.wording import plural


@dataclass
class Meta:
    generated_at: str
    generated_on: str
    version: str
    organization: str
    scope: str
    sites: list[tuple[str, str]]
    sources: list[tuple[str, str]] = field(default_factory=list)  # (source, what was used)


def _count(scope: Scope, table: str, model: type) -> int:
    if not scope.has_table(table):
        return 0
    return int(scope.session.scalar(select(func.count()).select_from(model)) or 0)


def meta_section(scope: Scope, organization: str | None = None) -> Meta:
    session = scope.session
    sites = [(s.code, s.name) for s in session.scalars(select(Site).order_by(Site.code))]
    if scope.site is not None:
        scope.site_id()  # raises a clear error for an unknown site
        sites = [s for s in sites if s[0] == scope.site]
    org = organization or _organization(scope) or (sites[0][1] if len(sites) == 1 else "All sites")
    scope_text = f"site {scope.site}" if scope.site else f"all {plural(len(sites), 'site')}"
    sources: list[tuple[str, str]] = []
    n_assets = _count(scope, "asset", Asset)
    sources.append(("Inventory", plural(n_assets, "asset") if n_assets else "no assets imported"))
    n_findings = _count(scope, "finding", Finding)
    sources.append(("Findings register", plural(n_findings, "finding") if n_findings else "no assessment run yet"))
    kinds = dict(session.execute(select(Evidence.kind, func.count()).group_by(Evidence.kind)).all())
    if kinds:
        sources.append(("Evidence", ", ".join(f"{wording.label(k)}: {v}" for k, v in sorted(kinds.items()))))
    else:
        sources.append(("Evidence", "no discovery scans or documents recorded"))
    for label, table in (
        ("Checklist assessments", "checklist_assessment"),
        ("Drills", "drill"),
        ("Imaging services", "imaging_service"),
        ("Backup verifications", "backup_verification"),
        ("Advisory matches", "advisory_match"),
    ):
        if scope.has_table(table):
            n = session.execute(select(func.count()).select_from(_table(scope, table))).scalar_one()
            sources.append((label, f"{n} recorded" if n else "none recorded"))
        else:
            sources.append((label, "not available in this database"))
    return Meta(
        generated_at=scope.now.strftime("%Y-%m-%d %H:%M UTC"),
        generated_on=scope.now.date().isoformat(),
        version=radguard.__version__,
        organization=org,
        scope=scope_text,
        sites=sites,
        sources=sources,
    )


def _table(scope: Scope, name: str) -> Table:
    table = Base.metadata.tables.get(name)
    return table if table is not None else Table(name, Base.metadata, autoload_with=scope.session.get_bind())


def _organization(scope: Scope) -> str | None:
    if not scope.has_table("checklist_assessment"):
        return None
    from radguard.db.models.checklists import ChecklistAssessment

    return scope.session.scalar(
        select(ChecklistAssessment.organization).order_by(ChecklistAssessment.created_at.desc()).limit(1)
    )
