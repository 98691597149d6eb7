"""Backup sets and their verification runs.

A backup set is one copy of an imaging archive's data (a NAS replica, a cloud bucket, a tape
rotation). The 3-2-1 and immutability checks reason over all sets that protect the same
archive (``asset_id`` when the archive is in the inventory, else the ``protects`` label).
A verification run keeps counts, bytes and timings — never instance lists, paths or dates:
the recovery point achieved is kept as a lag in hours, not as a study date.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from radguard.db.base import Base, JSONDoc, UTCDateTime, utcnow
from radguard.db.models.inventory import Asset

BACKUP_KINDS = ("local", "offsite", "cloud", "tape")
BACKUP_MEDIA = ("disk", "tape", "object", "optical")


class BackupSet(Base):
    __tablename__ = "backup_set"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The archive it protects: an inventory asset when known, and a label in any case.
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id", ondelete="SET NULL"), index=True)
    protects: Mapped[str] = mapped_column(String(200), index=True)
    location: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(16))  # local, offsite, cloud, tape
    media: Mapped[str] = mapped_column(String(16))  # disk, tape, object, optical
    offsite: Mapped[bool] = mapped_column(Boolean, default=False)
    immutable: Mapped[bool] = mapped_column(Boolean, default=False)  # WORM / object lock
    offline: Mapped[bool] = mapped_column(Boolean, default=False)  # air-gapped, unreachable from the network
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    schedule: Mapped[str | None] = mapped_column(String(100))
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    asset: Mapped[Asset | None] = relationship()
    verifications: Mapped[list[BackupVerification]] = relationship(
        back_populates="backup_set", cascade="all, delete-orphan", order_by="BackupVerification.id"
    )


class BackupVerification(Base):
    """One ``radguard backup verify`` run against a set: what it found and how fast it read."""

    __tablename__ = "backup_verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    backup_set_id: Mapped[int] = mapped_column(ForeignKey("backup_set.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime)
    complete: Mapped[bool] = mapped_column(Boolean, default=True)
    expected_instances: Mapped[int] = mapped_column(Integer)
    files_checked: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)  # status → number
    # Ransom notes found, by file name: [{"name": ..., "files": n}] (names only, never paths).
    ransom_notes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONDoc, default=list)
    not_checked: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    bytes_read: Mapped[int] = mapped_column(BigInteger)
    elapsed_seconds: Mapped[float] = mapped_column(Float)
    throughput_bytes_per_s: Mapped[float | None] = mapped_column(Float)
    archive_bytes: Mapped[int] = mapped_column(BigInteger)
    projected_restore_hours: Mapped[float | None] = mapped_column(Float)
    rto_hours: Mapped[float | None] = mapped_column(Float)
    rto_met: Mapped[bool | None] = mapped_column(Boolean)
    rpo_achieved_hours: Mapped[float | None] = mapped_column(Float)  # lag of the backup behind the source
    rpo_hours: Mapped[float | None] = mapped_column(Float)
    all_ok: Mapped[bool] = mapped_column(Boolean)
    # Set when a sensor read the copy (a backup job): which sensor, answering which job.
    sensor_id: Mapped[str | None] = mapped_column(String(64))
    job_id: Mapped[str | None] = mapped_column(String(64))

    backup_set: Mapped[BackupSet] = relationship(back_populates="verifications")
