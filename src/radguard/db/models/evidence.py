"""Evidence: raw observations kept apart from their interpretation.

A probe result, an imported document (MDS2, SBOM), or a human attestation is stored here
exactly as observed. Checks read evidence and may be re-run at any time without re-scanning.
Evidence never holds patient identifiers: probes record counts and booleans only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from radguard.db.base import Base, JSONDoc, UTCDateTime, utcnow


class Evidence(Base):
    __tablename__ = "evidence"
    __table_args__ = (Index("uq_evidence_job_endpoint", "job_id", "host", "port", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # e.g. "probe.dicom", "probe.tls", "probe.http", "probe.tcp", "doc.mds2", "doc.sbom"
    kind: Mapped[str] = mapped_column(String(32), index=True)
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("asset.id", ondelete="SET NULL"), index=True
    )
    scan_id: Mapped[int | None] = mapped_column(Integer, index=True)
    host: Mapped[str | None] = mapped_column(String(255), index=True)
    port: Mapped[int | None] = mapped_column(Integer)
    safety_level: Mapped[int | None] = mapped_column(Integer)
    # What was sent (a description, never patient data) and what came back (decoded facts).
    sent: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    received: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    source: Mapped[str | None] = mapped_column(Text)  # file name, tool, or person
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Which enrolled sensor collected it (None: this box) and the job it answered; a job's
    # result is ingested once per endpoint (unique job_id, host, port), however often redelivered.
    sensor_id: Mapped[str | None] = mapped_column(String(64), index=True)
    job_id: Mapped[str | None] = mapped_column(String(64))


class Attestation(Base):
    """A person's answer about an asset or a site, with who, when, proof and expiry.

    ``subject`` is a stable key such as ``encrypted_at_rest`` or ``buffer_policy_known``;
    checks that rely on a human answer look up the newest unexpired attestation.
    """

    __tablename__ = "attestation"

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    value: Mapped[str] = mapped_column(String(200))  # "yes", "no", or a value
    attested_by: Mapped[str] = mapped_column(String(200))
    attested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    evidence_link: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
