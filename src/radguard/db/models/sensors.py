"""Sensors and the jobs central sends them (radguard.distributed).

A sensor is enrolled for one site; central keeps only its public verification key, so a
stolen central database cannot be used to forge a sensor's results. A job is one unit of
work sent to a site's queue; its row records what was asked, by whom, and how it ended
(``ingested``, ``refused`` by the sensor's local scope, or ``failed`` with its reason).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from radguard.db.base import Base, JSONDoc, UTCDateTime, utcnow


class Sensor(Base):
    __tablename__ = "sensor"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    # Ed25519 public key (base64 of the 32 raw bytes); the private half never leaves the sensor.
    public_key: Mapped[str] = mapped_column(String(64))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[str | None] = mapped_column(String(32))
    # Sensor clock minus central clock when its last result arrived, in seconds.
    clock_skew: Mapped[float | None] = mapped_column()
    last_job: Mapped[str | None] = mapped_column(String(64))
    last_status: Mapped[str | None] = mapped_column(String(16))


class SensorJob(Base):
    __tablename__ = "sensor_job"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    request: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    # queued → ingested | partial (the sensor's window closed mid-run) | refused | failed
    status: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    sensor_id: Mapped[str | None] = mapped_column(String(64))
    scan_id: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counts: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)


class Schedule(Base):
    """A recurring piece of work whose state lives in the database (not in a beat process's file)."""

    __tablename__ = "schedule"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(32))  # discover | assess
    site: Mapped[str | None] = mapped_column(String(64))
    every_hours: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    paused: Mapped[bool] = mapped_column(default=False)
    next_run: Mapped[datetime] = mapped_column(UTCDateTime)
    # set for a calendar-monthly schedule: the day of the month it runs on (clamped to short months)
    month_day: Mapped[int | None] = mapped_column(Integer)
    timezone: Mapped[str | None] = mapped_column(String(64))  # IANA name; None = UTC
    window: Mapped[str | None] = mapped_column(String(100))  # maintenance window, e.g. "Sat 22:00-Sun 04:00"


class ScheduleRun(Base):
    __tablename__ = "schedule_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(Integer, index=True)
    started: Mapped[datetime] = mapped_column(UTCDateTime)
    finished: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))  # ok | failed
    counts: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
