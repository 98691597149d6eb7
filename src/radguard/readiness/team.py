"""The imaging incident response team: roles, the people who fill them, and the gaps.

A team file is the roster as it stands: importing it replaces the roles, people and
assignments radguard holds, so the offline binder never lists someone who has left.
Gaps are what would hurt at 3 a.m.: a role nobody holds (or with no one to call when the
primary is away), one person carrying so many roles that they become the bottleneck, and
phone numbers nobody has checked for months.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload

from radguard.db.models.response import ResponseAssignment, ResponsePerson, ResponseRole
from radguard.outfiles import write_file
from radguard.readiness.playbooks.roles import STANDARD_ROLES
from radguard.readiness.playbooks.yamldoc import YamlDoc

__all__ = ["STANDARD_ROLES", "import_team", "team_gaps"]

DEFAULT_MAX_ROLES = 3
DEFAULT_VERIFY_DAYS = 90

class RoleDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    title: str | None = Field(None, max_length=200)
    responsibilities: list[str] | None = None
    primary: str | None = None
    alternates: list[str] = Field(default_factory=list)


class PersonDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    job_title: str | None = None
    phone: str | None = None
    mobile: str | None = None
    email: str | None = None
    out_of_band: str | None = None
    contacts_verified_on: date | None = None

    @field_validator("phone", "mobile", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


class TeamDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["radguard-team"] = "radguard-team"
    version: Literal[1] = 1
    roles: list[RoleDoc] = Field(min_length=1)
    people: list[PersonDoc] = Field(default_factory=list)


@dataclass
class TeamImportResult:
    file: str
    roles: int
    people: int
    assignments: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_team(doc: YamlDoc) -> TeamDoc:
    team = doc.validate(TeamDoc)
    names: dict[str, int] = {}
    for i, person in enumerate(team.people):
        if person.name in names:
            raise doc.error(["people", i, "name"],
                            f"{person.name!r} is listed twice (also people[{names[person.name]}])")
        names[person.name] = i
    keys: set[str] = set()
    for i, role in enumerate(team.roles):
        if role.key in keys:
            raise doc.error(["roles", i, "key"], f"role {role.key!r} is listed twice")
        keys.add(role.key)
        if role.key not in STANDARD_ROLES and not role.title:
            raise doc.error(["roles", i, "title"], f"{role.key!r} is not a standard role, so it needs a title")
        named: list[tuple[list[str | int], str]] = []
        if role.primary:
            named.append((["roles", i, "primary"], role.primary))
        named += [(["roles", i, "alternates", j], name) for j, name in enumerate(role.alternates)]
        seen: set[str] = set()
        for loc, name in named:
            if name not in names:
                raise doc.error(loc, f"{name!r} is not in the people list; add them under people:")
            if name in seen:
                raise doc.error(loc, f"{name!r} is named twice for this role")
            seen.add(name)
    return team


def import_team(session: Session, path: Path) -> TeamImportResult:
    """Replace the stored team with the roster in ``path`` (roles, people, assignments)."""
    doc = YamlDoc.read(path)
    team = parse_team(doc)
    session.execute(delete(ResponseAssignment))
    people = {p.name: p for p in session.scalars(select(ResponsePerson))}
    for rec in team.people:
        person = people.get(rec.name) or ResponsePerson(name=rec.name)
        for attr in ("job_title", "phone", "mobile", "email", "out_of_band", "contacts_verified_on"):
            setattr(person, attr, getattr(rec, attr))
        session.add(person)
        people[rec.name] = person
    keep_people = {p.name for p in team.people}
    for name, person in list(people.items()):
        if name not in keep_people:
            session.delete(person)
            del people[name]
    roles = {r.key: r for r in session.scalars(select(ResponseRole))}
    count = 0
    for pos, role_doc in enumerate(team.roles):
        default_title, default_duties = STANDARD_ROLES.get(role_doc.key, (role_doc.key, []))
        role = roles.get(role_doc.key) or ResponseRole(key=role_doc.key)
        role.title = role_doc.title or default_title
        role.responsibilities = (role_doc.responsibilities if role_doc.responsibilities is not None
                                 else list(default_duties))
        role.position = pos
        session.add(role)
        session.flush()
        if role_doc.primary:
            session.add(ResponseAssignment(role=role, person=people[role_doc.primary], position="primary"))
            count += 1
        for name in role_doc.alternates:
            session.add(ResponseAssignment(role=role, person=people[name], position="alternate"))
            count += 1
    for key, role in roles.items():
        if key not in {r.key for r in team.roles}:
            session.delete(role)
    session.flush()
    return TeamImportResult(file=str(path), roles=len(team.roles), people=len(team.people), assignments=count)


def load_roles(session: Session) -> list[ResponseRole]:
    return list(session.scalars(
        select(ResponseRole).options(
            selectinload(ResponseRole.assignments).selectinload(ResponseAssignment.person)
        ).order_by(ResponseRole.position, ResponseRole.key)
    ))


def load_people(session: Session) -> list[ResponsePerson]:
    return list(session.scalars(
        select(ResponsePerson).options(
            selectinload(ResponsePerson.assignments).selectinload(ResponseAssignment.role)
        ).order_by(ResponsePerson.name)
    ))


def role_keys(session: Session) -> set[str]:
    """Roles a drill or procedure may name: the team's roles plus the standard ones."""
    return set(STANDARD_ROLES) | set(session.scalars(select(ResponseRole.key)))


def holders(role: ResponseRole, position: str) -> list[ResponsePerson]:
    return [a.person for a in role.assignments if a.position == position]


def role_record(role: ResponseRole) -> dict[str, Any]:
    primary = holders(role, "primary")
    return {
        "key": role.key, "title": role.title, "responsibilities": list(role.responsibilities),
        "primary": primary[0].name if primary else None,
        "alternates": [p.name for p in holders(role, "alternate")],
    }


def person_record(person: ResponsePerson) -> dict[str, Any]:
    rec: dict[str, Any] = {"name": person.name}
    for attr in ("job_title", "phone", "mobile", "email", "out_of_band"):
        value = getattr(person, attr)
        if value:
            rec[attr] = value
    if person.contacts_verified_on:
        rec["contacts_verified_on"] = person.contacts_verified_on.isoformat()
    return rec


def export_team(session: Session, path: Path) -> int:
    """Write the team in the format ``team import`` reads (an exact round trip)."""
    roles = load_roles(session)
    doc = {
        "format": "radguard-team", "version": 1,
        "roles": [role_record(r) for r in roles],
        "people": [person_record(p) for p in load_people(session)],
    }
    write_file(path, yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    return len(roles)


@dataclass(frozen=True)
class TeamGap:
    """One weakness of the roster. ``subject`` is ``role:KEY`` or ``person:NAME``."""

    kind: Literal["no-primary", "no-alternate", "overloaded", "contacts-unverified"]
    subject: str
    message: str
    detail: dict[str, Any]


def team_gaps(roles: list[ResponseRole], people: list[ResponsePerson], today: date, *,
              max_roles: int = DEFAULT_MAX_ROLES, verify_days: int = DEFAULT_VERIFY_DAYS) -> list[TeamGap]:
    gaps: list[TeamGap] = []
    for role in roles:
        if not holders(role, "primary"):
            gaps.append(TeamGap("no-primary", f"role:{role.key}", f"{role.title}: nobody is the primary",
                                {"role": role.key}))
        if not holders(role, "alternate"):
            gaps.append(TeamGap("no-alternate", f"role:{role.key}",
                                f"{role.title}: no alternate if the primary cannot be reached", {"role": role.key}))
    for person in people:
        held = sorted({a.role.key for a in person.assignments})
        if len(held) > max_roles:
            gaps.append(TeamGap("overloaded", f"person:{person.name}",
                                f"{person.name} holds {len(held)} roles (more than {max_roles})",
                                {"roles": held, "max_roles": max_roles}))
        if not person.assignments:
            continue
        verified = person.contacts_verified_on
        if verified is None or verified < today - timedelta(days=verify_days):
            age = None if verified is None else (today - verified).days
            when = "never" if verified is None else f"{age} days ago ({verified.isoformat()})"
            gaps.append(TeamGap("contacts-unverified", f"person:{person.name}",
                                f"{person.name}: contact details last verified {when}",
                                {"verified_on": verified.isoformat() if verified else None, "age_days": age,
                                 "verify_days": verify_days}))
    return gaps
