"""Segmentation policies configured for the organisation or a site (owner:
:mod:`radguard.checks.segmentation`: ``store_policy``, ``policy_for``).

The policy YAML is kept as text, exactly as it was validated when stored, so the checks, the
technical report, the web's zones page and ``radguard segmentation`` all judge with the same
file without needing the path on every machine.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from radguard.db.base import Base, UTCDateTime


class SegmentationPolicy(Base):
    """One stored policy: the organisation's (``site_id`` None, at most one) or one site's."""

    __tablename__ = "segmentation_policy"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), unique=True)
    # The file it was read from (for people: "policy main-campus.yaml, stored 2026-05-01").
    source: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime())
