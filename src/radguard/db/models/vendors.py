"""Vendor oversight: who builds, services and hosts the imaging estate, and on what terms.

A vendor row holds the facts leadership is asked to own: how to reach the vendor's product
security team, whether a business associate agreement covers the PHI it touches, how its
engineers get in remotely, and when the relationship was last reviewed. Contracts carry the
security terms (patch time, end-of-life notice, incident notification) so checks can read them
without anyone re-reading the PDF. Products link vendors to inventory assets.

Natural keys make re-imports update rather than duplicate: vendor.name; product (vendor, name);
contract (vendor, reference); review (vendor, reviewed_on).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from radguard.db.base import Base, JSONDoc, UTCDateTime, utcnow
from radguard.db.models.inventory import Asset


class Vendor(Base):
    __tablename__ = "vendor"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    website: Mapped[str | None] = mapped_column(String(500))
    # Where vulnerabilities are reported: a PSIRT page, a security@ address, a CVD policy.
    security_contact: Mapped[str | None] = mapped_column(String(300))
    psirt_url: Mapped[str | None] = mapped_column(String(500))
    cvd_policy_url: Mapped[str | None] = mapped_column(String(500))
    # Does the vendor create, receive, keep or transmit PHI for us? None = not recorded.
    phi_access: Mapped[bool | None] = mapped_column(Boolean)
    baa_signed: Mapped[bool | None] = mapped_column(Boolean)
    baa_date: Mapped[date | None] = mapped_column(Date)
    baa_scope: Mapped[str | None] = mapped_column(Text)
    # "none", "brokered", "on-demand" or "always-on" (see radguard.inventory.vendors).
    remote_access_method: Mapped[str | None] = mapped_column(String(16))
    remote_access_mfa: Mapped[bool | None] = mapped_column(Boolean)
    remote_session_logging: Mapped[bool | None] = mapped_column(Boolean)
    notes: Mapped[str | None] = mapped_column(Text)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    products: Mapped[list[VendorProduct]] = relationship(
        back_populates="vendor", cascade="all, delete-orphan", order_by="VendorProduct.name"
    )
    contracts: Mapped[list[VendorContract]] = relationship(
        back_populates="vendor", cascade="all, delete-orphan", order_by="VendorContract.reference"
    )
    reviews: Mapped[list[VendorReview]] = relationship(
        back_populates="vendor", cascade="all, delete-orphan", order_by="VendorReview.reviewed_on"
    )


class VendorProduct(Base):
    __tablename__ = "vendor_product"
    __table_args__ = (UniqueConstraint("vendor_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))

    vendor: Mapped[Vendor] = relationship(back_populates="products")
    asset_links: Mapped[list[VendorProductAsset]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="VendorProductAsset.asset_id"
    )


class VendorProductAsset(Base):
    """One inventory asset running (or being) a vendor's product."""

    __tablename__ = "vendor_product_asset"

    product_id: Mapped[int] = mapped_column(
        ForeignKey("vendor_product.id", ondelete="CASCADE"), primary_key=True
    )
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), primary_key=True, index=True)

    product: Mapped[VendorProduct] = relationship(back_populates="asset_links")
    asset: Mapped[Asset] = relationship()


class VendorContract(Base):
    """The security terms of one agreement. A null term means the contract does not state it."""

    __tablename__ = "vendor_contract"
    __table_args__ = (UniqueConstraint("vendor_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id", ondelete="CASCADE"), index=True)
    reference: Mapped[str] = mapped_column(String(200))
    signed_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    patch_days: Mapped[int | None] = mapped_column(Integer)
    eol_notice_months: Mapped[int | None] = mapped_column(Integer)
    incident_notification_hours: Mapped[int | None] = mapped_column(Integer)
    right_to_audit: Mapped[bool | None] = mapped_column(Boolean)
    data_return_at_exit: Mapped[bool | None] = mapped_column(Boolean)
    notes: Mapped[str | None] = mapped_column(Text)

    vendor: Mapped[Vendor] = relationship(back_populates="contracts")


class VendorReview(Base):
    """A periodic security review of the vendor relationship (access, terms, incidents)."""

    __tablename__ = "vendor_review"
    __table_args__ = (UniqueConstraint("vendor_id", "reviewed_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendor.id", ondelete="CASCADE"), index=True)
    reviewed_on: Mapped[date] = mapped_column(Date)
    reviewer: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str | None] = mapped_column(Text)

    vendor: Mapped[Vendor] = relationship(back_populates="reviews")
