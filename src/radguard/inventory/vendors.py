"""The vendor register: import, export and look-ups.

Vendors are kept in a YAML or JSON file a person maintains (``examples/northwind-vendors.yaml``
shows every field). Importing it is all or nothing and re-importing updates: each vendor the
file lists is made to match the file exactly (its products, contracts and reviews are the
file's), and vendors the file does not list are left alone. Export writes the same shape back,
so export → import is an exact round trip.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from radguard.db.models.inventory import Asset
from radguard.db.models.vendors import Vendor, VendorContract, VendorProduct, VendorProductAsset, VendorReview
from radguard.errors import InputError, NotFoundError
from radguard.inventory.queries import find_asset
from radguard.outfiles import write_file
from radguard.textfiles import parse_json, parse_yaml, read_text
from radguard.validate import PlausibleDate, ordered

FORMAT = "radguard-vendors"


class RemoteAccessMethod(StrEnum):
    """How the vendor's engineers reach our systems.

    ``brokered``: through a gateway we control, per session; ``on-demand``: a path the vendor
    can use once we open it; ``always-on``: a standing connection (a site-to-site VPN, a vendor
    agent); ``none``: no remote access.
    """

    NONE = "none"
    BROKERED = "brokered"
    ON_DEMAND = "on-demand"
    ALWAYS_ON = "always-on"


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, use_enum_values=True,
                              allow_inf_nan=False, str_max_length=10_000)


class BaaRecord(_Record):
    signed: bool
    date: PlausibleDate | None = None
    scope: str | None = None


class ContractRecord(_Record):
    reference: str = Field(min_length=1, max_length=200)
    signed: PlausibleDate | None = None
    expires: PlausibleDate | None = None
    patch_days: int | None = Field(default=None, ge=0, le=3650,
                                   description="days the vendor has to supply or validate security patches")
    eol_notice_months: int | None = Field(default=None, ge=0, le=240,
                                          description="notice the vendor gives before end of life/support")
    incident_notification_hours: int | None = Field(default=None, ge=0, le=8760,
                                                    description="hours within which the vendor reports incidents")
    right_to_audit: bool | None = None
    data_return_at_exit: bool | None = None
    notes: str | None = None

    @model_validator(mode="after")
    def _expires_after_signing(self) -> ContractRecord:
        ordered(self.signed, self.expires, "signed", "expires")
        return self


class RemoteAccessRecord(_Record):
    method: RemoteAccessMethod
    mfa: bool | None = None
    session_logging: bool | None = None


class ReviewRecord(_Record):
    date: PlausibleDate
    reviewer: str | None = Field(default=None, max_length=200)
    outcome: str | None = None


class ProductRecord(_Record):
    name: str = Field(min_length=1, max_length=200)
    assets: list[str] = Field(default_factory=list, description="asset references: SITE/NAME, or a unique name")


class VendorRecord(_Record):
    name: str = Field(min_length=1, max_length=200)
    website: str | None = Field(default=None, max_length=500)
    security_contact: str | None = Field(default=None, max_length=300)
    psirt_url: str | None = Field(default=None, max_length=500)
    cvd_policy_url: str | None = Field(default=None, max_length=500)
    phi_access: bool | None = None
    baa: BaaRecord | None = None
    remote_access: RemoteAccessRecord | None = None
    contracts: list[ContractRecord] = Field(default_factory=list)
    reviews: list[ReviewRecord] = Field(default_factory=list)
    products: list[ProductRecord] = Field(default_factory=list)
    notes: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class VendorFile(_Record):
    format: Literal["radguard-vendors"] = "radguard-vendors"
    version: Literal[1] = 1
    vendors: list[VendorRecord] = Field(default_factory=list)


def _location(loc: tuple[int | str, ...]) -> tuple[str, str | None]:
    path = "$"
    parts = list(loc)
    field_name = str(parts.pop()) if parts and isinstance(parts[-1], str) else None
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path, field_name


def _load(path: Path) -> VendorFile:
    name = str(path)
    suffix = path.suffix.lower()
    if suffix not in (".yaml", ".yml", ".json"):
        raise InputError(name, None, None, "expected a .yaml or .json vendor file")
    text = read_text(path)
    doc = parse_json(text, name) if suffix == ".json" else parse_yaml(text, name)
    if not isinstance(doc, dict):
        raise InputError(name, "$", None, "the document must be a mapping with a 'vendors' list")
    try:
        parsed = VendorFile.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        where, field_name = _location(tuple(err["loc"]))
        raise InputError(name, where, field_name, str(err["msg"]).removeprefix("Value error, ")) from None
    seen: dict[str, int] = {}
    for i, v in enumerate(parsed.vendors):
        key = v.name.casefold()
        if key in seen:
            raise InputError(name, f"$.vendors[{i}]", "name",
                             f"vendor {v.name!r} is listed twice (also $.vendors[{seen[key]}]); merge the entries")
        seen[key] = i
        for label, items in (("contracts", [c.reference for c in v.contracts]),
                             ("reviews", [str(r.date) for r in v.reviews]),
                             ("products", [p.name for p in v.products])):
            if len(set(items)) != len(items):
                dup = next(x for x in items if items.count(x) > 1)
                raise InputError(name, f"$.vendors[{i}].{label}", None, f"{dup!r} appears twice")
    return parsed


@dataclass
class VendorImportResult:
    created: int = 0
    updated: int = 0
    products: int = 0
    asset_links: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"created": self.created, "updated": self.updated, "products": self.products,
                "asset_links": self.asset_links}


def _resolve_assets(session: Session, source: str, record: VendorRecord, index: int) -> list[list[int]]:
    resolved: list[list[int]] = []
    for p, product in enumerate(record.products):
        ids: list[int] = []
        for a, ref in enumerate(product.assets):
            try:
                asset = find_asset(session, ref)
            except NotFoundError as exc:
                raise InputError(source, f"$.vendors[{index}].products[{p}].assets[{a}]", None, str(exc)) from None
            if asset.id not in ids:
                ids.append(asset.id)
        resolved.append(ids)
    return resolved


def import_vendors(session: Session, path: Path) -> VendorImportResult:
    parsed = _load(path)
    result = VendorImportResult()
    existing = {v.name.casefold(): v for v in session.scalars(select(Vendor).options(*_LOAD))}
    for i, record in enumerate(parsed.vendors):
        asset_ids = _resolve_assets(session, str(path), record, i)
        vendor = existing.get(record.name.casefold())
        if vendor is None:
            vendor = Vendor(name=record.name)
            session.add(vendor)
            result.created += 1
        else:
            result.updated += 1
        _apply(session, vendor, record, asset_ids)
        result.products += len(record.products)
        result.asset_links += sum(len(ids) for ids in asset_ids)
    session.flush()
    return result


def _apply(session: Session, vendor: Vendor, r: VendorRecord, asset_ids: list[list[int]]) -> None:
    vendor.name = r.name
    vendor.website, vendor.security_contact = r.website, r.security_contact
    vendor.psirt_url, vendor.cvd_policy_url = r.psirt_url, r.cvd_policy_url
    vendor.phi_access = r.phi_access
    vendor.baa_signed = r.baa.signed if r.baa else None
    vendor.baa_date = r.baa.date if r.baa else None
    vendor.baa_scope = r.baa.scope if r.baa else None
    ra = r.remote_access
    vendor.remote_access_method = str(ra.method) if ra else None
    vendor.remote_access_mfa = ra.mfa if ra else None
    vendor.remote_session_logging = ra.session_logging if ra else None
    vendor.notes, vendor.attributes = r.notes, dict(r.attributes)
    # Replace children in place; flush the deletions first so unique keys can be reused.
    vendor.contracts.clear()
    vendor.reviews.clear()
    vendor.products.clear()
    session.flush()
    vendor.contracts.extend(
        VendorContract(reference=c.reference, signed_on=c.signed, expires_on=c.expires, patch_days=c.patch_days,
                       eol_notice_months=c.eol_notice_months,
                       incident_notification_hours=c.incident_notification_hours,
                       right_to_audit=c.right_to_audit, data_return_at_exit=c.data_return_at_exit, notes=c.notes)
        for c in r.contracts
    )
    vendor.reviews.extend(VendorReview(reviewed_on=v.date, reviewer=v.reviewer, outcome=v.outcome) for v in r.reviews)
    for product, ids in zip(r.products, asset_ids, strict=True):
        vp = VendorProduct(name=product.name)
        vp.asset_links.extend(VendorProductAsset(asset_id=aid) for aid in ids)
        vendor.products.append(vp)


_LOAD = (
    selectinload(Vendor.products).selectinload(VendorProduct.asset_links).selectinload(VendorProductAsset.asset)
    .selectinload(Asset.site),
    selectinload(Vendor.contracts),
    selectinload(Vendor.reviews),
)


def list_vendors(session: Session) -> list[Vendor]:
    return list(session.scalars(select(Vendor).options(*_LOAD).order_by(Vendor.name)))


def find_vendor(session: Session, name: str) -> Vendor:
    vendors = [v for v in list_vendors(session) if v.name.casefold() == name.strip().casefold()]
    if not vendors:
        raise NotFoundError(f"no vendor {name!r}; see `radguard vendor list`")
    return vendors[0]


def last_review(vendor: Vendor) -> dt.date | None:
    return max((r.reviewed_on for r in vendor.reviews), default=None)


def linked_assets(vendor: Vendor) -> list[Asset]:
    seen: dict[int, Asset] = {}
    for product in vendor.products:
        for link in product.asset_links:
            seen.setdefault(link.asset.id, link.asset)
    return list(seen.values())


def vendor_record(vendor: Vendor) -> VendorRecord:
    """The vendor as the import file states it (the inverse of :func:`import_vendors`)."""
    return VendorRecord(
        name=vendor.name, website=vendor.website, security_contact=vendor.security_contact,
        psirt_url=vendor.psirt_url, cvd_policy_url=vendor.cvd_policy_url, phi_access=vendor.phi_access,
        baa=(BaaRecord(signed=vendor.baa_signed, date=vendor.baa_date, scope=vendor.baa_scope)
             if vendor.baa_signed is not None else None),
        remote_access=(RemoteAccessRecord(method=RemoteAccessMethod(vendor.remote_access_method),
                                          mfa=vendor.remote_access_mfa,
                                          session_logging=vendor.remote_session_logging)
                       if vendor.remote_access_method else None),
        contracts=[ContractRecord(reference=c.reference, signed=c.signed_on, expires=c.expires_on,
                                  patch_days=c.patch_days, eol_notice_months=c.eol_notice_months,
                                  incident_notification_hours=c.incident_notification_hours,
                                  right_to_audit=c.right_to_audit, data_return_at_exit=c.data_return_at_exit,
                                  notes=c.notes) for c in vendor.contracts],
        reviews=[ReviewRecord(date=r.reviewed_on, reviewer=r.reviewer, outcome=r.outcome) for r in vendor.reviews],
        products=[ProductRecord(name=p.name,
                                assets=[f"{link.asset.site.code}/{link.asset.name}" for link in p.asset_links])
                  for p in vendor.products],
        notes=vendor.notes, attributes=dict(vendor.attributes or {}),
    )


def _compact(value: Any) -> Any:
    """Drop empty fields so exported files stay as short as hand-written ones."""
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def export_vendors(session: Session, path: Path) -> int:
    vendors = list_vendors(session)
    doc = {"format": FORMAT, "version": 1,
           "vendors": [_compact(vendor_record(v).model_dump(mode="json")) for v in vendors]}
    suffix = path.suffix.lower()
    if suffix == ".json":
        text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    elif suffix in (".yaml", ".yml"):
        text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
    else:
        raise InputError(str(path), None, None, "name the output .yaml or .json")
    write_file(path, text)
    return len(vendors)
