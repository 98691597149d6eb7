"""The manifest: what a DICOM store held, instance by instance, as versioned JSON Lines.

JSON Lines because it streams both ways: radguard writes it from the side file one line at a
time and reads it back the same way, so a manifest of a million instances never has to fit in
memory, and it stays greppable and diffable. The format is described in docs/backup.md; its
first line names the format and version, its last line holds the totals (and proves the file
is complete). It holds UIDs, SOP classes, sizes and hashes; no patient names, IDs or dates,
and no paths (only a path key, see :func:`radguard.backup.inspect.path_key`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import radguard
from radguard.backup.state import ScanState
from radguard.errors import InputError
from radguard.outfiles import open_output, output_error

FORMAT = "radguard-backup-manifest"
VERSION = 1
PROBLEM_KINDS = ("corrupt", "encrypted", "empty", "unreadable")
_DAY = timedelta(days=1)


@dataclass
class ManifestTotals:
    instances: int = 0
    bytes: int = 0
    studies: int = 0
    series: int = 0
    duplicates: int = 0
    dicomdir: int = 0
    problems: dict[str, int] = field(default_factory=dict)
    unlisted_directories: int = 0
    newest_study: str | None = None  # ISO date-time, the newest study only (an aggregate)

    def as_dict(self) -> dict[str, Any]:
        return {"type": "totals", "instances": self.instances, "bytes": self.bytes, "studies": self.studies,
                "series": self.series, "duplicates": self.duplicates, "dicomdir": self.dicomdir,
                "problems": self.problems, "unlisted_directories": self.unlisted_directories,
                "newest_study": self.newest_study}


def iso_study(compact: str) -> str | None:
    """``YYYYMMDDHHMMSS`` → ISO 8601, or None when it is not a real date."""
    try:
        return datetime.strptime(compact[:14].ljust(14, "0"), "%Y%m%d%H%M%S").isoformat()
    except ValueError:
        return None


def newest_plausible(compact: str, now: datetime) -> str | None:
    """The newest study as ISO text, ignoring dates in the future (a modality clock set wrong)."""
    iso = iso_study(compact) if compact else None
    if iso and datetime.fromisoformat(iso).replace(tzinfo=UTC) > now.replace(microsecond=0) + _DAY:
        return None
    return iso


def write_manifest(state: ScanState, source: Path, out: Path) -> ManifestTotals:
    """Write the manifest from a complete scan; atomically (:mod:`radguard.outfiles`: a temporary file,
    fsync, rename; nothing left behind on a full disk)."""
    totals = ManifestTotals()
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(out, exc) from None
    with open_output(out) as fh:
        header = {"format": FORMAT, "version": VERSION, "created": datetime.now(UTC).isoformat(timespec="seconds"),
                  "source": str(source), "hash": "sha256", "radguard": radguard.__version__}
        fh.write(json.dumps(header) + "\n")
        previous = None
        for sop, key, size, sha, study, series, sop_class, ts in state.conn.execute(
            "SELECT sop, key, size, sha256, study, series, sop_class, ts FROM files WHERE kind = 'dicom' "
            "ORDER BY sop, key"
        ):
            if sop == previous:
                totals.duplicates += 1
                continue
            previous = sop
            totals.instances += 1
            totals.bytes += size
            fh.write(json.dumps({"type": "instance", "sop": sop, "study": study, "series": series,
                                 "class": sop_class, "ts": ts, "size": size, "sha256": sha, "key": key}) + "\n")
        for key, kind, size, reason in state.conn.execute(
            "SELECT key, kind, size, reason FROM files WHERE kind IN ('corrupt','encrypted','empty','unreadable') "
            "ORDER BY key"
        ):
            totals.problems[kind] = totals.problems.get(kind, 0) + 1
            fh.write(json.dumps({"type": "problem", "status": kind, "key": key, "size": size,
                                 "reason": reason}) + "\n")
        row = state.conn.execute(
            "SELECT count(DISTINCT study), count(DISTINCT series) FROM files WHERE kind = 'dicom'").fetchone()
        totals.studies, totals.series = int(row[0]), int(row[1])
        totals.dicomdir = state.kinds().get("dicomdir", 0)
        totals.unlisted_directories = sum(1 for _ in state.bad_dirs())
        totals.newest_study = newest_plausible(state.get("newest_study"), datetime.now(UTC))
        fh.write(json.dumps(totals.as_dict()) + "\n")
    return totals


@dataclass
class ManifestHeader:
    version: int
    created: str
    source: str


def read_manifest(path: Path) -> tuple[ManifestHeader, Iterator[dict[str, Any]], ManifestTotals]:
    """Check the header and the totals line, and return a streaming reader of the records.

    The totals are read first (from the end of the file) so a manifest cut short is refused
    before any work is done.
    """
    src = str(path)
    try:
        fh = path.open("r", encoding="utf-8")
    except OSError as exc:
        raise InputError(src, None, None, f"cannot open the manifest: {exc.strerror or exc}") from exc
    with fh:
        first = fh.readline()
    header_doc = _json_line(src, 1, first)
    if header_doc.get("format") != FORMAT:
        raise InputError(src, "line 1", "format", f"not a radguard backup manifest (expected format {FORMAT!r})")
    if header_doc.get("version") != VERSION:
        raise InputError(src, "line 1", "version",
                         f"manifest version {header_doc.get('version')!r} is not supported "
                         f"(this radguard reads {VERSION})")
    totals_doc = _json_line(src, None, _last_line(path))
    if totals_doc.get("type") != "totals":
        raise InputError(src, "last line", "type", "the manifest has no totals line: it is incomplete; write it again")
    totals = ManifestTotals(
        instances=int(totals_doc.get("instances", 0)), bytes=int(totals_doc.get("bytes", 0)),
        studies=int(totals_doc.get("studies", 0)), series=int(totals_doc.get("series", 0)),
        duplicates=int(totals_doc.get("duplicates", 0)), dicomdir=int(totals_doc.get("dicomdir", 0)),
        problems=dict(totals_doc.get("problems", {})),
        unlisted_directories=int(totals_doc.get("unlisted_directories", 0)),
        newest_study=totals_doc.get("newest_study"),
    )
    header = ManifestHeader(version=VERSION, created=str(header_doc.get("created", "")),
                            source=str(header_doc.get("source", "")))
    return header, _records(path), totals


def _records(path: Path) -> Iterator[dict[str, Any]]:
    src = str(path)
    with path.open("r", encoding="utf-8") as fh:
        fh.readline()
        for lineno, line in enumerate(fh, start=2):
            doc = _json_line(src, lineno, line)
            kind = doc.get("type")
            if kind == "totals":
                return
            if kind == "instance":
                for name in ("sop", "sha256", "key"):
                    if not isinstance(doc.get(name), str) or not doc[name]:
                        raise InputError(src, f"line {lineno}", name, "missing or not a string")
                if not isinstance(doc.get("size"), int):
                    raise InputError(src, f"line {lineno}", "size", "missing or not an integer")
            elif kind != "problem":
                raise InputError(src, f"line {lineno}", "type", f"unknown record type {kind!r}")
            yield doc


def _json_line(src: str, lineno: int | None, line: str) -> dict[str, Any]:
    where = f"line {lineno}" if lineno else "last line"
    try:
        doc = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(src, where, None, f"not valid JSON ({exc.msg}); the manifest is damaged") from exc
    if not isinstance(doc, dict):
        raise InputError(src, where, None, "expected a JSON object")
    return doc


def _last_line(path: Path) -> str:
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        fh.seek(max(0, size - 65536))
        tail = fh.read().rstrip(b"\n")
    return tail.rsplit(b"\n", 1)[-1].decode("utf-8", "replace")

