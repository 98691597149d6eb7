"""Tables of the integrations: FIRST's EPSS scores.

EPSS (the Exploit Prediction Scoring System) gives each CVE a daily probability of exploitation
in the next 30 days and its percentile. One row per CVE, replaced whole by each import, with the
date FIRST scored it, so a view can say how fresh the score is.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from radguard.db.base import Base, UTCDateTime, utcnow


class EpssScore(Base):
    __tablename__ = "epss_score"

    cve_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    epss: Mapped[float] = mapped_column(Float)  # probability 0-1
    percentile: Mapped[float] = mapped_column(Float)  # 0-1
    score_date: Mapped[date] = mapped_column(Date)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
