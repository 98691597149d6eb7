"""Inventory summary: how many assets of each class at each site, and what is past end of support."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from radguard.db.models.inventory import Asset
from radguard.inventory.queries import list_assets
from radguard.reports.scope import Scope


@dataclass
class InventorySection:
    available: bool
    total: int = 0
    by_class: list[tuple[str, int]] = field(default_factory=list)
    by_site: list[tuple[str, int]] = field(default_factory=list)
    table: list[tuple[str, dict[str, int]]] = field(default_factory=list)  # site → class → count
    classes: list[str] = field(default_factory=list)
    end_of_support: list[tuple[str, str, str]] = field(default_factory=list)  # site, asset, date
    unconfirmed: int = 0
    note: str = ""


def load_assets(scope: Scope) -> list[Asset]:
    """The report's assets (its site's, the reader's sites'), with site and endpoints, by ID.

    Read through the inventory's own listing (``inventory.queries.list_assets``) with the
    reader's sites as its scope.
    """
    scope.site_id()  # an unknown site, or one beyond the reader's, is refused here
    return sorted(list_assets(scope.session, site=scope.site, scope=scope.visible), key=lambda a: a.id)


def inventory_section(scope: Scope) -> InventorySection:
    assets = load_assets(scope)
    if not assets:
        return InventorySection(False, note="No assets recorded: import an inventory with `radguard inventory import`.")
    by_class = Counter(a.asset_class for a in assets)
    by_site = Counter(a.site.code for a in assets)
    classes = sorted(by_class)
    table = [
        (site, {c: sum(1 for a in assets if a.site.code == site and a.asset_class == c) for c in classes})
        for site in sorted(by_site)
    ]
    today = scope.now.date()
    eos = sorted(
        (a.site.code, a.name, a.end_of_support.isoformat())
        for a in assets
        if a.end_of_support is not None and a.end_of_support <= today
    )
    return InventorySection(
        True,
        total=len(assets),
        by_class=by_class.most_common(),
        by_site=sorted(by_site.items()),
        table=table,
        classes=classes,
        end_of_support=eos,
        unconfirmed=sum(1 for a in assets if not a.confirmed),
    )
