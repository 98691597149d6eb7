"""Leadership checklist assessments: dated, versioned snapshots of maturity answers.

An assessment belongs to an organization (and optionally one site). Each new assessment for
the same organization and site gets the next ``version``, so "how have we moved since last
time?" is a comparison of two rows. Closing an assessment freezes its answers and stores the
score it had at that moment (``score_snapshot``): later changes in the findings register do
not rewrite history.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from radguard.db.base import Base, JSONDoc, UTCDateTime, utcnow


class ChecklistAssessment(Base):
    __tablename__ = "checklist_assessment"
    __table_args__ = (UniqueConstraint("organization", "site_code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization: Mapped[str] = mapped_column(String(200), index=True)
    # The site code (not a foreign key) so an assessment survives a site being re-imported or removed.
    site_code: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[str] = mapped_column(String(16))  # small / medium / large
    version: Mapped[int] = mapped_column(Integer)
    assessed_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open / closed
    catalog_version: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    score_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    notes: Mapped[str | None] = mapped_column(Text)

    answers: Mapped[list[ChecklistAnswer]] = relationship(
        back_populates="assessment", cascade="all, delete-orphan", order_by="ChecklistAnswer.question_id"
    )


class ChecklistAnswer(Base):
    """One answer: maturity 0–4, or not applicable with a reason; who owns it, notes and proof."""

    __tablename__ = "checklist_answer"
    __table_args__ = (UniqueConstraint("assessment_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("checklist_assessment.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[str] = mapped_column(String(32))
    value: Mapped[int | None] = mapped_column(Integer)
    not_applicable: Mapped[bool] = mapped_column(Boolean, default=False)
    na_reason: Mapped[str | None] = mapped_column(Text)
    owner: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    evidence_links: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    answered_by: Mapped[str | None] = mapped_column(String(200))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    assessment: Mapped[ChecklistAssessment] = relationship(back_populates="answers")
