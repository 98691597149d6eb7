"""Imaging services: what the department delivers, what it needs, and how it runs without it.

A service ("CT at Main Campus", "Emergency reads") names the inventory assets it depends on
and what each does for it, its recovery targets (RTO: how long it may be down; RPO: how much
recent data may be lost) and the downtime procedures staff switch to. Importing a services
file creates or updates the services it lists, replacing their dependencies and procedures;
services not in the file are left alone, because drills refer to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from radguard.db.models.inventory import Asset, Site
from radguard.db.models.response import DowntimeProcedure, ImagingService, ServiceDependency
from radguard.errors import NotFoundError
from radguard.inventory.queries import find_asset
from radguard.inventory.scope import SiteScope, scope_site_ids
from radguard.response.playbooks.yamldoc import YamlDoc
from radguard.response.team import role_keys

Function = Literal[
    "acquisition", "routing", "storage", "archive", "reading", "reporting", "ordering", "ai",
    "remote-reading", "network", "other",
]
ProcedureKind = Literal[
    "console-read", "offline-viewer", "media-transfer", "paper-requisition", "wet-read",
    "teleradiology-failover", "critical-results", "order-reconciliation", "other",
]
PROCEDURE_LABELS: dict[str, str] = {
    "console-read": "Read at the modality console",
    "offline-viewer": "Offline viewer",
    "media-transfer": "Encrypted media transfer",
    "paper-requisition": "Paper requisitions",
    "wet-read": "Wet reads",
    "teleradiology-failover": "Teleradiology failover",
    "critical-results": "Critical-results communication",
    "order-reconciliation": "Order reconciliation after recovery",
    "other": "Other",
}


class DependencyDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    asset: str = Field(description="SITE/NAME, a name unique across sites, or the asset ID")
    function: Function
    studies_per_hour: float | None = Field(None, gt=0)


class ProcedureDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ProcedureKind
    title: str = Field(min_length=3, max_length=200)
    owner_role: str | None = None
    steps: list[str] = Field(min_length=1)


class ServiceDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)
    name: str = Field(min_length=3, max_length=200)
    site: str | None = None
    description: str | None = None
    rto_hours: float = Field(gt=0)
    rpo_hours: float = Field(ge=0)
    depends_on: list[DependencyDoc] = Field(default_factory=list)
    downtime_procedures: list[ProcedureDoc] = Field(default_factory=list)


class ServicesDoc(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["radguard-services"] = "radguard-services"
    version: Literal[1] = 1
    services: list[ServiceDoc] = Field(min_length=1)


@dataclass
class ServicesImportResult:
    file: str
    created: int
    updated: int
    dependencies: int
    procedures: int

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def import_services(session: Session, path: Path) -> ServicesImportResult:
    doc = YamlDoc.read(path)
    parsed = doc.validate(ServicesDoc)
    sites = {code: sid for sid, code in session.execute(select(Site.id, Site.code))}
    roles = role_keys(session)
    existing = {s.key: s for s in session.scalars(select(ImagingService))}
    result = ServicesImportResult(file=str(path), created=0, updated=0, dependencies=0, procedures=0)
    seen: set[str] = set()
    for i, rec in enumerate(parsed.services):
        base: list[str | int] = ["services", i]
        if rec.key in seen:
            raise doc.error([*base, "key"], f"service {rec.key!r} is listed twice")
        seen.add(rec.key)
        if rec.site is not None and rec.site not in sites:
            raise doc.error([*base, "site"], f"no site {rec.site!r} in the inventory; import the inventory first")
        service = existing.get(rec.key)
        if service is None:
            service = ImagingService(key=rec.key)
            result.created += 1
        else:
            result.updated += 1
            # Drop the old rows before adding new ones: (service, asset) must stay unique.
            service.dependencies.clear()
            service.procedures.clear()
            session.flush()
        service.name, service.description = rec.name, rec.description
        service.site_id = sites[rec.site] if rec.site else None
        service.rto_hours, service.rpo_hours = rec.rto_hours, rec.rpo_hours
        deps: list[ServiceDependency] = []
        assets_seen: set[int] = set()
        for j, dep in enumerate(rec.depends_on):
            try:
                asset = find_asset(session, dep.asset)
            except NotFoundError as exc:
                raise doc.error([*base, "depends_on", j, "asset"], str(exc)) from None
            if asset.id in assets_seen:
                raise doc.error([*base, "depends_on", j, "asset"], f"{dep.asset!r} is listed twice for this service")
            assets_seen.add(asset.id)
            deps.append(ServiceDependency(asset_id=asset.id, function=dep.function,
                                          studies_per_hour=dep.studies_per_hour))
        procs: list[DowntimeProcedure] = []
        for j, proc in enumerate(rec.downtime_procedures):
            if proc.owner_role is not None and proc.owner_role not in roles:
                raise doc.error([*base, "downtime_procedures", j, "owner_role"],
                                f"unknown role {proc.owner_role!r}; known roles: {', '.join(sorted(roles))}")
            procs.append(DowntimeProcedure(kind=proc.kind, title=proc.title, owner_role=proc.owner_role,
                                           steps=list(proc.steps), position=j))
        service.dependencies = deps
        service.procedures = procs
        session.add(service)
        session.flush()
        result.dependencies += len(deps)
        result.procedures += len(procs)
    return result


def load_services(session: Session, *, scope: SiteScope = None) -> list[ImagingService]:
    """Every service with its dependencies (and their assets and sites) and procedures.

    :param scope: the sites the caller may see (:mod:`radguard.inventory.scope`): only services
        of those sites (a service of no site is organisation-wide); None: all.
    """
    stmt = select(ImagingService).options(
        selectinload(ImagingService.dependencies).selectinload(ServiceDependency.asset)
        .selectinload(Asset.site),
        selectinload(ImagingService.procedures),
    ).order_by(ImagingService.key)
    ids = scope_site_ids(session, scope)
    if ids is not None:
        stmt = stmt.where(ImagingService.site_id.in_(ids))
    return list(session.scalars(stmt))


def find_service(session: Session, key: str) -> ImagingService:
    service = session.scalar(select(ImagingService).where(ImagingService.key == key))
    if service is None:
        raise NotFoundError(f"no service {key!r}; see `radguard services list`")
    return service


def asset_ref(asset: Asset) -> str:
    return f"{asset.site.code}/{asset.name}"


def service_record(service: ImagingService, site_codes: dict[int, str]) -> dict[str, Any]:
    return {
        "key": service.key, "name": service.name,
        "site": site_codes.get(service.site_id) if service.site_id else None,
        "description": service.description, "rto_hours": service.rto_hours, "rpo_hours": service.rpo_hours,
        "depends_on": [
            {"asset": asset_ref(d.asset), "function": d.function, "studies_per_hour": d.studies_per_hour}
            for d in service.dependencies
        ],
        "downtime_procedures": [
            {"kind": p.kind, "title": p.title, "owner_role": p.owner_role, "steps": list(p.steps)}
            for p in service.procedures
        ],
    }


def site_codes(session: Session) -> dict[int, str]:
    return {sid: code for sid, code in session.execute(select(Site.id, Site.code))}
