"""Incident response and downtime readiness: the response team, imaging services, drills.

The team is roles (incident commander, imaging informatics lead …) filled by people, each
assignment ``primary`` or ``alternate``. Services are what the department delivers ("CT at Main
Campus"), with RTO/RPO targets, the assets they depend on and the downtime procedures staff
follow when those assets are unavailable. Drills record how an exercise actually went — a
timeline of milestones, who took part, lessons and action items — so that recovery targets
can be compared with what has been demonstrated rather than what is hoped for.

Contact details are those of staff, never of patients.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from radguard.db.base import Base, JSONDoc, UTCDateTime, utcnow
from radguard.db.models.inventory import Asset


class ResponseRole(Base):
    __tablename__ = "response_role"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # e.g. incident_commander
    title: Mapped[str] = mapped_column(String(200))
    responsibilities: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)  # display order

    assignments: Mapped[list[ResponseAssignment]] = relationship(
        back_populates="role", cascade="all, delete-orphan", order_by="ResponseAssignment.id"
    )


class ResponsePerson(Base):
    __tablename__ = "response_person"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    job_title: Mapped[str | None] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(64))
    mobile: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(200))
    # An out-of-band channel that works when e-mail and the directory are down.
    out_of_band: Mapped[str | None] = mapped_column(String(200))
    contacts_verified_on: Mapped[date | None] = mapped_column(Date)

    assignments: Mapped[list[ResponseAssignment]] = relationship(
        back_populates="person", cascade="all, delete-orphan", order_by="ResponseAssignment.id"
    )


class ResponseAssignment(Base):
    __tablename__ = "response_assignment"
    __table_args__ = (UniqueConstraint("role_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role_id: Mapped[int] = mapped_column(ForeignKey("response_role.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("response_person.id", ondelete="CASCADE"), index=True)
    position: Mapped[str] = mapped_column(String(16))  # "primary" or "alternate"

    role: Mapped[ResponseRole] = relationship(back_populates="assignments")
    person: Mapped[ResponsePerson] = relationship(back_populates="assignments")


class ImagingService(Base):
    __tablename__ = "imaging_service"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id", ondelete="SET NULL"), index=True)
    description: Mapped[str | None] = mapped_column(Text)
    rto_hours: Mapped[float] = mapped_column(Float)
    rpo_hours: Mapped[float] = mapped_column(Float)

    dependencies: Mapped[list[ServiceDependency]] = relationship(
        back_populates="service", cascade="all, delete-orphan", order_by="ServiceDependency.id"
    )
    procedures: Mapped[list[DowntimeProcedure]] = relationship(
        back_populates="service", cascade="all, delete-orphan", order_by="DowntimeProcedure.position"
    )


class ServiceDependency(Base):
    """An asset a service needs, what it does for the service, and its expected study rate."""

    __tablename__ = "service_dependency"
    __table_args__ = (UniqueConstraint("service_id", "asset_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("imaging_service.id", ondelete="CASCADE"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"), index=True)
    function: Mapped[str] = mapped_column(String(32))  # acquisition, storage, reading, reporting …
    studies_per_hour: Mapped[float | None] = mapped_column(Float)

    service: Mapped[ImagingService] = relationship(back_populates="dependencies")
    asset: Mapped[Asset] = relationship()


class DowntimeProcedure(Base):
    __tablename__ = "downtime_procedure"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("imaging_service.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # console-read, offline-viewer, wet-read …
    title: Mapped[str] = mapped_column(String(200))
    owner_role: Mapped[str | None] = mapped_column(String(64))
    steps: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    position: Mapped[int] = mapped_column(Integer, default=0)

    service: Mapped[ImagingService] = relationship(back_populates="procedures")


class Drill(Base):
    __tablename__ = "drill"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # tabletop, functional, full-scale
    playbook: Mapped[str] = mapped_column(String(64), index=True)
    # planned, in_progress, completed: derived by response.drills.lifecycle_status
    status: Mapped[str] = mapped_column(String(16), default="planned")
    scheduled_on: Mapped[date] = mapped_column(Date)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    facilitator: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    services: Mapped[list[DrillService]] = relationship(
        back_populates="drill", cascade="all, delete-orphan", order_by="DrillService.id"
    )
    events: Mapped[list[DrillEvent]] = relationship(
        back_populates="drill", cascade="all, delete-orphan", order_by="DrillEvent.at"
    )
    participants: Mapped[list[DrillParticipant]] = relationship(
        back_populates="drill", cascade="all, delete-orphan", order_by="DrillParticipant.id"
    )
    lessons: Mapped[list[DrillLesson]] = relationship(
        back_populates="drill", cascade="all, delete-orphan", order_by="DrillLesson.id"
    )
    actions: Mapped[list[DrillAction]] = relationship(
        back_populates="drill", cascade="all, delete-orphan", order_by="DrillAction.number"
    )


class DrillService(Base):
    __tablename__ = "drill_service"
    __table_args__ = (UniqueConstraint("drill_id", "service_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drill.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("imaging_service.id", ondelete="CASCADE"), index=True)

    drill: Mapped[Drill] = relationship(back_populates="services")
    service: Mapped[ImagingService] = relationship()


class DrillEvent(Base):
    __tablename__ = "drill_event"
    __table_args__ = (UniqueConstraint("drill_id", "milestone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drill.id", ondelete="CASCADE"), index=True)
    milestone: Mapped[str] = mapped_column(String(32))  # detected, declared, … back_to_normal
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    role: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)

    drill: Mapped[Drill] = relationship(back_populates="events")


class DrillParticipant(Base):
    __tablename__ = "drill_participant"
    __table_args__ = (UniqueConstraint("drill_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drill.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(64))

    drill: Mapped[Drill] = relationship(back_populates="participants")


class DrillLesson(Base):
    __tablename__ = "drill_lesson"

    id: Mapped[int] = mapped_column(primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drill.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)

    drill: Mapped[Drill] = relationship(back_populates="lessons")


class DrillAction(Base):
    """Something a drill showed must change; open actions become findings (RG-DRILL-ACTION-OPEN)."""

    __tablename__ = "drill_action"
    __table_args__ = (UniqueConstraint("drill_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    drill_id: Mapped[int] = mapped_column(ForeignKey("drill.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    owner_role: Mapped[str | None] = mapped_column(String(64))
    due: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, done
    closed_on: Mapped[date | None] = mapped_column(Date)

    drill: Mapped[Drill] = relationship(back_populates="actions")
