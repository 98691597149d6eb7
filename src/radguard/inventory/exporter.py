"""Exporting the inventory in the same shapes import reads (CSV, JSON, YAML).

Export → import into an empty database → export gives byte-identical files: records are
written in a fixed order (site code, asset name) with a fixed field order.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from radguard.db.models.inventory import Asset, DataFlow, Site
from radguard.inventory.csvcodec import encode_row
from radguard.inventory.readers import detect_format
from radguard.inventory.schema import CSV_COLUMNS, AssetRecord, DataFlowRecord, SiteRecord
from radguard.outfiles import open_output


def asset_record(asset: Asset) -> AssetRecord:
    """The canonical record of one stored asset (also used by ``inventory show --json``)."""
    return AssetRecord.model_validate(
        {
            "site": asset.site.code,
            "name": asset.name,
            "class": asset.asset_class,
            **{
                f: getattr(asset, f)
                for f in (
                    "modality_type", "vendor", "product", "software_version", "os_name", "os_version",
                    "serial", "owner", "criticality", "network_zone", "stores_phi", "end_of_support",
                    "remote_access", "remote_access_mfa", "buffer_hours", "buffer_studies",
                    "auto_delete_policy", "last_reviewed",
                )
            },
            "tags": list(asset.tags or []),
            "attributes": dict(asset.attributes or {}),
            "endpoints": [
                {"host": e.host, "port": e.port, "protocol": e.protocol}
                for e in sorted(asset.endpoints, key=lambda e: (e.host, e.port))
            ],
            "ae_titles": sorted(a.ae_title for a in asset.ae_titles),
            "software": [
                {"vendor": c.vendor, "product": c.product, "version": c.version, "cpe": c.cpe, "purl": c.purl}
                for c in sorted(asset.components, key=lambda c: (c.vendor.lower(), c.product.lower()))
            ],
        }
    )


def iter_assets(session: Session) -> Iterator[Asset]:
    stmt = (
        select(Asset)
        .join(Site)
        .options(
            selectinload(Asset.site),
            selectinload(Asset.endpoints),
            selectinload(Asset.ae_titles),
            selectinload(Asset.components),
        )
        .order_by(Site.code, Asset.name)
        .execution_options(yield_per=1000)
    )
    yield from session.scalars(stmt)


def _sites(session: Session) -> list[dict[str, Any]]:
    return [
        SiteRecord.model_validate(
            {"code": s.code, "name": s.name, "kind": s.kind, "address": s.address,
             "organization_size": s.organization_size}
        ).model_dump()
        for s in session.scalars(select(Site).order_by(Site.code))
    ]


def _flows(session: Session) -> list[dict[str, Any]]:
    out = []
    flows = session.scalars(
        select(DataFlow).options(selectinload(DataFlow.source_asset).selectinload(Asset.site),
                                 selectinload(DataFlow.target_asset).selectinload(Asset.site))
    )
    for f in flows:
        rec = DataFlowRecord.model_validate(
            {"from": f"{f.source_asset.site.code}/{f.source_asset.name}",
             "to": f"{f.target_asset.site.code}/{f.target_asset.name}",
             "protocol": f.protocol, "carries_phi": f.carries_phi, "description": f.description}
        )
        out.append(rec.model_dump(by_alias=True))
    return sorted(out, key=lambda d: (d["from"], d["to"], d["protocol"]))


def _asset_dict(asset: Asset) -> dict[str, Any]:
    return asset_record(asset).model_dump(by_alias=True, mode="json")


def _write_json(session: Session, fh: IO[str]) -> int:
    count = 0
    fh.write('{"format": "radguard-inventory", "version": 1,\n "sites": ')
    fh.write(json.dumps(_sites(session), sort_keys=False))
    fh.write(',\n "assets": [')
    for i, asset in enumerate(iter_assets(session)):
        fh.write(("\n  " if i == 0 else ",\n  ") + json.dumps(_asset_dict(asset)))
        count += 1
    fh.write('\n ],\n "data_flows": ')
    fh.write(json.dumps(_flows(session)))
    fh.write("}\n")
    return count


def export_inventory(session: Session, path: Path, fmt: str | None = None) -> int:
    """Write the whole inventory to ``path``; returns the number of assets written.

    The file is written beside the target and renamed into place (:mod:`radguard.outfiles`), so
    an interrupted export or a full disk never leaves a half-written file under the requested
    name, nor a temporary one beside it.
    """
    resolved = detect_format(path, fmt)
    count = 0
    with open_output(path, newline="") as fh:
        if resolved == "csv":
            # Sites travel in the site_name column so a CSV export can be imported alone.
            names = {s["code"]: s["name"] for s in _sites(session)}
            writer = csv.DictWriter(fh, fieldnames=[*CSV_COLUMNS, "site_name"], lineterminator="\n")
            writer.writeheader()
            for asset in iter_assets(session):
                row = encode_row(asset_record(asset))
                row["site_name"] = names[asset.site.code]
                writer.writerow(row)
                count += 1
        elif resolved == "json":
            count = _write_json(session, fh)
        else:
            assets = [_asset_dict(a) for a in iter_assets(session)]
            count = len(assets)
            yaml.safe_dump(
                {"format": "radguard-inventory", "version": 1, "sites": _sites(session),
                 "assets": assets, "data_flows": _flows(session)},
                fh, sort_keys=False, allow_unicode=True,
            )
    return count
