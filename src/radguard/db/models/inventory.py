"""Inventory tables: sites, assets, endpoints, AE titles, software components, data flows.

Natural keys (unique constraints) make re-imports update rather than duplicate:
site.code; asset (site, name); endpoint (asset, host, port); AE title (asset, ae_title);
component (asset, vendor, product); flow (source, target, protocol).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from radguard.db.base import Base, JSONDoc, UTCDateTime, utcnow


class Site(Base):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(64))  # hospital, imaging-center, practice
    address: Mapped[str | None] = mapped_column(String(300))
    organization_size: Mapped[str | None] = mapped_column(String(16))  # small/medium/large

    assets: Mapped[list[Asset]] = relationship(back_populates="site")


# The inventory list's columns (inventory.queries._ROW_COLUMNS and its filters): on PostgreSQL
# the (site, name) unique index carries them (INCLUDE, migration 0041), so the default order's
# deep pages (OFFSET 49,950) are an index-only scan instead of 50,000 heap visits.
ASSET_LIST_INCLUDE = ("id", "asset_class", "modality_type", "vendor", "product", "software_version", "criticality",
                      "confirmed", "risk_score", "open_findings", "last_seen")


class Asset(Base):
    __tablename__ = "asset"
    __table_args__ = (UniqueConstraint("site_id", "name", postgresql_include=list(ASSET_LIST_INCLUDE)),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Indexed by ix_asset_class_order below (class first), which also serves look-ups by class.
    asset_class: Mapped[str] = mapped_column(String(32))
    modality_type: Mapped[str | None] = mapped_column(String(16))
    vendor: Mapped[str | None] = mapped_column(String(200))
    product: Mapped[str | None] = mapped_column(String(200))
    software_version: Mapped[str | None] = mapped_column(String(100))
    os_name: Mapped[str | None] = mapped_column(String(100))
    os_version: Mapped[str | None] = mapped_column(String(100))
    serial: Mapped[str | None] = mapped_column(String(100))
    owner: Mapped[str | None] = mapped_column(String(200))
    criticality: Mapped[int | None] = mapped_column(Integer)
    network_zone: Mapped[str | None] = mapped_column(String(100))
    stores_phi: Mapped[bool | None] = mapped_column(Boolean)
    end_of_support: Mapped[date | None] = mapped_column(Date)
    remote_access: Mapped[str | None] = mapped_column(String(16))
    remote_access_mfa: Mapped[bool | None] = mapped_column(Boolean)
    buffer_hours: Mapped[float | None] = mapped_column()
    buffer_studies: Mapped[int | None] = mapped_column(Integer)
    auto_delete_policy: Mapped[str | None] = mapped_column(String(200))
    tags: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    # "import" for assets a person declared, "discovery" for ones found on the network.
    source: Mapped[str] = mapped_column(String(16), default="import")
    confirmed: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_reviewed: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Roll-ups of the asset's open findings, written by the assessment and by decisions
    # (radguard.checks.findings.refresh_asset_rollups) so the inventory can be sorted by them
    # through an index (migration 0031): the highest open risk score and how many are open.
    risk_score: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    open_findings: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    site: Mapped[Site] = relationship(back_populates="assets")
    endpoints: Mapped[list[Endpoint]] = relationship(
        back_populates="asset", cascade="all, delete-orphan", order_by="Endpoint.id"
    )
    ae_titles: Mapped[list[AETitle]] = relationship(
        back_populates="asset", cascade="all, delete-orphan", order_by="AETitle.id"
    )
    components: Mapped[list[SoftwareComponent]] = relationship(
        back_populates="asset", cascade="all, delete-orphan", order_by="SoftwareComponent.id"
    )


# The inventory list's orders (radguard.inventory.queries.ASSET_SORTS, migration 0031): each
# index holds exactly its order's columns and ends in a unique one, so a page is an index walk.
# The site order is the unique (site_id, name) constraint.
Index("ix_asset_risk_order", Asset.risk_score.desc(), Asset.id)
Index("ix_asset_open_order", Asset.open_findings.desc(), Asset.risk_score.desc(), Asset.id)
Index("ix_asset_criticality_order", Asset.criticality.desc(), Asset.risk_score.desc(), Asset.id)
Index("ix_asset_class_order", Asset.asset_class, Asset.site_id, Asset.name)
Index("ix_asset_last_seen_order", Asset.last_seen.desc(), Asset.id)


class Endpoint(Base):
    __tablename__ = "endpoint"
    __table_args__ = (UniqueConstraint("asset_id", "host", "port"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    port: Mapped[int] = mapped_column(Integer)
    protocol: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="import")

    asset: Mapped[Asset] = relationship(back_populates="endpoints")


class AETitle(Base):
    __tablename__ = "ae_title"
    __table_args__ = (UniqueConstraint("asset_id", "ae_title"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    ae_title: Mapped[str] = mapped_column(String(16))

    asset: Mapped[Asset] = relationship(back_populates="ae_titles")


class SoftwareComponent(Base):
    __tablename__ = "software_component"
    # One row per version: a device may bundle a library in two versions (migration 0014).
    __table_args__ = (UniqueConstraint("asset_id", "vendor", "product", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    vendor: Mapped[str] = mapped_column(String(200))
    product: Mapped[str] = mapped_column(String(200))
    version: Mapped[str | None] = mapped_column(String(100))
    cpe: Mapped[str | None] = mapped_column(String(300))
    purl: Mapped[str | None] = mapped_column(String(500))
    # "import", "sbom", "mds2", "discovery": where we learned of it.
    source: Mapped[str] = mapped_column(String(16), default="import")

    asset: Mapped[Asset] = relationship(back_populates="components")


class DataFlow(Base):
    __tablename__ = "data_flow"
    __table_args__ = (UniqueConstraint("source_asset_id", "target_asset_id", "protocol"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source_asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    target_asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    protocol: Mapped[str] = mapped_column(String(16))
    carries_phi: Mapped[bool] = mapped_column(Boolean, default=True)
    description: Mapped[str | None] = mapped_column(Text)
    # "import" for flows a person declared, "passive" for flows observed on the wire (migration
    # 0020); observed flows carry when they were first and last seen.
    source: Mapped[str] = mapped_column(String(16), default="import", server_default="import")
    first_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)

    source_asset: Mapped[Asset] = relationship(foreign_keys=[source_asset_id])
    target_asset: Mapped[Asset] = relationship(foreign_keys=[target_asset_id])
