"""Open findings: counts by severity, asset class and defense layer; the full list; the top risks."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from radguard.checks.findings import ADVISORY_CHECKS, list_findings
from radguard.checks.sla import SEVERITIES
from radguard.checks.spec import SEVERITY_ORDER
from radguard.db.models.findings import OPEN_STATES
from radguard.frameworks.sources import check_specs
from radguard.reports.scope import Scope
from radguard.wording import subject


@dataclass
class FindingRow:
    id: int
    check_id: str
    title: str
    severity: str
    state: str
    risk_score: int
    subject: str  # asset "SITE/NAME", or the non-asset subject
    site: str | None
    asset_id: int | None
    asset_class: str | None
    defense_layer: str | None
    summary: str | None
    evidence: dict[str, Any]
    remediation: str | None
    rationale: str | None
    effort: str | None
    due: str | None
    first_seen: str
    last_seen: str
    kev: bool = False
    ransomware: bool = False
    closed_on: str | None = None


@dataclass
class AdvisoryRow:
    subject: str
    advisory_id: str
    title: str
    component: str
    cves: list[str]
    kev: bool
    ransomware: bool
    max_cvss: float | None


@dataclass
class FindingsSection:
    available: bool
    rows: list[FindingRow] = field(default_factory=list)
    by_severity: list[tuple[str, int]] = field(default_factory=list)
    by_class: list[tuple[str, int]] = field(default_factory=list)
    by_layer: list[tuple[str, int]] = field(default_factory=list)
    # Open findings per site and severity, sites in code order; organisation-wide findings under "".
    by_site: list[tuple[str, dict[str, int]]] = field(default_factory=list)
    advisories: list[AdvisoryRow] = field(default_factory=list)
    closed: int = 0
    accepted: int = 0
    # The trend a board asks for: what appeared and what was fixed over the last TREND_DAYS.
    new_recent: int = 0
    mitigated_recent: int = 0
    note: str = ""


TREND_DAYS = 90


def load_findings(scope: Scope, *, open_only: bool = True) -> list[FindingRow]:
    """Findings in the scope, highest risk first. Organisation-wide findings count for every site.

    A reader limited to sites gets its sites' findings and the organisation-wide ones (the
    register's scope rule, ``checks.findings.scope_condition``); the latter have ``site`` None
    and are shown under "organization-wide".

    Read through the findings register's own query (``checks.findings.list_findings``), so the
    report, the CLI, the pages and the API select the same findings; the row adds presentation.
    """
    specs = check_specs()
    rows = []
    for f in list_findings(scope.session, states=["open"] if open_only else [], site=scope.site,
                           scope=scope.visible):
        asset = f.asset
        spec = specs.get(f.check_id)
        rows.append(
            FindingRow(
                id=f.id,
                check_id=f.check_id,
                title=f.title,
                severity=f.severity,
                state=f.state,
                risk_score=f.risk_score,
                subject=f"{asset.site.code}/{asset.name}" if asset else subject(f.subject),
                site=asset.site.code if asset else None,
                asset_id=f.asset_id,
                asset_class=asset.asset_class if asset else None,
                defense_layer=spec.defense_layer if spec else None,
                summary=f.summary,
                evidence=dict(f.evidence or {}),
                remediation=spec.remediation if spec else None,
                rationale=spec.rationale if spec else None,
                effort=spec.effort if spec else None,
                due=f.due.isoformat() if f.due else None,
                first_seen=f.first_seen.date().isoformat(),
                last_seen=f.last_seen.date().isoformat(),
                closed_on=f.closed_at.date().isoformat() if f.closed_at else None,
                kev=bool((f.evidence or {}).get("kev")),
                ransomware=bool((f.evidence or {}).get("ransomware")),
            )
        )
    rows.sort(key=lambda r: (-r.risk_score, -SEVERITY_ORDER.get(r.severity, 0), r.id))
    return rows


def findings_section(scope: Scope) -> FindingsSection:
    all_rows = load_findings(scope, open_only=False)
    if not all_rows:
        return FindingsSection(False, note="No assessment has been run: no findings are recorded (`radguard assess`).")
    rows = [r for r in all_rows if r.state in OPEN_STATES]
    sev = Counter(r.severity for r in rows)
    since = (scope.now - timedelta(days=TREND_DAYS)).date().isoformat()
    return FindingsSection(
        True,
        rows=rows,
        by_severity=[(s, sev.get(s, 0)) for s in SEVERITIES],
        by_class=Counter(r.asset_class or "non-asset" for r in rows).most_common(),
        by_layer=Counter(r.defense_layer or "unmapped" for r in rows).most_common(),
        by_site=_by_site(rows),
        advisories=advisory_rows(rows),
        closed=sum(1 for r in all_rows if r.state == "mitigated"),
        accepted=sum(1 for r in all_rows if r.state == "risk_accepted"),
        new_recent=sum(1 for r in all_rows if r.first_seen >= since),
        mitigated_recent=sum(1 for r in all_rows if r.state == "mitigated" and (r.closed_on or "") >= since),
        note="" if rows else "No open findings.",
    )


def _by_site(rows: list[FindingRow]) -> list[tuple[str, dict[str, int]]]:
    counts: dict[str, Counter[str]] = {}
    for r in rows:
        counts.setdefault(r.site or "", Counter())[r.severity] += 1
    order = sorted(counts, key=lambda c: (not c, c))  # sites by code, organisation-wide last
    return [(site, {s: counts[site].get(s, 0) for s in SEVERITIES}) for site in order]


def advisory_rows(rows: list[FindingRow]) -> list[AdvisoryRow]:
    """Advisory matches behind open RG-KEV / RG-ADVISORY findings, one per asset and advisory, KEV first."""
    seen: dict[tuple[str, str], AdvisoryRow] = {}
    for r in rows:
        if r.check_id not in ADVISORY_CHECKS:
            continue
        ev = r.evidence
        advisory = str(ev.get("advisory_id") or r.title)
        key = (r.subject, advisory)
        if key in seen:
            continue
        cves = [str(c.get("id")) if isinstance(c, dict) else str(c) for c in ev.get("cves") or []]
        component = str(ev.get("component") or "")
        version = str(ev.get("version") or "")
        if version and version not in component:
            component = f"{component} {version}".strip()
        cvss = ev.get("max_cvss")
        seen[key] = AdvisoryRow(
            r.subject,
            advisory,
            str(ev.get("title") or r.title),
            component,
            cves,
            r.kev,
            r.ransomware,
            float(cvss) if isinstance(cvss, int | float) else None,
        )
    return sorted(seen.values(), key=lambda a: (not a.kev, -(a.max_cvss or 0), a.subject))
