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

from radguard.checks.spec import SEVERITY_ORDER
from radguard.csvcells import to_csv as csv_document
from radguard.db.models.findings import OPEN_STATES, Finding
from radguard.db.models.inventory import Asset
from radguard.frameworks.sources import check_specs
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
    specs = check_specs()
    site_id = scope.site_id()
    q = select(Finding, Asset).outerjoin(Asset, Finding.asset_id == Asset.id).options()
    out = []
    for f, asset in scope.session.execute(q.order_by(Finding.id)).all():
        if site_id is not None and asset is not None and asset.site_id != site_id:
            continue
        spec = specs.get(f.check_id)
        fw = spec.frameworks if spec else None
        out.append(
            {
                "finding_id": f.id,
                "fingerprint": f.fingerprint,
                "check_id": f.check_id,
                "title": f.title,
                "severity": f.severity,
                "risk_score": f.risk_score,
                "state": f.state,
                "site": asset.site.code if asset else None,
                "asset": asset.name if asset else None,
                "asset_class": asset.asset_class if asset else None,
                "subject": f.subject,
                "key": f.key,
                "defense_layer": spec.defense_layer if spec else None,
                "first_seen": _iso(f.first_seen),
                "last_seen": _iso(f.last_seen),
                "due": _iso(f.due),
                "closed_at": _iso(f.closed_at),
                "decided_by": f.decided_by,
                "accepted_until": _iso(f.accepted_until),
                "known_exploited": bool((f.evidence or {}).get("kev")),
                "csf2": list(fw.csf2) if fw else [],
                "hicp": list(fw.hicp) if fw else [],
                "hph_cpg": list(fw.hph_cpg) if fw else [],
                "hipaa": list(fw.hipaa) if fw else [],
                "remediation": spec.remediation if spec else None,
                "summary": f.summary,
            }
        )
    return out


def inventory_records(scope: Scope) -> list[dict[str, Any]]:
    site_id = scope.site_id()
    q = select(Asset).options(selectinload(Asset.site), selectinload(Asset.endpoints), selectinload(Asset.ae_titles))
    if site_id is not None:
        q = q.where(Asset.site_id == site_id)
    open_by_asset: dict[int, list[str]] = {}
    for asset_id, severity in scope.session.execute(
        select(Finding.asset_id, Finding.severity).where(Finding.state.in_(OPEN_STATES), Finding.asset_id.is_not(None))
    ).all():
        if asset_id is not None:
            open_by_asset.setdefault(asset_id, []).append(severity)
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
