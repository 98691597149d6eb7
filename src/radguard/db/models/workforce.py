"""Workforce awareness: training assignments and phishing-simulation results.

Rows come from the CSV exports of learning-management and phishing-simulation tools. Each row
has a ``record_key`` built from its natural key so that importing the same export again updates
rows instead of duplicating them. Only workforce data is kept here (names or IDs of staff,
roles, sites); never anything about patients.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from radguard.db.base import Base, UTCDateTime, utcnow


class TrainingRecord(Base):
    __tablename__ = "training_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_key: Mapped[str] = mapped_column(String(700), unique=True)
    person: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(100), index=True)
    site: Mapped[str] = mapped_column(String(64), default="")
    course: Mapped[str] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(Boolean, default=True)
    assigned_on: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    completed_on: Mapped[date | None] = mapped_column(Date)
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PhishingResult(Base):
    """One campaign's result for one audience (a role group) at one site."""

    __tablename__ = "phishing_result"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_key: Mapped[str] = mapped_column(String(700), unique=True)
    campaign: Mapped[str] = mapped_column(String(200), index=True)
    sent_on: Mapped[date] = mapped_column(Date)
    audience: Mapped[str] = mapped_column(String(100), index=True)
    site: Mapped[str] = mapped_column(String(64), default="")
    sent: Mapped[int] = mapped_column(Integer)
    clicked: Mapped[int] = mapped_column(Integer)
    reported: Mapped[int] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
