"""Tables of the integrations: FIRST's EPSS scores.

EPSS (the Exploit Prediction Scoring System) gives each CVE a daily probability of exploitation
in the next 30 days and its percentile. One row per CVE, replaced whole by each import, with the
date FIRST scored it, so a view can say how fresh the score is.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from radguard.db.base import Base, UTCDateTime, utcnow


class EpssScore(Base):
    __tablename__ = "epss_score"

    cve_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    epss: Mapped[float] = mapped_column(Float)  # probability 0-1
    percentile: Mapped[float] = mapped_column(Float)  # 0-1
    score_date: Mapped[date] = mapped_column(Date)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationLog(Base):
    """One notification attempt per (event, rule): what changed, to whom, and what happened.

    ``event_key`` identifies the change (``critical:42``, ``sla:42:2026-12-01``); a key already
    ``sent`` for a rule is never sent again, which is what makes notifications change-only.
    """

    __tablename__ = "notification_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    rule: Mapped[str] = mapped_column(String(100), index=True)
    event_key: Mapped[str] = mapped_column(String(200), index=True)
    event: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))  # sent, failed, deferred (quiet hours / digest)
    attempts: Mapped[int] = mapped_column(default=0)
    detail: Mapped[str | None] = mapped_column(String(1000))


class FindingTicket(Base):
    """The ticket a finding was handed to: one per finding and ticket system (``jira``, ``servicenow``)."""

    __tablename__ = "finding_ticket"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("finding.id", ondelete="CASCADE"), index=True)
    system: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(100))
    exported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("finding_id", "system"),)


class RoadmapTicket(Base):
    """The ticket a roadmap action was handed to, by the action's stable ID (a check or question ID)."""

    __tablename__ = "roadmap_ticket"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[str] = mapped_column(String(100))
    system: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(100))
    exported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("action_id", "system"),)
