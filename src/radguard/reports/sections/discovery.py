"""Discovery results: which DICOM nodes accept anyone, which services lack TLS.

Read from ``probe.endpoint`` evidence (the newest per host and port). Only the booleans and
product names discovery stored are shown: probes never record patient data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Asset
from radguard.reports.scope import Scope

PLAIN_SERVICES = {"dicom", "http", "hl7-mllp"}


@dataclass
class EndpointRow:
    host: str
    port: int
    asset: str | None
    service: str
    product: str
    accepts_any_ae: bool | None
    tls: str
    problems: list[str]


@dataclass
class DiscoverySection:
    available: bool
    rows: list[EndpointRow] = field(default_factory=list)
    open_dicom: int = 0
    without_tls: int = 0
    scanned_at: str | None = None
    note: str = ""


def _row(ev: Evidence, asset_name: str | None) -> EndpointRow:
    doc: dict[str, Any] = ev.received or {}
    dicom = doc.get("dicom") or {}
    http = doc.get("http") or {}
    tls = doc.get("tls") or {}
    service = str(doc.get("service") or "unknown")
    any_ae = None
    if dicom:
        flags = [dicom.get("accepts_unknown_calling_ae"), dicom.get("accepts_any_called_ae")]
        any_ae = True if any(f is True for f in flags) else (False if any(f is False for f in flags) else None)
    problems = []
    if any_ae:
        problems.append("accepts any AE title")
    if dicom.get("anonymous_query"):
        problems.append("answers queries without authentication")
    if http.get("auth_required") is False or http.get("dicomweb_anonymous"):
        problems.append("web access without authentication")
    if service in PLAIN_SERVICES and not tls:
        problems.append("no TLS")
    product = " ".join(
        str(x) for x in (dicom.get("product") or http.get("product"), dicom.get("version") or http.get("version")) if x
    )
    return EndpointRow(
        str(doc.get("host") or ev.host),
        int(doc.get("port") or ev.port or 0),
        asset_name,
        service,
        product,
        any_ae,
        str(tls.get("version") or "none"),
        problems,
    )


def discovery_section(scope: Scope) -> DiscoverySection:
    q = (
        select(Evidence, Asset)
        .outerjoin(Asset, Evidence.asset_id == Asset.id)
        .where(Evidence.kind == "probe.endpoint")
        .order_by(Evidence.collected_at.desc(), Evidence.id.desc())
    )
    site_id = scope.site_id()
    newest: dict[tuple[str, int], EndpointRow] = {}
    scanned_at = None
    for ev, asset in scope.session.execute(q).all():
        if site_id is not None and (asset is None or asset.site_id != site_id):
            continue
        key = (str(ev.host), int(ev.port or 0))
        if key in newest:
            continue
        if scanned_at is None:
            scanned_at = ev.collected_at.strftime("%Y-%m-%d %H:%M UTC")
        doc_state = (ev.received or {}).get("state")
        if doc_state not in (None, "open"):
            continue
        newest[key] = _row(ev, f"{asset.site.code}/{asset.name}" if asset else None)
    if not newest:
        return DiscoverySection(False, note="No discovery scan recorded (`radguard discover`).")
    rows = sorted(newest.values(), key=lambda r: (-len(r.problems), r.host, r.port))
    return DiscoverySection(
        True,
        rows=rows,
        open_dicom=sum(1 for r in rows if r.accepts_any_ae),
        without_tls=sum(1 for r in rows if "no TLS" in r.problems),
        scanned_at=scanned_at,
    )
