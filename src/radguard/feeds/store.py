"""Writing parsed feeds: idempotent upserts, and a record of every feed document read.

Advisories are keyed by their tracking ID: the same content again is left alone, a changed
document replaces the advisory's products and vulnerabilities. KEV entries and CVE records are
keyed by CVE ID and updated in place. Callers run this inside one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.db.base import utcnow
from radguard.db.models.feeds import (
    Advisory,
    AdvisoryProduct,
    AdvisoryProductKey,
    AdvisoryVulnerability,
    CveRecord,
    FeedImport,
    KevEntry,
)
from radguard.feeds.records import ParsedAdvisory, ParsedFeed


@dataclass
class ImportSummary:
    files: int = 0
    advisories_added: int = 0
    advisories_updated: int = 0
    advisories_unchanged: int = 0
    products: int = 0
    products_needing_review: int = 0
    kev_added: int = 0
    kev_updated: int = 0
    cves_added: int = 0
    cves_updated: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _record_import(session: Session, feed: ParsedFeed) -> FeedImport:
    row = session.scalar(select(FeedImport).where(FeedImport.source == feed.kind, FeedImport.sha256 == feed.sha256))
    now = utcnow()
    if row is None:
        row = FeedImport(source=feed.kind, name=feed.name[:500], version=feed.version, released_at=feed.released_at,
                         sha256=feed.sha256, records=feed.records, imported_at=now, last_imported_at=now)
        session.add(row)
        session.flush()
    else:
        row.name = feed.name[:500]
        row.last_imported_at = now
    return row


def _store_advisory(session: Session, adv: ParsedAdvisory, import_id: int, summary: ImportSummary) -> None:
    existing = session.scalar(select(Advisory).where(Advisory.advisory_id == adv.advisory_id))
    if existing is not None:
        if existing.sha256 == adv.sha256:
            summary.advisories_unchanged += 1
            return
        session.delete(existing)
        session.flush()
        summary.advisories_updated += 1
    else:
        summary.advisories_added += 1
    row = Advisory(advisory_id=adv.advisory_id, source=adv.source, title=adv.title, publisher=adv.publisher,
                   revision=adv.revision, released_at=adv.released_at, updated_at=adv.updated_at, url=adv.url,
                   sha256=adv.sha256, import_id=import_id)
    for p in adv.products:
        product = AdvisoryProduct(product_ref=p.ref, vendor=p.vendor[:300], product=p.product[:500],
                                  version_text=p.version_text, full_name=p.full_name, cpe=p.cpe,
                                  spec=p.spec.to_json(), name_version=p.name_version)
        keys = sorted({(v[:200], k[:300]) for v, k in p.keys})
        product.keys = [AdvisoryProductKey(vendor_key=v, product_key=k) for v, k in keys]
        row.products.append(product)
        summary.products += 1
        if p.spec.kind == "unparseable" or p.spec.condition:
            summary.products_needing_review += 1
    for v in adv.vulnerabilities:
        row.vulnerabilities.append(AdvisoryVulnerability(
            cve_id=v.cve_id, title=v.title, cwe=v.cwe, cvss_score=v.cvss_score, cvss_vector=v.cvss_vector,
            product_status=v.product_status, remediations=v.remediations))
    session.add(row)


def store_feeds(session: Session, feeds: list[ParsedFeed],
                progress: Callable[[ParsedFeed], None] | None = None) -> ImportSummary:
    summary = ImportSummary(files=len(feeds))
    kev_rows = {k.cve_id: k for k in session.scalars(select(KevEntry))} if any(f.kev for f in feeds) else {}
    cve_rows = {c.cve_id: c for c in session.scalars(select(CveRecord))} if any(f.cves for f in feeds) else {}
    for feed in feeds:
        record = _record_import(session, feed)
        for adv in feed.advisories:
            _store_advisory(session, adv, record.id, summary)
        for k in feed.kev:
            values = {f: getattr(k, f) for f in ("vendor_project", "product", "name", "date_added", "due_date",
                                                 "ransomware", "short_description", "required_action", "notes",
                                                 "cwes")}
            kev_row = kev_rows.get(k.cve_id)
            if kev_row is None:
                kev_row = KevEntry(cve_id=k.cve_id, import_id=record.id, **values)
                session.add(kev_row)
                kev_rows[k.cve_id] = kev_row
                summary.kev_added += 1
            elif any(getattr(kev_row, f) != v for f, v in values.items()):
                for f, v in values.items():
                    setattr(kev_row, f, v)
                kev_row.import_id = record.id
                summary.kev_updated += 1
        for c in feed.cves:
            values = {f: getattr(c, f) for f in ("description", "cvss_score", "cvss_vector", "severity",
                                                 "published_at", "modified_at")}
            cve_row = cve_rows.get(c.cve_id)
            if cve_row is None:
                cve_row = CveRecord(cve_id=c.cve_id, import_id=record.id, **values)
                session.add(cve_row)
                cve_rows[c.cve_id] = cve_row
                summary.cves_added += 1
            elif cve_row.modified_at != c.modified_at or cve_row.cvss_score != c.cvss_score:
                for f, v in values.items():
                    setattr(cve_row, f, v)
                cve_row.import_id = record.id
                summary.cves_updated += 1
        if progress:
            progress(feed)
    session.flush()
    return summary
