"""Dashboard cards stored at the end of each assessment (owner: :mod:`radguard.readiness.dashboard`).

The findings and roadmap cards summarise every open finding; computing them inside a page
request costs seconds at 100,000 assets. They are computed once when an assessment writes the
register, kept here as a JSON document with a schema version, and adjusted in place by the
events that change them (a person's decision on a finding).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer
from sqlalchemy.orm import Mapped, mapped_column

from radguard.db.base import Base, JSONDoc, UTCDateTime


class DashboardSnapshot(Base):
    """One row per assessment run; the dashboard reads the newest."""

    __tablename__ = "dashboard_snapshot"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # When the assessment that produced the cards ran, and when the row was last written.
    assessed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    schema_version: Mapped[int] = mapped_column(Integer)
    # True once something the roadmap depends on changed after the cards were computed
    # (a decision, a checklist answer); the next assessment computes them afresh.
    stale: Mapped[bool] = mapped_column(Boolean, default=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDoc)
