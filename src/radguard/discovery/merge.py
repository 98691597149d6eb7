"""Storing a scan: the ``scan`` row, one ``probe.endpoint`` evidence row per endpoint, and the
inventory merge.

Merging never overwrites what a person declared. An open endpoint is matched to an asset by
endpoint (host and port), else by host; otherwise a new *unconfirmed* asset is created
(``source="discovery"``) for someone to review. Matched assets only get ``last_seen`` and any
endpoint they did not list yet.
"""

from __future__ import annotations

import ipaddress
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from radguard.db.models.discovery import Scan
from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Asset, Endpoint, Site
from radguard.discovery.engine import Probed
from radguard.discovery.probes import PROBE_KIND
from radguard.discovery.results import DicomDoc, EndpointDoc
from radguard.inventory.vocab import DO_NOT_SCAN_TAG, AssetClass, Protocol

DISCOVERED_SITE = "DISCOVERED"
EVIDENCE_KIND = PROBE_KIND  # defined once, in the read side (discovery.probes)
_PROTOCOLS = {p.value for p in Protocol}


@dataclass
class Protected:
    """A host radguard must never contact, and why (for the output)."""

    host: str
    reason: str


def protected_hosts(session: Session) -> list[Protected]:
    """Every host of every asset tagged ``do-not-scan``."""
    out: list[Protected] = []
    assets = session.scalars(select(Asset).options(selectinload(Asset.endpoints), selectinload(Asset.site))).all()
    for asset in assets:
        if DO_NOT_SCAN_TAG not in (asset.tags or []):
            continue
        for host in sorted({e.host for e in asset.endpoints}):
            out.append(Protected(host, f"inventory asset {asset.site.code}/{asset.name} is tagged {DO_NOT_SCAN_TAG}"))
    return out


@dataclass
class MergeSummary:
    assets_created: int = 0
    assets_matched: int = 0
    endpoints_added: int = 0
    created: list[str] = field(default_factory=list)


def _site(session: Session, code: str | None) -> Site:
    code = code or DISCOVERED_SITE
    site = session.scalar(select(Site).where(Site.code == code))
    if site is None:
        if code != DISCOVERED_SITE:
            from radguard.errors import NotFoundError

            raise NotFoundError(f"no site {code!r} for discovered assets; import it first or omit --site")
        site = Site(code=code, name="Found by discovery, not yet reviewed")
        session.add(site)
        session.flush()
    return site


def _protocol(service: str | None) -> str:
    return service if service in _PROTOCOLS else Protocol.OTHER.value


def _host_key(host: str) -> tuple[int, Any]:
    try:
        return (0, int(ipaddress.ip_address(host)))
    except ValueError:
        return (1, host)


def sort_results(results: Iterable[Probed]) -> list[Probed]:
    return sorted(results, key=lambda p: (_host_key(p.doc.host), p.doc.port))


_IN_LIST = 500  # values per IN (...) list


class Merger:
    def __init__(self, session: Session, site_code: str | None, seen_at: datetime, hosts: Iterable[str]) -> None:
        self.session = session
        self.site_code = site_code
        self.seen_at = seen_at
        self.summary = MergeSummary()
        self._site: Site | None = None
        self._taken: set[str] = set()
        # The inventory's endpoints on the scanned hosts, loaded once: (host, port) -> asset and
        # host -> asset. Only those hosts: a one-host scan need not read a 50,000-asset
        # inventory, and IN lists stay short (databases cap their length).
        self._by_endpoint: dict[tuple[str, int], Asset] = {}
        self._by_host: dict[str, Asset] = {}
        wanted = sorted(set(hosts))
        rows: list[Any] = []
        assets: dict[int, Asset] = {}
        for start in range(0, len(wanted), _IN_LIST):
            rows += session.execute(select(Endpoint.host, Endpoint.port, Endpoint.asset_id, Endpoint.id)
                                    .where(Endpoint.host.in_(wanted[start:start + _IN_LIST]))).all()
        rows.sort(key=lambda r: r.id)  # the first-listed endpoint wins, as before
        ids = sorted({r.asset_id for r in rows})
        for start in range(0, len(ids), _IN_LIST):
            assets.update((a.id, a) for a in session.scalars(
                select(Asset).where(Asset.id.in_(ids[start:start + _IN_LIST])).options(selectinload(Asset.endpoints))))
        for host, port, asset_id, _ in rows:
            self._by_endpoint.setdefault((host, port), assets[asset_id])
            self._by_host.setdefault(host, assets[asset_id])

    def _match(self, host: str, port: int) -> Asset | None:
        return self._by_endpoint.get((host, port)) or self._by_host.get(host)

    def _create(self, probed: Probed) -> Asset:
        if self._site is None:
            self._site = _site(self.session, self.site_code)
            self._taken = set(self.session.scalars(select(Asset.name).where(Asset.site_id == self._site.id)))
        doc = probed.doc
        name = doc.host
        suffix = 2
        while name in self._taken:
            name, suffix = f"{doc.host} ({suffix})", suffix + 1
        self._taken.add(name)
        product = version = None
        if doc.dicom is not None and doc.dicom.product:
            product, version = doc.dicom.product, doc.dicom.version
        elif doc.http is not None and doc.http.product:
            product, version = doc.http.product, doc.http.version
        asset = Asset(site=self._site, name=name, asset_class=AssetClass.OTHER.value, product=product,
                      software_version=version, source="discovery", confirmed=False, tags=[],
                      attributes={"discovered_by_scan": True})
        self.session.add(asset)
        self._by_host[doc.host] = asset
        self.summary.assets_created += 1
        self.summary.created.append(name)
        return asset

    def merge_host(self, host: str, product: str | None = None, version: str | None = None) -> Asset:
        """The asset of a host seen only as a client (passive capture: a modality storing to the
        PACS listens on nothing radguard saw). Matched by host, else a new unconfirmed asset
        without endpoints, named after the host, with the product its fingerprint names."""
        asset = self._by_host.get(host)
        if asset is None:  # an earlier capture's client-only asset has no endpoint, only its name
            asset = self.session.scalar(select(Asset).where(Asset.name == host, Asset.source == "discovery")
                                        .order_by(Asset.id).limit(1))
        if asset is None:
            asset = self._create(Probed(EndpointDoc(host=host, port=0, state="open",
                                                    dicom=DicomDoc(product=product, version=version))))
        else:
            self._by_host[host] = asset
            self.summary.assets_matched += 1
        asset.last_seen = self.seen_at
        return asset

    def merge(self, probed: Probed) -> Asset | None:
        """Return the asset the endpoint belongs to (creating one for new open endpoints)."""
        doc = probed.doc
        asset = self._match(doc.host, doc.port)
        if doc.state != "open":
            return asset
        if asset is None:
            asset = self._create(probed)
        else:
            self.summary.assets_matched += 1
        if not any(e.host == doc.host and e.port == doc.port for e in asset.endpoints):
            asset.endpoints.append(Endpoint(host=doc.host, port=doc.port, protocol=_protocol(doc.service),
                                            source="discovery"))
            self.summary.endpoints_added += 1
        asset.last_seen = self.seen_at
        return asset


def counts(results: Sequence[Probed], skipped: int, merge: MergeSummary | None) -> dict[str, Any]:
    states = Counter(p.doc.state for p in results)
    services = Counter(p.doc.service for p in results if p.doc.state == "open")
    out: dict[str, Any] = {
        "endpoints": len(results), "open": states["open"], "closed": states["closed"],
        "filtered": states["filtered"], "services": dict(sorted(services.items())),
        "with_errors": sum(1 for p in results if p.doc.errors), "skipped": skipped,
    }
    if merge is not None:
        out.update(assets_created=merge.assets_created, assets_matched=merge.assets_matched,
                   endpoints_added=merge.endpoints_added)
    return out


def store_scan(session: Session, scan: Scan, results: Sequence[Probed], site_code: str | None,
               skipped: int) -> MergeSummary:
    """Write the scan, its evidence and the inventory merge (inside the caller's transaction)."""
    session.add(scan)
    session.flush()
    assert scan.finished is not None
    merger = Merger(session, site_code, scan.finished, (p.doc.host for p in results))
    owners = [merger.merge(probed) for probed in results]
    session.flush()  # new assets get their IDs in one round trip
    for probed, asset in zip(results, owners, strict=True):
        session.add(Evidence(
            kind=EVIDENCE_KIND, asset_id=asset.id if asset is not None else None, scan_id=scan.id,
            host=probed.doc.host, port=probed.doc.port, safety_level=scan.level, sent=probed.sent,
            received=probed.doc.document(), source="radguard discover", collected_at=scan.finished,
        ))
    scan.counts = counts(results, skipped, merger.summary)
    session.flush()
    return merger.summary
