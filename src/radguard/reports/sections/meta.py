"""The report's header: date, scope, data sources and radguard version.

Each data source is counted through the stage that owns it (the inventory's, the findings
register's, the checklists', the response records', backup's and the findings section's
advisory matches), never by counting a table here: a table the report guessed at once no
longer existed and the header said "Advisory matches — not available" above a list of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select

import radguard
from radguard import wording
from radguard.checks.findings import finding_counts
from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Asset, Site
from radguard.inventory.queries import count_assets
from radguard.inventory.scope import scope_site_ids
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


def _recorded(scope: Scope) -> list[tuple[str, str, Callable[[], int]]]:
    """(label, table that must exist, the owning stage's count) for each optional source."""
    from radguard.backup.sets import list_sets
    from radguard.readiness.checklists.assessments import list_assessments
    from radguard.reports.sections.findings import advisory_rows, load_findings
    from radguard.response.drills import load_drills
    from radguard.response.services import load_services

    session, visible = scope.session, scope.visible

    def assessments() -> int:  # a reader limited to sites: the organisation's and its sites' own
        return sum(1 for a in list_assessments(session) if visible is None or not a.site_code
                   or a.site_code in visible)

    return [
        ("Checklist assessments", "checklist_assessment", assessments),
        ("Drills", "drill", lambda: len(load_drills(session, scope=visible))),
        ("Imaging services", "imaging_service", lambda: len(load_services(session, scope=visible))),
        ("Backup verifications", "backup_verification",
         lambda: sum(len(b.verifications) for b in list_sets(session, scope=visible, verifications=True))),
        # The matches the findings section lists (open RG-ADVISORY / RG-KEV findings), so the
        # header and the list count the same thing.
        ("Advisory matches", "finding", lambda: len(advisory_rows(load_findings(scope)))),
    ]


def meta_section(scope: Scope, organization: str | None = None) -> Meta:
    session = scope.session
    sites = [(s.code, s.name) for s in session.scalars(select(Site).order_by(Site.code))]
    if scope.visible is not None:
        sites = [s for s in sites if s[0] in scope.visible]
    if scope.site is not None:
        scope.site_id()  # raises a clear error for an unknown site (or one beyond the reader's)
        sites = [s for s in sites if s[0] == scope.site]
    org = organization or _organization(scope) or (sites[0][1] if len(sites) == 1 else "All sites")
    if scope.site:
        scope_text = f"site {scope.site}"
    elif scope.limited:
        # The cover says which sites it covers: a report cut to the reader's sites is not the organisation's.
        scope_text = (f"{plural(len(sites), 'site')} ({', '.join(c for c, _ in sites) or 'none'}): "
                      "the sites this account may see")
    else:
        scope_text = f"all {plural(len(sites), 'site')}"
    sources: list[tuple[str, str]] = []
    n_assets = count_assets(session, site=scope.site, scope=scope.visible) if scope.has_table("asset") else 0
    sources.append(("Inventory", plural(n_assets, "asset") if n_assets else "no assets imported"))
    n_findings = (finding_counts(session, site=scope.site, scope=scope.visible).total
                  if scope.has_table("finding") else 0)
    sources.append(("Findings register", plural(n_findings, "finding") if n_findings else "no assessment run yet"))
    evidence = select(Evidence.kind, func.count()).group_by(Evidence.kind)
    if scope.limited:  # evidence about the reader's sites' assets only
        evidence = evidence.where(Evidence.asset_id.in_(
            select(Asset.id).where(Asset.site_id.in_(scope_site_ids(session, scope.visible) or []))))
    kinds = dict(session.execute(evidence).all())
    if kinds:
        sources.append(("Evidence", ", ".join(f"{wording.label(k)}: {v}" for k, v in sorted(kinds.items()))))
    else:
        sources.append(("Evidence", "no discovery scans or documents recorded"))
    for label, table, count in _recorded(scope):
        if scope.has_table(table):
            n = count()
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


def _organization(scope: Scope) -> str | None:
    if not scope.has_table("checklist_assessment"):
        return None
    from radguard.reports.observed import latest_checklist

    current = latest_checklist(scope)
    return current[0].organization if current is not None else None
