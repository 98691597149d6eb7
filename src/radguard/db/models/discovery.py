"""Discovery scans: one row per ``radguard discover`` run, for the change board's audit trail.

Each probed endpoint of a scan is an ``evidence`` row (kind ``probe.endpoint``) whose
``scan_id`` points here; this row records who authorized the run, why, when, at which
safety level, against which targets, and what it found in numbers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from radguard.db.base import Base, JSONDoc, UTCDateTime, utcnow


class Scan(Base):
    __tablename__ = "scan"

    id: Mapped[int] = mapped_column(primary_key=True)
    started: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime)
    level: Mapped[int] = mapped_column(Integer)
    targets: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    authorized_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    # The scope file as validated (authorized_by, reason, window, targets, exclude, max_level).
    scope: Mapped[dict[str, Any] | None] = mapped_column(JSONDoc)
    # Ports, rate, concurrency, timeout, AE titles used: how hard the network was touched.
    options: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    # endpoints, open, closed, filtered, per service, skipped, errors, assets created/matched.
    counts: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    # The enrolled sensor that ran it (None: this box).
    sensor_id: Mapped[str | None] = mapped_column(String(64))
