"""The read side of discovery: the newest probe of each endpoint, as every other stage sees it.

Discovery stores one ``probe.endpoint`` evidence row per endpoint per scan (:mod:`.merge`);
its ``received`` document is :class:`radguard.discovery.results.EndpointDoc`. What an endpoint
*is now* is its newest probe — including a newest ``closed`` or ``filtered`` one, which means
the service is gone even if an older scan saw it open. Checks, the reports and advisory
matching all call :func:`latest_probes`, so a closed endpoint is closed everywhere (an older
copy of this query in the report skipped a newest closed probe and listed the port as open).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Asset, Endpoint
from radguard.discovery.results import EndpointDoc, State
from radguard.inventory.scope import SiteScope, scope_site_ids

# Evidence kind names discovery writes. Defined here only; other stages import them.
PROBE_KIND = "probe.endpoint"


@dataclass(frozen=True)
class Probe:
    """The newest ``probe.endpoint`` observation of one host:port.

    ``received`` is the stored :class:`EndpointDoc` as JSON (kept as a dict because checks read
    fifty thousand of them per assessment); :attr:`document` gives the typed form.
    """

    evidence_id: int
    asset_id: int | None
    host: str
    port: int
    collected_at: datetime
    received: dict[str, Any]
    scan_id: int | None = None
    vantage_zone: str | None = None  # the zone the scan ran from (``discover --vantage-zone``)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def state(self) -> State | str:
        """``open``, ``closed`` or ``filtered``; evidence written without a state counts as open."""
        value = self.received.get("state", "open")
        return value if isinstance(value, str) else "open"

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    @property
    def service(self) -> str | None:
        value = self.received.get("service")
        return value if isinstance(value, str) else None

    def section(self, name: str) -> dict[str, Any]:
        """One protocol's facts (``dicom``, ``http``, ``tls``), empty when not probed."""
        value = self.received.get(name)
        return value if isinstance(value, dict) else {}

    @property
    def document(self) -> EndpointDoc | None:
        """The typed document, or None for evidence that does not follow the current schema."""
        try:
            return EndpointDoc.model_validate({"host": self.host, "port": self.port, **self.received})
        except ValidationError:
            return None

    def cite(self) -> dict[str, Any]:
        cited = {"evidence_id": self.evidence_id, "endpoint": self.where, "collected_at": self.collected_at}
        if self.vantage_zone is not None:
            cited.update(scan_id=self.scan_id, vantage_zone=self.vantage_zone)
        return cited


def inventory_hosts(session: Session) -> dict[str, int]:
    """Inventory endpoint host → asset (lowest asset ID first), to attach unattached probes."""
    out: dict[str, int] = {}
    for host, asset_id in session.execute(select(Endpoint.host, Endpoint.asset_id)
                                          .order_by(Endpoint.asset_id, Endpoint.id)):
        out.setdefault(host, asset_id)
    return out


def _hosts_of_asset(session: Session, asset_id: int) -> set[str]:
    """Every host whose probes can decide one asset's endpoint states: its inventory endpoints',
    its attached probes', and those of probes stored without a host column (read from the document)."""
    hosts = set(session.scalars(select(Endpoint.host).where(Endpoint.asset_id == asset_id)))
    hosts |= {h for h in session.scalars(select(Evidence.host).where(
        Evidence.kind == PROBE_KIND, Evidence.asset_id == asset_id, Evidence.host.is_not(None))) if h}
    for received in session.scalars(select(Evidence.received).where(
            Evidence.kind == PROBE_KIND, Evidence.host.is_(None))):
        if isinstance(received, dict) and isinstance(received.get("host"), str):
            hosts.add(received["host"])
    return hosts


def latest_probes(session: Session, *, now: datetime | None = None,
                  hosts: Mapping[str, int] | None = None, only_hosts: Collection[str] | None = None) -> list[Probe]:
    """Newest ``probe.endpoint`` evidence per (host, port), with its asset resolved.

    :param session: the database session.
    :param now: ignore evidence collected after this time (an assessment "as of" a date).
    :param hosts: host → asset ID for probes discovery stored without an asset; by default
        the inventory's endpoints (:func:`inventory_hosts`). Checks pass their snapshot's map.
    :param only_hosts: only the endpoints of these hosts (read through the host index; the
        result for them is the same as in the whole list).
    :returns: one :class:`Probe` per endpoint, whatever its state, in first-seen order.
    """
    stmt = (select(Evidence.id, Evidence.asset_id, Evidence.host, Evidence.port, Evidence.collected_at,
                   Evidence.received)
            .where(Evidence.kind == PROBE_KIND).order_by(Evidence.collected_at, Evidence.id))
    if only_hosts is not None:
        wanted = sorted(set(only_hosts))
        if hosts is None:  # the lowest asset ID holding each host, as inventory_hosts gives it
            hosts = {h: int(a) for h, a in session.execute(
                select(Endpoint.host, func.min(Endpoint.asset_id)).where(Endpoint.host.in_(wanted))
                .group_by(Endpoint.host))}
        stmt = stmt.where(Evidence.host.in_(wanted) | Evidence.host.is_(None))
    hosts = inventory_hosts(session) if hosts is None else hosts
    if now is not None:
        stmt = stmt.where(Evidence.collected_at <= now)
    newest: dict[tuple[str, int], Probe] = {}
    for eid, asset_id, host, port, at, received in session.execute(stmt):
        doc = received if isinstance(received, dict) else {}
        host = host or doc.get("host")
        port = port if port is not None else doc.get("port")
        if not host or port is None or (only_hosts is not None and host not in only_hosts):
            continue
        newest[(host, int(port))] = Probe(eid, asset_id if asset_id is not None else hosts.get(host),
                                          host, int(port), at, doc)
    return list(newest.values())


def latest_probes_by_vantage(session: Session, zones: Mapping[int, str], *, now: datetime | None = None,
                             hosts: Mapping[str, int] | None = None) -> dict[str, list[Probe]]:
    """Newest probe per (vantage zone, host, port), grouped by the zone the scan ran from.

    Scans without a vantage are left out: reachability means something only when it is known
    where the scan started.

    :param session: the database session.
    :param zones: scan ID → the zone it ran from (:func:`radguard.discovery.vantage.vantage_zones`).
    :param now: ignore evidence collected after this time.
    :param hosts: host → asset ID for unattached probes, as for :func:`latest_probes`.
    """
    if not zones:
        return {}
    hosts = inventory_hosts(session) if hosts is None else hosts
    stmt = (select(Evidence.id, Evidence.asset_id, Evidence.host, Evidence.port, Evidence.collected_at,
                   Evidence.received, Evidence.scan_id)
            .where(Evidence.kind == PROBE_KIND, Evidence.scan_id.in_(sorted(zones)))
            .order_by(Evidence.collected_at, Evidence.id))
    if now is not None:
        stmt = stmt.where(Evidence.collected_at <= now)
    newest: dict[tuple[str, str, int], Probe] = {}
    for eid, asset_id, host, port, at, received, scan_id in session.execute(stmt):
        doc = received if isinstance(received, dict) else {}
        host = host or doc.get("host")
        port = port if port is not None else doc.get("port")
        if not host or port is None:
            continue
        zone = zones[int(scan_id)]
        newest[(zone.lower(), host, int(port))] = Probe(
            eid, asset_id if asset_id is not None else hosts.get(host), host, int(port), at, doc,
            scan_id=int(scan_id), vantage_zone=zone)
    out: dict[str, list[Probe]] = {}
    for probe in newest.values():
        out.setdefault(probe.vantage_zone or "", []).append(probe)
    return out


class EndpointState(BaseModel):
    """An endpoint's state as discovery last saw it: the one shape of this fact (CLI, API, pages)."""

    host: str
    port: int
    state: str
    service: str | None
    asset_id: int | None
    collected_at: datetime
    evidence_id: int


def endpoint_states(session: Session, *, asset_id: int | None = None, scope: SiteScope = None) -> list[EndpointState]:
    """Every probed endpoint's newest state, by host and port (or only one asset's).

    :param session: the database session.
    :param asset_id: only the endpoints attached (or resolved) to this asset.
    :param scope: the sites the caller may see (:mod:`radguard.inventory.scope`): only endpoints
        of those sites' assets (a probe of no inventory asset is no site's); None: all.
    """
    ids = scope_site_ids(session, scope)
    if ids is not None and asset_id is not None:
        if session.scalar(select(Asset.site_id).where(Asset.id == asset_id)) not in ids:
            return []
        ids = None  # an asset of the caller's sites: all its probes are
    visible = None if ids is None else set(session.scalars(select(Asset.id).where(Asset.site_id.in_(ids))))
    # One asset's: only the probes of its hosts (the asset page read every probe and every
    # inventory endpoint, over half a second at 100,000 assets).
    probes = latest_probes(session) if asset_id is None else latest_probes(
        session, only_hosts=_hosts_of_asset(session, asset_id))
    out = [EndpointState(host=p.host, port=p.port, state=p.state, service=p.service, asset_id=p.asset_id,
                         collected_at=p.collected_at, evidence_id=p.evidence_id)
           for p in probes if (asset_id is None or p.asset_id == asset_id)
           and (visible is None or p.asset_id in visible)]
    return sorted(out, key=lambda e: (e.host, e.port))
