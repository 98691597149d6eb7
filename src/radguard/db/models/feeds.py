"""Advisory feeds: CSAF advisories, NVD CVE records, the CISA KEV catalog, and import records.

Advisory product entries keep the vendor/product/version text exactly as published *and* the
interpretation radguard made of it at import (normalised keys, a structured version range), so
matching never re-parses text and a reviewer can always see what was read from what.

Re-imports are idempotent: advisories are keyed by their tracking ID, CVEs and KEV entries by
CVE ID; a newer revision of an advisory replaces its products and vulnerabilities.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from radguard.db.base import Base, JSONDoc, UTCDateTime, utcnow


class FeedImport(Base):
    """One feed document radguard has read: where from, which version, when, how many records.

    ``sha256`` identifies the content, so importing the same file twice records one row
    (``last_imported_at`` moves) instead of two.
    """

    __tablename__ = "feed_import"
    __table_args__ = (UniqueConstraint("source", "sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16), index=True)  # kev, csaf, nvd
    name: Mapped[str] = mapped_column(String(500))  # file name or URL
    version: Mapped[str | None] = mapped_column(String(100))  # catalogVersion, tracking version, NVD timestamp
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sha256: Mapped[str] = mapped_column(String(64))
    records: Mapped[int] = mapped_column(Integer, default=0)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Advisory(Base):
    """A CSAF advisory (``ICSMA-22-174-01``) or an NVD CVE treated as a one-CVE advisory."""

    __tablename__ = "advisory"

    id: Mapped[int] = mapped_column(primary_key=True)
    advisory_id: Mapped[str] = mapped_column(String(100), unique=True)
    source: Mapped[str] = mapped_column(String(16), index=True)  # csaf, nvd
    title: Mapped[str] = mapped_column(Text)
    publisher: Mapped[str | None] = mapped_column(String(200))
    revision: Mapped[str | None] = mapped_column(String(50))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    url: Mapped[str | None] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    import_id: Mapped[int | None] = mapped_column(ForeignKey("feed_import.id", ondelete="SET NULL"), index=True)

    products: Mapped[list[AdvisoryProduct]] = relationship(
        back_populates="advisory", cascade="all, delete-orphan", order_by="AdvisoryProduct.id"
    )
    vulnerabilities: Mapped[list[AdvisoryVulnerability]] = relationship(
        back_populates="advisory", cascade="all, delete-orphan", order_by="AdvisoryVulnerability.id"
    )


class AdvisoryProduct(Base):
    """One product entry of an advisory (a CSAF product-tree leaf or an NVD CPE match).

    ``spec`` is the structured version range (``radguard.feeds.versions.VersionSpec``);
    ``name_version`` is a version written into the product name ("Portal 8.0.x").
    """

    __tablename__ = "advisory_product"
    __table_args__ = (UniqueConstraint("advisory_pk", "product_ref"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    advisory_pk: Mapped[int] = mapped_column(ForeignKey("advisory.id", ondelete="CASCADE"), index=True)
    product_ref: Mapped[str] = mapped_column(String(200))  # CSAF product_id or CPE match index
    vendor: Mapped[str] = mapped_column(String(300))
    product: Mapped[str] = mapped_column(String(500))
    version_text: Mapped[str | None] = mapped_column(Text)
    full_name: Mapped[str | None] = mapped_column(Text)
    cpe: Mapped[str | None] = mapped_column(String(300))
    spec: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    name_version: Mapped[str | None] = mapped_column(String(100))

    advisory: Mapped[Advisory] = relationship(back_populates="products")
    keys: Mapped[list[AdvisoryProductKey]] = relationship(
        back_populates="product", cascade="all, delete-orphan"
    )


class AdvisoryProductKey(Base):
    """The index matching uses: every (vendor key, product key) an entry answers to."""

    __tablename__ = "advisory_product_key"
    __table_args__ = (UniqueConstraint("product_pk", "vendor_key", "product_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_pk: Mapped[int] = mapped_column(ForeignKey("advisory_product.id", ondelete="CASCADE"), index=True)
    vendor_key: Mapped[str] = mapped_column(String(200), index=True)
    product_key: Mapped[str] = mapped_column(String(300), index=True)

    product: Mapped[AdvisoryProduct] = relationship(back_populates="keys")


class AdvisoryVulnerability(Base):
    """One vulnerability of an advisory, with each product's status and the remediations.

    ``product_status`` maps the advisory's product reference to a CSAF status
    (``known_affected``, ``fixed``, ``known_not_affected``, ``under_investigation``…).
    """

    __tablename__ = "advisory_vulnerability"

    id: Mapped[int] = mapped_column(primary_key=True)
    advisory_pk: Mapped[int] = mapped_column(ForeignKey("advisory.id", ondelete="CASCADE"), index=True)
    cve_id: Mapped[str | None] = mapped_column(String(32), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    cwe: Mapped[str | None] = mapped_column(String(32))
    cvss_score: Mapped[float | None] = mapped_column(Float)
    cvss_vector: Mapped[str | None] = mapped_column(String(200))
    product_status: Mapped[dict[str, str]] = mapped_column(JSONDoc, default=dict)
    remediations: Mapped[list[dict[str, Any]]] = mapped_column(JSONDoc, default=list)

    advisory: Mapped[Advisory] = relationship(back_populates="vulnerabilities")


class CveRecord(Base):
    """A CVE as the NVD describes it: score, vector, description, dates."""

    __tablename__ = "cve"

    id: Mapped[int] = mapped_column(primary_key=True)
    cve_id: Mapped[str] = mapped_column(String(32), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    cvss_score: Mapped[float | None] = mapped_column(Float)
    cvss_vector: Mapped[str | None] = mapped_column(String(200))
    severity: Mapped[str | None] = mapped_column(String(16))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    modified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("feed_import.id", ondelete="SET NULL"), index=True)


class KevEntry(Base):
    """A CVE in CISA's Known Exploited Vulnerabilities catalog."""

    __tablename__ = "kev_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    cve_id: Mapped[str] = mapped_column(String(32), unique=True)
    vendor_project: Mapped[str | None] = mapped_column(String(300))
    product: Mapped[str | None] = mapped_column(String(300))
    name: Mapped[str | None] = mapped_column(Text)
    date_added: Mapped[date | None] = mapped_column(Date)
    due_date: Mapped[date | None] = mapped_column(Date)
    ransomware: Mapped[str | None] = mapped_column(String(16))  # "Known" / "Unknown"
    short_description: Mapped[str | None] = mapped_column(Text)
    required_action: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    cwes: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("feed_import.id", ondelete="SET NULL"), index=True)
