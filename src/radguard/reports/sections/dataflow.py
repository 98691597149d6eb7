"""Per-site data-flow map: observed flows between inventory hosts, grouped by zone, judged by policy.

The facts come from their owners: flows and their zones from the segmentation stage
(:func:`radguard.checks.segmentation.judge_configured`: each flow with its site's stored policy,
as the flow checks judge it; the zones of a site's map with ``policy_for`` that site), hosts'
names and sites from the inventory. A flow belongs to a site when its client or server is an
asset of that site; flows touching no inventory asset are counted, not drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from radguard.checks.segmentation import Policy, Verdict, judge_configured, policy_for, zone_views
from radguard.reports.scope import Scope
from radguard.reports.sections.inventory import load_assets


@dataclass
class SiteFlows:
    site: str
    verdicts: list[Verdict]
    names: dict[str, str]  # address -> asset name
    policy: Policy

    @property
    def violations(self) -> int:
        return sum(1 for v in self.verdicts if v.violation)

    def pairs(self) -> dict[tuple[str, str], list[Verdict]]:
        """Observed client → server pairs, each with its flows (one map edge per pair)."""
        out: dict[tuple[str, str], list[Verdict]] = {}
        for v in self.verdicts:
            out.setdefault((v.flow.client, v.flow.server), []).append(v)
        return out

    def zones(self) -> list[tuple[str, list[tuple[str, str]]]]:
        views = zone_views(self.verdicts, self.policy)
        return [(f"{z.name} ({z.role})", [(h, self.names.get(h, h)) for h in sorted(z.hosts)]) for z in views]


@dataclass
class DataflowSection:
    available: bool
    sites: list[SiteFlows] = field(default_factory=list)
    unattributed: int = 0
    note: str = ""


def dataflow_section(scope: Scope) -> DataflowSection:
    if not scope.has_table("evidence"):
        return DataflowSection(False, note="No observed flows.")
    verdicts = [v for v in judge_configured(scope.session) if v.flow.first_seen <= scope.now]
    if not verdicts:
        return DataflowSection(False, note="No observed flows: import a capture (`radguard passive import`) or flow "
                                           "logs (`radguard passive flows import`).")
    assets = load_assets(scope)
    site_of = {a.id: a.site.code for a in assets}
    names = {e.host: a.name for a in assets for e in a.endpoints}
    per_site: dict[str, list[Verdict]] = {}
    unattributed = 0
    for v in verdicts:
        sites = {site_of[i] for i in (v.flow.client_asset_id, v.flow.server_asset_id) if i in site_of}
        if v.flow.client_asset_id is None and v.flow.server_asset_id is None:
            unattributed += 1  # no inventory asset at either end (a flow of another site is not counted)
        for site in sites:
            per_site.setdefault(site, []).append(v)
    return DataflowSection(bool(per_site), [SiteFlows(s, vs, names, policy_for(scope.session, s))
                                            for s, vs in sorted(per_site.items())],
                           unattributed, note="" if per_site else "No observed flow touches an inventory asset.")
