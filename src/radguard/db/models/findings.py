"""The findings register: one row per (check, subject, key), with its state history.

A finding is identified by its ``fingerprint`` (check ID, asset ID or subject, and key), so
re-running an assessment updates the same row instead of adding a new one.

States: ``open`` → ``mitigated`` (condition no longer observed, or resolved by a person),
``risk_accepted`` (who, why, until — expiry reopens it), ``false_positive`` (who, why), and
``reopened`` when a mitigated finding's condition is seen again. ``open`` and ``reopened``
count as open everywhere (see :data:`OPEN_STATES`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from radguard.db.base import Base, JSONDoc, UTCDateTime, utcnow

if TYPE_CHECKING:
    from radguard.db.models.integrations import FindingTicket
    from radguard.db.models.inventory import Asset

OPEN_STATES = ("open", "reopened")
# Severity as a number, highest first, in SQL: the severity order of the findings list and its
# index (migration 0027) use this very text (an expression index matches only its expression).
# Laid out as PostgreSQL prints it back, so that Alembic's comparison of the reflected index
# with this model (tests/db/test_schema.py) sees the same text.
SEVERITY_RANK_SQL = (
    "\nCASE\n"
    "    WHEN severity = 'critical' THEN 5\n"
    "    WHEN severity = 'high' THEN 4\n"
    "    WHEN severity = 'medium' THEN 3\n"
    "    WHEN severity = 'low' THEN 2\n"
    "    WHEN severity = 'info' THEN 1\n"
    "    ELSE 0\n"
    "END")
ALL_STATES = ("open", "reopened", "mitigated", "risk_accepted", "false_positive")

# Events written by the assessment engine. A finding's creation is not stored as an event: its
# first_seen is the moment, and radguard.checks.findings.history shows it as the first event,
# with the evidence in force then: the finding's evidence until the first EVIDENCE_CHANGED event,
# which keeps the document it replaced. (Registers from before 0013 hold real creation events.)
ASSESS_ACTOR = "radguard assess"
FIRST_OBSERVED = "first observed"
EVIDENCE_CHANGED = "evidence changed; the evidence shown is what it replaced"


def fingerprint(check_id: str, asset_id: int | None, subject: str | None, key: str) -> str:
    return f"{check_id}|{asset_id if asset_id is not None else ''}|{subject or ''}|{key}"


class Finding(Base):
    __tablename__ = "finding"
    # Lookups by check, and the dashboard's counts of open findings by severity and by check
    # (a covering scan); and the findings list's order (risk first, migration 0018), so a page
    # never sorts the whole register. Few indexes on purpose: see migration 0013.
    __table_args__ = (Index("ix_finding_check_state_severity", "check_id", "state", "severity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(600), unique=True)
    check_id: Mapped[str] = mapped_column(String(64))
    # Indexed by ix_finding_asset_order below (asset first), which also serves look-ups by asset.
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    subject: Mapped[str | None] = mapped_column(String(300))
    key: Mapped[str] = mapped_column(String(300), default="")
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str | None] = mapped_column(Text)
    # Indexed through the composite index above; see migration 0013.
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="open")
    risk_score: Mapped[int] = mapped_column(Integer, default=0)
    risk_explanation: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    due: Mapped[date | None] = mapped_column(Date)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set while risk-accepted or marked false positive.
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    accepted_until: Mapped[datetime | None] = mapped_column(UTCDateTime)

    events: Mapped[list[FindingEvent]] = relationship(
        back_populates="finding", cascade="all, delete-orphan", order_by="FindingEvent.id"
    )
    # Read-only link for listings; findings are written in bulk by the assessment engine.
    asset: Mapped[Asset | None] = relationship(viewonly=True)
    # The tickets it was handed to (integrations.tickets writes them): part of the finding's record.
    tickets: Mapped[list[FindingTicket]] = relationship(viewonly=True, order_by="FindingTicket.system")


# The findings list's order, risk first (migration 0018): a page reads its rows from this index
# instead of sorting the whole register on every request.
Index("ix_finding_risk_order", Finding.risk_score.desc(), Finding.id)
# The list's other orders (radguard.checks.findings.FINDING_SORTS, migration 0027): each is its
# sort column, then risk, then ID, so any order's page is an index walk, and a cursor seeks.
Index("ix_finding_asset_order", Finding.asset_id, Finding.risk_score.desc(), Finding.id)
Index("ix_finding_check_order", Finding.check_id, Finding.risk_score.desc(), Finding.id)
Index("ix_finding_due_order", Finding.due, Finding.risk_score.desc(), Finding.id)
Index("ix_finding_last_seen_order", Finding.last_seen.desc(), Finding.id)
# The severity order's expression must be written exactly as radguard.checks.findings.SEVERITY_RANK.
Index("ix_finding_severity_order", text(f"({SEVERITY_RANK_SQL}) DESC"), Finding.risk_score.desc(), Finding.id)


class FindingEvent(Base):
    """Every state change of a finding: who, when, why, from which state to which."""

    __tablename__ = "finding_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("finding.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)

    finding: Mapped[Finding] = relationship(back_populates="events")
