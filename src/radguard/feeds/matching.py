"""Is this vendor/product/version affected by a stored advisory? And which assets are?

Matching is a dictionary look-up on the normalised (vendor, product) keys stored at import,
followed by evaluating the stored version range. A match needs *both* keys; an advisory range
radguard could not read, a condition it cannot verify, or a version it cannot compare makes the
match ``needs_review``, never ``affected``. A product listed as ``fixed`` or
``known_not_affected`` for the version in question suppresses the match for that CVE.

Every matched CVE carries KEV membership and CISA's ``knownRansomwareCampaignUse``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from radguard.db.models.feeds import (
    Advisory,
    AdvisoryProduct,
    AdvisoryProductKey,
    AdvisoryVulnerability,
    CveRecord,
    KevEntry,
)
from radguard.db.models.inventory import Asset, SoftwareComponent
from radguard.discovery.probes import latest_probes
from radguard.feeds.normalize import product_name, vendor_for_product, vendor_keys
from radguard.feeds.versions import Interval, Outcome, VersionSpec, parse_version

Status = Literal["affected", "needs_review"]
AFFECTED_STATUSES = ("known_affected",)
CLEARING_STATUSES = ("fixed", "known_not_affected")


@dataclass(frozen=True)
class CveInfo:
    id: str
    cvss: float | None
    kev: bool
    ransomware: str | None  # "Known" / "Unknown" when in KEV, else None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "cvss": self.cvss, "kev": self.kev, "ransomware": self.ransomware}


@dataclass(frozen=True)
class AdvisoryMatch:
    """One advisory that applies (or may apply) to one vendor/product/version."""

    advisory_id: str
    title: str
    source: str
    url: str | None
    status: Status
    reason: str
    vendor: str
    product: str
    version: str | None
    advisory_product: str  # the advisory's own vendor/product/version text
    matched_range: str  # the version text as published
    interpreted_range: str  # how radguard read it
    cves: tuple[CveInfo, ...] = ()
    remediations: tuple[str, ...] = ()

    @property
    def kev(self) -> bool:
        return any(c.kev for c in self.cves)

    @property
    def ransomware(self) -> bool:
        return any(c.ransomware == "Known" for c in self.cves)

    @property
    def max_cvss(self) -> float | None:
        scores = [c.cvss for c in self.cves if c.cvss is not None]
        return max(scores) if scores else None

    def as_lookup_json(self) -> dict[str, Any]:
        """The documented ``advisories lookup --json`` shape, exactly."""
        return {"advisory_id": self.advisory_id, "title": self.title, "status": self.status,
                "reason": self.reason, "cves": [c.as_json() for c in self.cves]}

    def as_json(self) -> dict[str, Any]:
        return {**self.as_lookup_json(), "source": self.source, "url": self.url, "vendor": self.vendor,
                "product": self.product, "version": self.version, "advisory_product": self.advisory_product,
                "matched_range": self.matched_range, "interpreted_range": self.interpreted_range,
                "kev": self.kev, "ransomware": self.ransomware, "remediations": list(self.remediations)}


Origin = Literal["component", "asset", "discovery"]


@dataclass(frozen=True)
class AssetAdvisoryMatch:
    """An advisory matched to an asset through one of its components, its own product, or a
    product/version fingerprint discovery saw on one of its endpoints."""

    asset_id: int
    origin: Origin
    match: AdvisoryMatch
    endpoint: str | None = None  # host:port for discovery fingerprints

    @property
    def component(self) -> str:
        return " ".join(x for x in (self.match.vendor, self.match.product, self.match.version) if x)

    def as_json(self) -> dict[str, Any]:
        return {"asset_id": self.asset_id, "origin": self.origin, "endpoint": self.endpoint,
                "component": self.component, **self.match.as_json()}


@dataclass
class _Product:
    advisory_pk: int
    ref: str
    vendor: str
    product: str
    version_text: str | None
    full_name: str | None
    spec: VersionSpec
    name_version: str | None


@dataclass
class _Vuln:
    cve_id: str | None
    cvss: float | None
    status: dict[str, str]
    remediations: list[dict[str, Any]]


@dataclass
class _Advisory:
    advisory_id: str
    title: str
    source: str
    url: str | None
    vulns: list[_Vuln] = field(default_factory=list)


def _evaluate(p: _Product, version: str | None) -> tuple[Outcome, str]:
    """The stored range, narrowed by any version written into the product name."""
    if p.name_version:
        if not version:
            return "unknown", f"no version is recorded; the advisory names version line {p.name_version}"
        v = parse_version(version)
        line = Interval(lo=p.name_version, hi=p.name_version)
        outcome = line.contains(v) if v else "unknown"
        if outcome == "out":
            return "out", f"version {version} is not in the {p.name_version} line the advisory names"
        if outcome == "unknown":
            return "unknown", f"version {version} cannot be compared with the {p.name_version} line the advisory names"
        if p.spec.kind == "all" and not p.spec.condition:
            return "in", f"version {version} is in the {p.name_version} line, all of which the advisory covers"
    return p.spec.evaluate(version)


class AdvisoryIndex:
    """Advisories in memory, keyed by normalised (vendor, product); built once per run."""

    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.products: dict[int, _Product] = {}
        self.advisories: dict[int, _Advisory] = {}
        self.kev: dict[str, str | None] = {}
        self.cvss: dict[str, float | None] = {}
        self._memo: dict[tuple[str, str, str], tuple[AdvisoryMatch, ...]] = {}

    @classmethod
    def load(cls, session: Session, keys: Iterable[tuple[str, str]] | None = None) -> AdvisoryIndex:
        """Load everything, or only the entries answering to ``keys`` (a single look-up)."""
        index = cls()
        stmt = select(AdvisoryProductKey.vendor_key, AdvisoryProductKey.product_key, AdvisoryProductKey.product_pk)
        if keys is not None:
            wanted = list(set(keys))
            if not wanted:
                return index
            stmt = stmt.where(tuple_(AdvisoryProductKey.vendor_key, AdvisoryProductKey.product_key).in_(wanted))
        for vk, pk, product_pk in session.execute(stmt):
            index.by_key[(vk, pk)].append(product_pk)
        product_pks = {pk for pks in index.by_key.values() for pk in pks}
        if not product_pks:
            return index
        prod_stmt = select(AdvisoryProduct)
        if keys is not None:
            prod_stmt = prod_stmt.where(AdvisoryProduct.id.in_(product_pks))
        for p in session.scalars(prod_stmt):
            index.products[p.id] = _Product(p.advisory_pk, p.product_ref, p.vendor, p.product, p.version_text,
                                            p.full_name, VersionSpec.from_json(p.spec), p.name_version)
        advisory_pks = {p.advisory_pk for p in index.products.values()}
        adv_stmt = select(Advisory.id, Advisory.advisory_id, Advisory.title, Advisory.source, Advisory.url)
        vuln_stmt = select(AdvisoryVulnerability)
        if keys is not None:
            adv_stmt = adv_stmt.where(Advisory.id.in_(advisory_pks))
            vuln_stmt = vuln_stmt.where(AdvisoryVulnerability.advisory_pk.in_(advisory_pks))
        for adv_pk, aid, title, source, url in session.execute(adv_stmt):
            index.advisories[adv_pk] = _Advisory(aid, title, source, url)
        cves: set[str] = set()
        for v in session.scalars(vuln_stmt.order_by(AdvisoryVulnerability.id)):
            if v.advisory_pk in index.advisories:
                index.advisories[v.advisory_pk].vulns.append(
                    _Vuln(v.cve_id, v.cvss_score, dict(v.product_status), list(v.remediations)))
                if v.cve_id:
                    cves.add(v.cve_id)
        kev_stmt = select(KevEntry.cve_id, KevEntry.ransomware)
        cve_stmt = select(CveRecord.cve_id, CveRecord.cvss_score)
        if keys is not None:
            kev_stmt = kev_stmt.where(KevEntry.cve_id.in_(cves))
            cve_stmt = cve_stmt.where(CveRecord.cve_id.in_(cves))
        index.kev = {cve: ransomware for cve, ransomware in session.execute(kev_stmt)}
        index.cvss = {cve: score for cve, score in session.execute(cve_stmt)}
        return index

    @staticmethod
    def query_keys(vendor: str | None, product: str) -> set[tuple[str, str]]:
        vks = set(vendor_keys(vendor)) if vendor and vendor.strip() else set()
        if not vks and (known := vendor_for_product(product)):
            vks = {known}
        pks = product_name(product, vendor or "").keys
        return {(v, p) for v in vks for p in pks}

    def match(self, vendor: str | None, product: str | None, version: str | None) -> tuple[AdvisoryMatch, ...]:
        if not product or not product.strip():
            return ()
        memo_key = (vendor or "", product, version or "")
        if memo_key in self._memo:
            return self._memo[memo_key]
        version = version.strip() if version and version.strip() else product_name(product, vendor or "").version
        found: dict[int, set[int]] = defaultdict(set)
        for key in self.query_keys(vendor, product):
            for product_pk in self.by_key.get(key, ()):
                found[self.products[product_pk].advisory_pk].add(product_pk)
        results = [m for adv_pk, pks in found.items()
                   if (m := self._match_advisory(adv_pk, sorted(pks), vendor or "", product, version))]
        results.sort(key=lambda m: (m.status != "affected", m.advisory_id))
        self._memo[memo_key] = tuple(results)
        return self._memo[memo_key]

    def _match_advisory(self, adv_pk: int, product_pks: list[int], vendor: str, product: str,
                        version: str | None) -> AdvisoryMatch | None:
        adv = self.advisories.get(adv_pk)
        if adv is None:
            return None
        evaluated = {pk: _evaluate(self.products[pk], version) for pk in product_pks}
        by_ref = {self.products[pk].ref: pk for pk in product_pks}
        affected: list[tuple[_Vuln, int]] = []
        review: list[tuple[_Vuln, int]] = []
        for vuln in adv.vulns:
            statuses = [(by_ref[ref], st) for ref, st in vuln.status.items() if ref in by_ref]
            if any(st in CLEARING_STATUSES and evaluated[pk][0] == "in" for pk, st in statuses):
                continue  # this version is listed as fixed / not affected for this CVE
            hit = next((pk for pk, st in statuses if st in AFFECTED_STATUSES and evaluated[pk][0] == "in"), None)
            if hit is not None:
                affected.append((vuln, hit))
                continue
            maybe = next((pk for pk, st in statuses
                          if (st in AFFECTED_STATUSES and evaluated[pk][0] == "unknown")
                          or st == "under_investigation"), None)
            if maybe is not None:
                review.append((vuln, maybe))
        if not affected and not review:
            return None
        status: Status = "affected" if affected else "needs_review"
        chosen = affected or review
        pk = chosen[0][1]
        p = self.products[pk]
        outcome_reason = evaluated[pk][1]
        if chosen[0][0].status.get(p.ref) == "under_investigation":
            outcome_reason = "the advisory lists this product as under investigation"
        published = " ".join(x for x in (p.vendor, p.product, p.version_text) if x)
        subject = " ".join(x for x in (vendor, product, version) if x)
        how = ("vendor and product match" if vendor.strip()
               else "the product identifies its vendor and matches")
        reason = f"{subject}: {how} the advisory's {published!r}; {outcome_reason}"
        cves = []
        seen: set[str] = set()
        remediations: list[str] = []
        for vuln, _ in chosen:
            if vuln.cve_id and vuln.cve_id not in seen:
                seen.add(vuln.cve_id)
                in_kev = vuln.cve_id in self.kev
                cves.append(CveInfo(vuln.cve_id, vuln.cvss if vuln.cvss is not None else self.cvss.get(vuln.cve_id),
                                    in_kev, self.kev.get(vuln.cve_id) if in_kev else None))
            for rem in vuln.remediations:
                if p.ref in rem.get("product_ids", []) and rem.get("details") and rem["details"] not in remediations:
                    remediations.append(rem["details"])
        return AdvisoryMatch(
            advisory_id=adv.advisory_id, title=adv.title, source=adv.source, url=adv.url, status=status,
            reason=reason, vendor=vendor, product=product, version=version, advisory_product=published,
            matched_range=p.version_text or "", interpreted_range=p.spec.describe()
            + (f" within the {p.name_version} line" if p.name_version else ""),
            cves=tuple(cves), remediations=tuple(remediations),
        )


def lookup(session: Session, vendor: str, product: str, version: str | None) -> list[AdvisoryMatch]:
    """Which stored advisories apply to this vendor/product/version? No inventory involved."""
    index = AdvisoryIndex.load(session, AdvisoryIndex.query_keys(vendor, product))
    return list(index.match(vendor, product, version))


_RANK = {"affected": 0, "needs_review": 1}


Fingerprint = tuple[int, str, str | None, str, str | None]


def _fingerprints(session: Session, asset_ids: list[int] | None) -> Iterable[Fingerprint]:
    """(asset, endpoint, vendor, product, version) from the newest probe of each endpoint.

    The newest probe comes from discovery's read side, so a port whose newest probe found it
    closed contributes no fingerprint, exactly as the checks see it.
    """
    wanted = set(asset_ids) if asset_ids is not None else None
    for probe in latest_probes(session):
        if probe.asset_id is None or (wanted is not None and probe.asset_id not in wanted):
            continue
        for proto in ("dicom", "http"):
            facts = probe.section(proto)
            if isinstance(facts.get("product"), str) and facts["product"].strip():
                vendor = facts.get("vendor") if isinstance(facts.get("vendor"), str) else None
                version = facts.get("version") if isinstance(facts.get("version"), str) else None
                yield probe.asset_id, probe.where, vendor, facts["product"], version


def match_assets(session: Session, asset_ids: Iterable[int] | None = None,
                 index: AdvisoryIndex | None = None, assets: Sequence[Asset] | None = None) -> list[AssetAdvisoryMatch]:
    """Every (asset, advisory) match, one per pair, the most certain source first.

    Sources: the asset's software components, the asset's own vendor/product/software version,
    and product/version fingerprints in the newest ``probe.endpoint`` evidence of each endpoint.
    ``assets`` (every asset with its components, e.g. the assessment's snapshot, in ID order)
    saves reading the inventory again.
    """
    wanted = set(asset_ids) if asset_ids is not None else None
    # Short lists filter in SQL; long ones in Python (databases cap the size of IN lists).
    ids = sorted(wanted) if wanted is not None and len(wanted) <= 900 else None
    index = index or AdvisoryIndex.load(session)
    if not index.by_key:
        return []
    best: dict[tuple[int, str], AssetAdvisoryMatch] = {}
    # A fleet has 100,000s of components but few distinct (vendor, product, version): match each
    # once, and skip the (most) rows that match nothing without a function call.
    matches: dict[tuple[str | None, str | None, str | None], tuple[AdvisoryMatch, ...]] = {}

    def consider(rows: Iterable[tuple[Any, ...]], origin: Origin) -> None:
        for asset_id, vendor, product, version, *rest in rows:
            triple = (vendor, product, version)
            found = matches.get(triple)
            if found is None:
                found = matches[triple] = index.match(vendor, product, version)
            if not found or (wanted is not None and asset_id not in wanted):
                continue
            endpoint = rest[0] if rest else None
            for m in found:
                key = (asset_id, m.advisory_id)
                current = best.get(key)
                if current is None or _RANK[m.status] < _RANK[current.match.status]:
                    best[key] = AssetAdvisoryMatch(asset_id, origin, m, endpoint)

    comp_stmt = select(SoftwareComponent.asset_id, SoftwareComponent.vendor, SoftwareComponent.product,
                       SoftwareComponent.version).order_by(SoftwareComponent.asset_id, SoftwareComponent.id)
    asset_stmt = select(Asset.id, Asset.vendor, Asset.product, Asset.software_version).order_by(Asset.id)
    if ids is not None:
        comp_stmt = comp_stmt.where(SoftwareComponent.asset_id.in_(ids))
        asset_stmt = asset_stmt.where(Asset.id.in_(ids))
    if assets is not None:
        consider([(a.id, c.vendor, c.product, c.version) for a in assets for c in a.components], "component")
        consider([(a.id, a.vendor, a.product, a.software_version) for a in assets], "asset")
    else:
        conn = session.connection()  # plain rows: no ORM bookkeeping for 100,000s of components
        consider(conn.execute(comp_stmt).all(), "component")
        consider(conn.execute(asset_stmt).all(), "asset")
    consider(((asset_id, vendor, product, version, endpoint)
              for asset_id, endpoint, vendor, product, version in _fingerprints(session, ids)), "discovery")
    return sorted(best.values(), key=lambda m: (m.asset_id, _RANK[m.match.status], m.match.advisory_id))
