"""Flat exports for spreadsheets, SIEMs and GRC tools: findings, inventory, roadmap.

The columns are a contract: they are listed here in order, documented in docs/exports.md and
pinned by golden tests. New columns may be added at the end; existing ones are never renamed,
reordered or removed without a major version. Multi-valued cells are joined with ``"; "``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from radguard.checks.findings import finding_model, list_findings, open_severities_by_asset
from radguard.checks.loader import default_catalog
from radguard.checks.spec import SEVERITY_ORDER
from radguard.csvcells import to_csv as csv_document
from radguard.db.models.inventory import Asset
from radguard.inventory.scope import scope_site_ids
from radguard.reports.scope import Scope
from radguard.reports.sections.roadmap import roadmap_items

FINDING_COLUMNS = (
    "finding_id",
    "fingerprint",
    "check_id",
    "title",
    "severity",
    "risk_score",
    "state",
    "site",
    "asset",
    "asset_class",
    "subject",
    "key",
    "defense_layer",
    "first_seen",
    "last_seen",
    "due",
    "closed_at",
    "decided_by",
    "accepted_until",
    "known_exploited",
    "csf2",
    "hicp",
    "hph_cpg",
    "hipaa",
    "remediation",
    "summary",
)
INVENTORY_COLUMNS = (
    "asset_id",
    "site",
    "site_name",
    "name",
    "class",
    "modality_type",
    "vendor",
    "product",
    "software_version",
    "os_name",
    "os_version",
    "owner",
    "criticality",
    "network_zone",
    "stores_phi",
    "end_of_support",
    "remote_access",
    "remote_access_mfa",
    "endpoints",
    "ae_titles",
    "source",
    "confirmed",
    "last_seen",
    "open_findings",
    "highest_open_severity",
)
ROADMAP_COLUMNS = (
    "rank",
    "horizon",
    "action_id",
    "kind",
    "title",
    "owner",
    "effort",
    "risk_reduction",
    "priority",
    "depends_on",
)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def finding_records(scope: Scope) -> list[dict[str, Any]]:
    """Every finding in scope, oldest ID first, flattened from :class:`FindingRecord`.

    The facts are the findings register's one record (``checks.findings.finding_model``, as in
    ``findings list --json`` and the API); only the layout differs: one column per field, the
    asset split into site/name/class, the framework lists as their own columns.
    """
    catalog = default_catalog()
    out = []
    for f in sorted(list_findings(scope.session, site=scope.site, scope=scope.visible), key=lambda f: f.id):
        r = finding_model(f, catalog)
        out.append(
            {
                "finding_id": r.id,
                "fingerprint": r.fingerprint,
                "check_id": r.check_id,
                "title": r.title,
                "severity": r.severity,
                "risk_score": r.risk_score,
                "state": r.state,
                "site": r.asset.site if r.asset else None,
                "asset": r.asset.name if r.asset else None,
                "asset_class": r.asset.asset_class if r.asset else None,
                "subject": r.subject,
                "key": r.key,
                "defense_layer": r.defense_layer,
                "first_seen": _iso(r.first_seen),
                "last_seen": _iso(r.last_seen),
                "due": _iso(r.due),
                "closed_at": _iso(r.closed_at),
                "decided_by": r.decided_by,
                "accepted_until": _iso(r.accepted_until),
                "known_exploited": r.known_exploited,
                "csf2": list(r.frameworks.csf2),
                "hicp": list(r.frameworks.hicp),
                "hph_cpg": list(r.frameworks.hph_cpg),
                "hipaa": list(r.frameworks.hipaa),
                "remediation": r.remediation,
                "summary": r.summary,
            }
        )
    return out


def inventory_records(scope: Scope) -> list[dict[str, Any]]:
    site_id = scope.site_id()
    q = select(Asset).options(selectinload(Asset.site), selectinload(Asset.endpoints), selectinload(Asset.ae_titles))
    if site_id is not None:
        q = q.where(Asset.site_id == site_id)
    visible = scope_site_ids(scope.session, scope.visible)
    if visible is not None:
        q = q.where(Asset.site_id.in_(visible))
    open_by_asset = open_severities_by_asset(scope.session)
    out = []
    for a in scope.session.scalars(q.order_by(Asset.id)):
        sev = open_by_asset.get(a.id, [])
        out.append(
            {
                "asset_id": a.id,
                "site": a.site.code,
                "site_name": a.site.name,
                "name": a.name,
                "class": a.asset_class,
                "modality_type": a.modality_type,
                "vendor": a.vendor,
                "product": a.product,
                "software_version": a.software_version,
                "os_name": a.os_name,
                "os_version": a.os_version,
                "owner": a.owner,
                "criticality": a.criticality,
                "network_zone": a.network_zone,
                "stores_phi": a.stores_phi,
                "end_of_support": _iso(a.end_of_support),
                "remote_access": a.remote_access,
                "remote_access_mfa": a.remote_access_mfa,
                "endpoints": [f"{e.protocol}://{e.host}:{e.port}" for e in a.endpoints],
                "ae_titles": [t.ae_title for t in a.ae_titles],
                "source": a.source,
                "confirmed": a.confirmed,
                "last_seen": _iso(a.last_seen),
                "open_findings": len(sev),
                "highest_open_severity": max(sev, key=lambda s: SEVERITY_ORDER.get(s, 0)) if sev else None,
            }
        )
    return out


def roadmap_records(scope: Scope) -> list[dict[str, Any]]:
    section = roadmap_items(scope)
    return [
        {
            "rank": i.rank,
            "horizon": i.horizon,
            "action_id": i.action_id,
            "kind": i.kind,
            "title": i.title,
            "owner": i.owner,
            "effort": i.effort,
            "risk_reduction": i.risk_reduction,
            "priority": i.priority,
            "depends_on": i.depends_on,
        }
        for i in section.items
    ]


EXPORTS: dict[str, tuple[tuple[str, ...], Callable[[Scope], list[dict[str, Any]]]]] = {
    "findings": (FINDING_COLUMNS, finding_records),
    "inventory": (INVENTORY_COLUMNS, inventory_records),
    "roadmap": (ROADMAP_COLUMNS, roadmap_records),
}


def to_csv(columns: tuple[str, ...], records: list[dict[str, Any]]) -> str:
    return csv_document(columns, ([rec.get(c) for c in columns] for rec in records), lineterminator="\r\n")


def to_json(kind: str, columns: tuple[str, ...], records: list[dict[str, Any]], scope: Scope) -> str:
    import radguard

    doc = {
        "format": f"radguard-{kind}",
        "version": 1,
        "generated_at": scope.now.isoformat(),
        "radguard": radguard.__version__,
        "site": scope.site,
        "columns": list(columns),
        "records": [{c: rec.get(c) for c in columns} for rec in records],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
