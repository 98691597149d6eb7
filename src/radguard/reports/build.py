"""Assemble a report: call each section function and draw the charts for the chosen audience."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.orm import Session

from radguard.errors import InputError
from radguard.frameworks.coverage import STATUSES, Observed
from radguard.reports import charts
from radguard.reports.observed import observe
from radguard.reports.scope import Scope
from radguard.reports.sections.coverage import FrameworkCoverage, coverage_section
from radguard.reports.sections.dataflow import DataflowSection, dataflow_section
from radguard.reports.sections.discovery import DiscoverySection, discovery_section
from radguard.reports.sections.findings import FindingsSection, findings_section
from radguard.reports.sections.inventory import InventorySection, inventory_section
from radguard.reports.sections.meta import Meta, meta_section
from radguard.reports.sections.readiness import ReadinessSection, readiness_section
from radguard.reports.sections.resilience import ResilienceSection, resilience_section
from radguard.reports.sections.risks import Risk, top_risks
from radguard.reports.sections.roadmap import RoadmapSection, roadmap_items, roadmap_view
from radguard.reports.sections.safeguards import SafeguardsSection, safeguards_section
from radguard.wording import label

Audience = Literal["executive", "technical"]

#: The technical report's optional appendices, in the order they are printed: every open finding
#: grouped by asset with the per-asset safeguard grid, and requirement-by-requirement framework mappings.
APPENDICES = ("assets", "frameworks")
APPENDIX_TITLES = {"assets": "per-asset detail", "frameworks": "framework mappings"}


def parse_appendices(text: str | None, option: str = "--appendix") -> tuple[str, ...]:
    """``assets,frameworks`` (the default when None or empty), one of them, or ``none``.

    :param text: the comma-separated choice as typed on the command line or sent by the web form.
    :param option: what to name in the error (the CLI option or the form field).
    :returns: the chosen appendices in print order.
    """
    if text is None or not text.strip():
        return APPENDICES
    words = [w.strip().lower() for w in text.split(",") if w.strip()]
    if words == ["none"]:
        return ()
    unknown = [w for w in words if w not in APPENDICES]
    if unknown:
        raise InputError(option, None, None, f"{', '.join(map(repr, unknown))} is not an appendix; use "
                                             f"{','.join(APPENDICES)}, one of them, or none")
    return tuple(a for a in APPENDICES if a in words)


@dataclass
class Report:
    audience: Audience
    meta: Meta
    inventory: InventorySection
    findings: FindingsSection
    readiness: ReadinessSection
    risks: list[Risk]
    resilience: ResilienceSection
    roadmap: RoadmapSection
    coverage: list[FrameworkCoverage]
    discovery: DiscoverySection | None = None
    dataflow: DataflowSection | None = None
    safeguards: SafeguardsSection | None = None
    charts: dict[str, str] = field(default_factory=dict)
    appendices: tuple[str, ...] = ()  # technical report only: which of APPENDICES it prints


def build_report(
    session: Session,
    audience: Audience = "executive",
    site: str | None = None,
    scope: Scope | None = None,
    appendices: Sequence[str] | None = None,
) -> Report:
    """Every section the audience reads, with its charts.

    :param appendices: for the technical report, which of :data:`APPENDICES` to print after its
        summary and sections (None: all of them; empty: none). The executive report has none.
    """
    chosen = tuple(APPENDICES if appendices is None else (a for a in APPENDICES if a in appendices))
    scope = scope or Scope(session, site)
    meta = meta_section(scope)
    observed: Observed = observe(scope)
    inventory = inventory_section(scope)
    findings = findings_section(scope)
    plan = roadmap_view(scope)  # one ranking for the top risks and the roadmap
    report = Report(
        audience=audience,
        meta=meta,
        inventory=inventory,
        findings=findings,
        readiness=readiness_section(scope),
        risks=top_risks(scope, findings.rows, plan.doc),
        resilience=resilience_section(scope),
        roadmap=roadmap_items(scope, plan),
        coverage=coverage_section(observed),
    )
    if audience == "technical":
        report.appendices = chosen
        report.discovery = discovery_section(scope)
        report.dataflow = dataflow_section(scope)
        if "assets" in chosen:
            report.safeguards = safeguards_section(scope, findings.rows, findings.available)
    _draw(report)
    return report


def _draw(report: Report) -> None:
    r = report.readiness
    if r.available and r.domains:
        report.charts["maturity"] = charts.maturity_chart(
            "Maturity by domain against target",
            [d.title for d in r.domains],
            [d.score for d in r.domains],
            [d.target for d in r.domains],
            [d.previous for d in r.domains] if r.previous_label else None,
        )
    f = report.findings
    if f.available and f.rows:
        report.charts["severity"] = charts.bar_chart(
            "Open findings by severity",
            [s for s, _ in f.by_severity],
            [n for _, n in f.by_severity],
            unit="Open findings (count)",
            horizontal=False,
        )
    if report.coverage:
        report.charts["coverage"] = charts.stacked_status_chart(
            "Framework requirements by coverage status",
            [c.framework.short_name for c in report.coverage],
            list(STATUSES),
            [[c.counts[s] for s in STATUSES] for c in report.coverage],
            unit="Requirements (count)",
        )
    if report.audience != "technical":
        return
    if f.available and f.rows:
        report.charts["by_class"] = charts.bar_chart(
            "Open findings by asset class",
            [label(c) for c, _ in f.by_class],
            [n for _, n in f.by_class],
            unit="Open findings (count)",
        )
        report.charts["by_layer"] = charts.bar_chart(
            "Open findings by defense layer",
            [label(c) for c, _ in f.by_layer],
            [n for _, n in f.by_layer],
            unit="Open findings (count)",
        )
    if report.dataflow is not None:
        for site in report.dataflow.sites:
            edges = [(client, server, ", ".join(sorted({f"{v.flow.proto}/{v.flow.server_port}" for v in vs})),
                      any(v.violation for v in vs)) for (client, server), vs in site.pairs().items()]
            report.charts[f"dataflow-{site.site}"] = charts.dataflow_map(
                f"Observed data flows at {site.site}", site.zones(), edges)
    i = report.inventory
    if i.available:
        report.charts["inventory"] = charts.bar_chart(
            "Assets by class", [label(c) for c, _ in i.by_class], [n for _, n in i.by_class], unit="Assets (count)"
        )
