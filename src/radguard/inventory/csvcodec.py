"""How list- and object-valued fields are written inside one CSV cell.

A spreadsheet row holds one asset, so endpoints, AE titles, software and tags are packed
into cells: lists are ``;``-separated, an endpoint is ``protocol://host:port`` (IPv6 in
brackets), a software component is ``vendor|product|version|cpe|purl``, attributes are a JSON
object. :func:`encode_row` and :func:`decode_row` are exact inverses.
"""

from __future__ import annotations

import json
import re
from typing import Any

from radguard.csvcells import restore_cell
from radguard.inventory.schema import CSV_COLUMNS, AssetRecord

_TRUE = {"yes", "y", "true", "1"}
_FALSE = {"no", "n", "false", "0"}
_ENDPOINT = re.compile(r"^(?P<proto>[a-z0-9-]+)://(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:/\[\]]+)):(?P<port>[^/]+)/?$")


class CellError(ValueError):
    """A cell could not be decoded; carries the column name."""

    def __init__(self, column: str, message: str) -> None:
        self.column = column
        super().__init__(message)


def _split(cell: str) -> list[str]:
    return [p.strip() for p in cell.split(";") if p.strip()]


def _bool(column: str, cell: str) -> bool | None:
    v = cell.strip().lower()
    if not v:
        return None
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise CellError(column, f"{cell!r} is not yes/no")


def decode_row(row: dict[str, str]) -> dict[str, Any]:
    """Turn a CSV row (all strings) into the dict shape AssetRecord validates."""
    out: dict[str, Any] = {}
    for column, raw in row.items():
        cell = restore_cell(raw or "").strip()
        if column in ("site_name",):
            continue
        if column in ("stores_phi", "remote_access_mfa"):
            out[column] = _bool(column, cell)
        elif column in ("tags", "ae_titles"):
            out[column] = _split(cell)
        elif column == "endpoints":
            out[column] = [_endpoint(p) for p in _split(cell)]
        elif column == "software":
            out[column] = [_component(p) for p in _split(cell)]
        elif column == "attributes":
            if not cell:
                out[column] = {}
                continue
            try:
                value = json.loads(cell)
            except json.JSONDecodeError as exc:
                raise CellError(column, f"not a JSON object: {exc.msg}") from None
            if not isinstance(value, dict):
                raise CellError(column, "must be a JSON object like {\"room\": \"B12\"}")
            out[column] = value
        else:
            out[column] = cell or None
    return out


def _endpoint(text: str) -> dict[str, Any]:
    m = _ENDPOINT.match(text)
    if not m:
        raise CellError("endpoints", f"{text!r} is not protocol://host:port")
    port = m["port"]
    if not port.isdigit():
        raise CellError("endpoints", f"port {port!r} in {text!r} is not a number")
    return {"protocol": m["proto"], "host": m["v6"] or m["host"], "port": int(port)}


def _component(text: str) -> dict[str, Any]:
    parts = [p.strip() for p in text.split("|")]
    if len(parts) < 2 or len(parts) > 5:
        raise CellError("software", f"{text!r} is not vendor|product|version[|cpe|purl]")
    parts += [""] * (5 - len(parts))
    vendor, product, version, cpe, purl = parts
    return {"vendor": vendor, "product": product, "version": version or None,
            "cpe": cpe or None, "purl": purl or None}


def encode_row(record: AssetRecord) -> dict[str, str]:
    """The inverse of :func:`decode_row` for one asset."""
    data = record.model_dump(by_alias=True)
    row: dict[str, str] = {}
    for column in CSV_COLUMNS:
        value = data.get(column)
        if column in ("tags", "ae_titles"):
            row[column] = ";".join(value or [])
        elif column == "endpoints":
            row[column] = ";".join(
                f"{e['protocol']}://{'[' + e['host'] + ']' if ':' in e['host'] else e['host']}:{e['port']}"
                for e in value or []
            )
        elif column == "software":
            row[column] = ";".join(
                "|".join([c["vendor"], c["product"], c["version"] or "", c["cpe"] or "", c["purl"] or ""]).rstrip("|")
                for c in value or []
            )
        elif column == "attributes":
            row[column] = json.dumps(value, sort_keys=True, separators=(",", ":")) if value else ""
        elif isinstance(value, bool):
            row[column] = "yes" if value else "no"
        elif value is None:
            row[column] = ""
        else:
            row[column] = str(value)
    return row
