"""Reading inventory files as a stream of (location, kind, data) items.

CSV and JSON are streamed, so a 100,000-asset file is never held in memory whole; YAML is
parsed as one document (use CSV or JSON for very large inventories). Every item carries a
location (``row 12`` or ``$.assets[11]``) for error messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import ijson

from radguard.errors import InputError
from radguard.inventory.csvcodec import CellError, decode_row
from radguard.inventory.schema import CSV_COLUMNS, CSV_OPTIONAL_EXTRA, CSV_REQUIRED
from radguard.textfiles import JsonEvents, load_yaml, read_csv, stream_lines

Kind = Literal["site", "asset", "flow"]
Item = tuple[str, Kind, dict[str, Any]]
FORMATS = ("csv", "json", "yaml")
_SECTIONS: dict[str, Kind] = {"sites": "site", "assets": "asset", "data_flows": "flow"}
_TOP_LEVEL = {"format", "version", *_SECTIONS}


def detect_format(path: Path, explicit: str | None) -> str:
    if explicit:
        fmt = explicit.lower()
        if fmt not in FORMATS:
            raise InputError(str(path), None, None, f"unknown format {explicit!r}; use csv, json or yaml")
        return fmt
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "yml":
        suffix = "yaml"
    if suffix not in FORMATS:
        raise InputError(str(path), None, None,
                         "cannot tell the format from the extension; name it with --format csv|json|yaml")
    return suffix


def read_items(path: Path, fmt: str) -> Iterator[Item]:
    name = str(path)
    if not path.exists():
        raise InputError(name, None, None, "file not found")
    if path.stat().st_size == 0:
        raise InputError(name, None, None, "the file is empty")
    if fmt == "csv":
        yield from _read_csv(path)
    elif fmt == "json":
        yield from _read_json(path)
    else:
        yield from _read_yaml(path)


def _read_csv(path: Path) -> Iterator[Item]:
    name = str(path)
    table = read_csv(stream_lines(path), name)
    header = table.header
    known = set(CSV_COLUMNS) | set(CSV_OPTIONAL_EXTRA)
    where = f"line {table.header_line}"
    for col in header:
        if col not in known:
            raise InputError(name, where, col, f"unknown column; expected some of: {', '.join(CSV_COLUMNS)}")
    for col in CSV_REQUIRED:
        if col not in header:
            raise InputError(name, where, col, "required column is missing")
    sites_named: set[str] = set()
    rows = 0
    for record in table.rows:
        rows += 1
        loc, row = record.location, record.cells
        site_name = (row.get("site_name") or "").strip()
        code = (row.get("site") or "").strip()
        if site_name and code and code not in sites_named:
            sites_named.add(code)
            yield loc, "site", {"code": code, "name": site_name}
        try:
            data = decode_row(row)
        except CellError as exc:
            raise InputError(name, loc, exc.column, str(exc)) from None
        yield loc, "asset", data
    if rows == 0:
        raise InputError(name, None, None, "the file has a header but no rows")


def _read_json(path: Path) -> Iterator[Item]:
    """Two streaming passes: sites first, then assets and flows, whatever their order in the file.

    Assets need their site's ID; reading sites first keeps memory flat even when a file lists
    its sites last (the second pass costs far less than buffering 100,000 assets).
    """
    yield from _stream_json(path, {"sites"})
    yield from _stream_json(path, {"assets", "data_flows"})


def _stream_json(path: Path, wanted: set[str]) -> Iterator[Item]:
    name = str(path)
    counters = dict.fromkeys(_SECTIONS, -1)
    stream = JsonEvents(path)
    builder: ijson.ObjectBuilder | None = None
    current: str | None = None
    seen_top = False
    for prefix, event, value in stream.events():
        if builder is not None:
            builder.event(event, value)
            if current is not None and prefix == current and event in ("end_map", "end_array"):
                section = current.split(".")[0]
                loc = f"$.{section}[{counters[section]}]"
                if not isinstance(builder.value, dict):
                    raise InputError(name, loc, None, "each entry must be an object")
                yield loc, _SECTIONS[section], builder.value
                builder, current = None, None
            continue
        if prefix == "" and event == "start_map":
            seen_top = True
        elif prefix == "" and event in ("start_array", "string", "number", "boolean", "null"):
            raise InputError(name, "$", None,
                             "the document must be an object with sites, assets and data_flows")
        elif prefix == "" and event == "map_key" and value not in _TOP_LEVEL:
            raise InputError(name, f"$.{value}", None,
                             f"unknown section; expected {', '.join(sorted(_TOP_LEVEL))}")
        elif prefix in _SECTIONS and event == "start_array":
            continue
        elif prefix in _SECTIONS and event not in ("end_array",):
            raise InputError(name, f"$.{prefix}", None, "must be a list")
        elif (prefix.endswith(".item") and prefix[:-5] in _SECTIONS
              and event not in ("map_key", "end_map", "end_array")):
            section = prefix[:-5]
            counters[section] += 1
            if section not in wanted:
                continue
            if event != "start_map":
                raise InputError(name, f"$.{section}[{counters[section]}]", None,
                                 "each entry must be an object")
            builder = ijson.ObjectBuilder()
            builder.event(event, value)
            current = prefix
        elif prefix == "version" and event == "number" and value != 1:
            raise InputError(name, "$.version", "version",
                             f"unsupported inventory version {value}; this radguard reads version 1")
    if not seen_top:
        raise InputError(name, None, None, "the file holds no JSON document")


def _read_yaml(path: Path) -> Iterator[Item]:
    name = str(path)
    doc = load_yaml(path)
    if doc is None:
        raise InputError(name, None, None, "the file holds no YAML document")
    if not isinstance(doc, dict):
        raise InputError(name, "$", None, "the document must be a mapping with sites, assets and data_flows")
    for key in doc:
        if key not in _TOP_LEVEL:
            raise InputError(name, f"$.{key}", None, f"unknown section; expected {', '.join(sorted(_TOP_LEVEL))}")
    if doc.get("version", 1) != 1:
        raise InputError(name, "$.version", "version", f"unsupported inventory version {doc['version']}")
    for section, kind in _SECTIONS.items():
        entries = doc.get(section) or []
        if not isinstance(entries, list):
            raise InputError(name, f"$.{section}", None, "must be a list")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise InputError(name, f"$.{section}[{i}]", None, "each entry must be a mapping")
            yield f"$.{section}[{i}]", kind, entry
