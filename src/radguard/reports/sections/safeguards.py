"""Safeguard coverage per asset: which defense layers are in place, which are missing.

For each asset, the layers of the checks that apply to its class: *missing* where a check of
that layer has an open finding on the asset, *in place* where such checks were evaluated without
one, *unknown* before any assessment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from radguard.frameworks.sources import check_specs
from radguard.reports.scope import Scope
from radguard.reports.sections.findings import FindingRow
from radguard.reports.sections.inventory import load_assets

LAYERS = (
    "asset_management",
    "access_control",
    "encryption",
    "segmentation",
    "monitoring",
    "backup_recovery",
    "vendor_oversight",
    "training",
    "compliance",
)


@dataclass
class AssetSafeguards:
    asset: str
    asset_class: str
    cells: dict[str, str]  # layer → "in place" | "missing" | "unknown" | "" (no check applies)


@dataclass
class SafeguardsSection:
    available: bool
    layers: list[str] = field(default_factory=list)
    rows: list[AssetSafeguards] = field(default_factory=list)
    note: str = ""


def safeguards_section(scope: Scope, open_rows: list[FindingRow], assessed: bool) -> SafeguardsSection:
    specs = check_specs()
    if not specs:
        return SafeguardsSection(False, note="The check catalog is empty, so no safeguard can be assessed.")
    assets = load_assets(scope)
    if not assets:
        return SafeguardsSection(False, note="No assets recorded.")
    layers_by_class: dict[str, set[str]] = {}
    for spec in specs.values():
        for cls in spec.scope:
            layers_by_class.setdefault(cls, set()).add(spec.defense_layer)
    missing = {(r.asset_id, r.defense_layer) for r in open_rows if r.asset_id is not None}
    present = {a.asset_class for a in assets}
    used = [layer for layer in LAYERS if any(layer in layers_by_class.get(cls, set()) for cls in present)]
    rows = []
    for a in assets:
        applicable = layers_by_class.get(a.asset_class, set())
        cells = {}
        for layer in used:
            if layer not in applicable:
                cells[layer] = ""
            elif (a.id, layer) in missing:
                cells[layer] = "missing"
            else:
                cells[layer] = "in place" if assessed else "unknown"
        rows.append(AssetSafeguards(f"{a.site.code}/{a.name}", a.asset_class, cells))
    return SafeguardsSection(True, layers=used, rows=rows)
