"""Importing an inventory file: all or nothing, streamed, idempotent.

Rows are validated one by one and written in batches inside the caller's transaction; the
first invalid row raises :class:`InputError` and the caller rolls everything back, so the
database is left exactly as it was. Natural keys make a re-import update, never duplicate.
Endpoints, AE titles and software that a previous *import* recorded for an asset are replaced
by the file's; those found by discovery or read from an SBOM are kept.

A large import (thousands of assets, many compared with those already held) sets the search
index's per-row triggers aside once it has written :data:`radguard.db.search.BULK_MIN_ROWS`
assets and rebuilds the index once at the end (:class:`radguard.db.search.BulkAssetWrites`).

New rows are written with :func:`radguard.db.bulk.insert_rows` (``COPY`` on PostgreSQL, the
new assets' IDs taken from the sequence first). Only assets at sites that existed before the
import are looked up by natural key, and only those can have endpoints, AE titles or software
to replace: the 100,000-asset PostgreSQL import went from 257 s to 99 s
(benchmarks/inventory_import.py, docs/benchmarks.md).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from radguard.db import bulk, search
from radguard.db.models.inventory import AETitle, Asset, DataFlow, Endpoint, Site, SoftwareComponent
from radguard.errors import InputError
from radguard.inventory.readers import detect_format, read_items
from radguard.inventory.schema import AssetRecord, DataFlowRecord, SiteRecord

BATCH = 1000

_ASSET_FIELDS = [
    "name", "asset_class", "modality_type", "vendor", "product", "software_version", "os_name",
    "os_version", "serial", "owner", "criticality", "network_zone", "stores_phi", "end_of_support",
    "remote_access", "remote_access_mfa", "buffer_hours", "buffer_studies", "auto_delete_policy",
    "last_reviewed", "tags", "attributes",
]


@dataclass
class ImportResult:
    file: str
    sites_created: int = 0
    sites_updated: int = 0
    assets_created: int = 0
    assets_updated: int = 0
    flows: int = 0
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}


def _describe(exc: ValidationError) -> tuple[str | None, str, list[str | int]]:
    err = exc.errors()[0]
    loc = list(err.get("loc", ()))
    field_name = ".".join(str(p) for p in loc) if loc else None
    msg = err.get("msg", "invalid value")
    if err.get("type") == "missing":
        msg = "required field is missing"
    elif err.get("type") == "extra_forbidden":
        msg = "unknown field"
    elif err.get("type") == "enum":
        allowed = err.get("ctx", {}).get("expected", "")
        msg = f"{err.get('input')!r} is not allowed; expected {allowed}"
    return field_name, msg, loc


class InventoryImporter:
    """Writes validated records into a session; one instance per file."""

    def __init__(self, session: Session, source: str) -> None:
        self.session = session
        self.source = source
        self.result = ImportResult(file=source)
        self.site_ids: dict[str, int] = {
            code: sid for sid, code in session.execute(select(Site.id, Site.code))
        }
        # Only these sites can hold assets from before this import: a site the file creates
        # is new in this (uncommitted) transaction, so its assets are all this file's, and the
        # file names each asset once. Their rows need no look-up (see _existing).
        self._held_sites = set(self.site_ids.values())
        self._file_sites: set[str] = set()
        self._asset_keys: set[tuple[str, str]] = set()
        self._pending: list[tuple[str, AssetRecord]] = []
        self._deferred: list[tuple[str, AssetRecord]] = []
        self._flows: list[tuple[str, DataFlowRecord]] = []
        self._search = search.BulkAssetWrites(session)
        self._table_rows: int | None = None

    def _fail(self, loc: str, exc: ValidationError) -> InputError:
        field_name, msg, _ = _describe(exc)
        return InputError(self.source, loc, field_name, msg)

    def add(self, loc: str, kind: str, data: dict[str, Any]) -> None:
        try:
            if kind == "site":
                self._add_site(loc, SiteRecord.model_validate(data))
            elif kind == "asset":
                self._add_asset(loc, AssetRecord.model_validate(data))
            else:
                self._flows.append((loc, DataFlowRecord.model_validate(data)))
        except ValidationError as exc:
            raise self._fail(loc, exc) from None

    def _add_site(self, loc: str, rec: SiteRecord) -> None:
        if rec.code in self._file_sites:
            raise InputError(self.source, loc, "code", f"site {rec.code!r} appears twice in the file")
        self._file_sites.add(rec.code)
        values = rec.model_dump()
        if rec.code in self.site_ids:
            self.session.execute(update(Site).where(Site.id == self.site_ids[rec.code]).values(**values))
            self.result.sites_updated += 1
        else:
            sid = self.session.scalar(insert(Site).values(**values).returning(Site.id))
            assert sid is not None
            self.site_ids[rec.code] = sid
            self.result.sites_created += 1

    def _add_asset(self, loc: str, rec: AssetRecord) -> None:
        if rec.key in self._asset_keys:
            raise InputError(self.source, loc, "name",
                             f"asset {rec.ref!r} appears twice in the file (site + name must be unique)")
        self._asset_keys.add(rec.key)
        if rec.site not in self.site_ids:
            self._deferred.append((loc, rec))  # the site may still come later in the file
            return
        self._pending.append((loc, rec))
        if len(self._pending) >= BATCH:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self._maybe_bulk(self.result.assets_created + self.result.assets_updated + len(batch))
        keys = [(self.site_ids[r.site], r.name) for _, r in batch]
        existing = self._existing(keys)
        new_rows: list[dict[str, Any]] = []
        upd_rows: list[dict[str, Any]] = []
        for (sid, name), (_, rec) in zip(keys, batch, strict=True):
            values = rec.model_dump(include=set(_ASSET_FIELDS))
            values["site_id"] = sid
            if (sid, name) in existing:
                values["id"] = existing[(sid, name)]
                upd_rows.append(values)
            else:
                values.update(source="import", confirmed=True)
                new_rows.append(values)
        if upd_rows:
            self.session.execute(update(Asset), upd_rows)
            self.result.assets_updated += len(upd_rows)
        ids: dict[tuple[int, str], int] = dict(existing)
        if new_rows and bulk.uses_copy(self.session):
            # COPY returns nothing: take the IDs from the sequence first and write them too.
            for row, aid in zip(new_rows, bulk.reserve_ids(self.session, Asset, len(new_rows)),
                                strict=True):
                row["id"] = aid
                ids[(row["site_id"], row["name"])] = aid
            bulk.insert_rows(self.session, Asset, new_rows)
            self.result.assets_created += len(new_rows)
        elif new_rows:
            inserted = self.session.execute(
                insert(Asset).returning(Asset.id, Asset.site_id, Asset.name, sort_by_parameter_order=True),
                new_rows,
            )
            for aid, sid, name in inserted:
                ids[(sid, name)] = aid
            self.result.assets_created += len(new_rows)
        asset_ids = [ids[k] for k in keys]
        # Only assets that were there before can have endpoints, AE titles or software to
        # replace or keep: one written just now has none yet.
        held = sorted(existing.values())
        kept_endpoints: set[tuple[int, str, int]] = set()
        kept_comps: set[tuple[int, str, str]] = set()
        if held:
            for model in (Endpoint, SoftwareComponent):
                self.session.execute(delete(model).where(model.asset_id.in_(held), model.source == "import"))
            self.session.execute(delete(AETitle).where(AETitle.asset_id.in_(held)))
            kept_endpoints = {
                (aid, host, port)
                for aid, host, port in self.session.execute(
                    select(Endpoint.asset_id, Endpoint.host, Endpoint.port).where(Endpoint.asset_id.in_(held))
                )
            }
            kept_comps = {
                (aid, v.lower(), p.lower())
                for aid, v, p in self.session.execute(
                    select(SoftwareComponent.asset_id, SoftwareComponent.vendor, SoftwareComponent.product).where(
                        SoftwareComponent.asset_id.in_(held)
                    )
                )
            }
        endpoints: list[dict[str, Any]] = []
        aes: list[dict[str, Any]] = []
        comps: list[dict[str, Any]] = []
        for aid, (_, rec) in zip(asset_ids, batch, strict=True):
            for e in rec.endpoints:
                if (aid, e.host, e.port) in kept_endpoints:
                    self.session.execute(
                        update(Endpoint)
                        .where(Endpoint.asset_id == aid, Endpoint.host == e.host, Endpoint.port == e.port)
                        .values(protocol=e.protocol, source="import")
                    )
                else:
                    endpoints.append({"asset_id": aid, "host": e.host, "port": e.port,
                                      "protocol": e.protocol, "source": "import"})
            aes.extend({"asset_id": aid, "ae_title": t} for t in rec.ae_titles)
            for c in rec.software:
                if (aid, c.vendor.lower(), c.product.lower()) in kept_comps:
                    continue  # an SBOM or discovery already knows this component; keep theirs
                comps.append({"asset_id": aid, **c.model_dump(), "source": "import"})
        bulk.insert_rows(self.session, Endpoint, endpoints)
        bulk.insert_rows(self.session, AETitle, aes)
        bulk.insert_rows(self.session, SoftwareComponent, comps)

    def _existing(self, keys: list[tuple[int, str]]) -> dict[tuple[int, str], int]:
        """The IDs of the assets among ``keys`` (site ID, name) that were there before this import.

        One query per batch, per site: ``site_id = ? AND name IN (…)`` is a range of the unique
        (site_id, name) index on both databases, where a row-value ``(site_id, name) IN (…)``
        of 1,000 pairs was a sequential scan on PostgreSQL testing every row against every pair
        (0.5 s per batch at 10,000 assets, growing with the table).
        """
        by_site: dict[int, list[str]] = {}
        for sid, name in keys:
            if sid in self._held_sites:
                by_site.setdefault(sid, []).append(name)
        found: dict[tuple[int, str], int] = {}
        for sid, names in by_site.items():
            rows = self.session.execute(
                select(Asset.id, Asset.name).where(Asset.site_id == sid, Asset.name.in_(names)))
            found.update(((sid, name), aid) for aid, name in rows)
        return found

    def _maybe_bulk(self, written: int) -> None:
        """Set the search triggers aside once this import is big enough (see the module doc)."""
        if self._search.suspended or written < search.BULK_MIN_ROWS or self.session.get_bind().dialect.name != "sqlite":
            return
        if self._table_rows is None:  # counted once: a count per batch would cost more than it saves
            self._table_rows = self.session.scalar(select(func.count()).select_from(Asset)) or 0
        if search.rebuild_pays(written, self._table_rows):
            self._search.suspend()

    def abandon(self) -> None:
        """After a failed import: put the search triggers back (the caller's rollback would too)."""
        with suppress(SQLAlchemyError):  # a failed statement leaves the session unusable until rollback
            self._search.resume()

    def finish(self) -> ImportResult:
        for loc, rec in self._deferred:
            if rec.site not in self.site_ids:
                raise InputError(
                    self.source, loc, "site",
                    f"unknown site {rec.site!r}: add it to the file's sites (or a site_name column) "
                    "or import it first",
                )
            self._pending.append((loc, rec))
        self._deferred = []
        self._flush()
        self._search.resume()
        self._apply_flows()
        if self.result.assets_created + self.result.assets_updated >= search.BULK_MIN_ROWS:
            bulk.refresh_statistics(self.session, (Asset, Endpoint, AETitle, SoftwareComponent))
        return self.result

    def _resolve(self, ref: str) -> int | None:
        code, name = ref.split("/", 1)
        sid = self.site_ids.get(code)
        if sid is None:
            return None
        return self.session.scalar(select(Asset.id).where(Asset.site_id == sid, Asset.name == name))

    def _apply_flows(self) -> None:
        seen: set[tuple[int, int, str]] = set()
        for loc, rec in self._flows:
            src = self._resolve(rec.source)
            if src is None:
                raise InputError(self.source, loc, "from", f"unknown asset {rec.source!r}")
            dst = self._resolve(rec.target)
            if dst is None:
                raise InputError(self.source, loc, "to", f"unknown asset {rec.target!r}")
            key = (src, dst, str(rec.protocol))
            if key in seen:
                raise InputError(self.source, loc, None, "this data flow appears twice in the file")
            seen.add(key)
            existing = self.session.scalar(
                select(DataFlow).where(DataFlow.source_asset_id == src, DataFlow.target_asset_id == dst,
                                       DataFlow.protocol == str(rec.protocol))
            )
            if existing is None:
                self.session.add(DataFlow(source_asset_id=src, target_asset_id=dst, protocol=str(rec.protocol),
                                          carries_phi=rec.carries_phi, description=rec.description))
            else:
                existing.carries_phi = rec.carries_phi
                existing.description = rec.description
            self.result.flows += 1
        self.session.flush()


def import_inventory(session: Session, path: Path, fmt: str | None = None) -> ImportResult:
    """Import one file into ``session``. Raises InputError on the first invalid entry.

    The caller owns the transaction: commit on success, roll back on error (the CLI uses
    ``Database.transaction()``, which does exactly that).
    """
    resolved = detect_format(path, fmt)
    importer = InventoryImporter(session, str(path))
    try:
        for loc, kind, data in read_items(path, resolved):
            importer.add(loc, kind, data)
        return importer.finish()
    except BaseException:
        importer.abandon()
        raise
