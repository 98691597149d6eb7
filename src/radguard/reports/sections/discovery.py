"""Discovery results: which DICOM nodes accept anyone, which services lack TLS.

Read through discovery's read side (``radguard.discovery.probes.latest_probes``: the newest
probe per host and port, whatever its state), so an endpoint whose newest probe found it
closed is not listed as open here while the checks see it closed. Only the booleans and
product names discovery stored are shown: probes never record patient data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from radguard.db.models.inventory import Asset
from radguard.discovery.probes import Probe, latest_probes
from radguard.inventory.scope import site_visible
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
    closed: list[str] = field(default_factory=list)  # host:port whose newest probe found it closed/filtered


def _row(probe: Probe, asset_name: str | None) -> EndpointRow:
    doc: dict[str, Any] = probe.received
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
        probe.host,
        probe.port,
        asset_name,
        service,
        product,
        any_ae,
        str(tls.get("version") or "none"),
        problems,
    )


def discovery_section(scope: Scope) -> DiscoverySection:
    probes = latest_probes(scope.session)
    site_id = scope.site_id()
    ids = {p.asset_id for p in probes if p.asset_id is not None}
    assets = {a.id: a for a in scope.session.scalars(select(Asset).where(Asset.id.in_(sorted(ids)))
                                                     .options(selectinload(Asset.site)))} if ids else {}
    rows: list[EndpointRow] = []
    closed: list[str] = []
    newest_at = None
    for probe in probes:
        asset = assets.get(probe.asset_id) if probe.asset_id is not None else None
        if site_id is not None and (asset is None or asset.site_id != site_id):
            continue
        if scope.limited and (asset is None or not site_visible(asset.site.code, scope.visible)):
            continue  # a reader limited to sites: its sites' assets' endpoints only (endpoint_states' rule)
        newest_at = probe.collected_at if newest_at is None else max(newest_at, probe.collected_at)
        if not probe.is_open:
            closed.append(probe.where)
            continue
        rows.append(_row(probe, f"{asset.site.code}/{asset.name}" if asset else None))
    if newest_at is None:
        return DiscoverySection(False, note="No discovery scan recorded (`radguard discover`).")
    rows.sort(key=lambda r: (-len(r.problems), r.host, r.port))
    return DiscoverySection(
        True,
        rows=rows,
        open_dicom=sum(1 for r in rows if r.accepts_any_ae),
        without_tls=sum(1 for r in rows if "no TLS" in r.problems),
        scanned_at=newest_at.strftime("%Y-%m-%d %H:%M UTC"),
        closed=sorted(closed),
    )
