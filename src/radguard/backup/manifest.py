"""The manifest: what a DICOM store held, instance by instance, as versioned JSON Lines.

JSON Lines because it streams both ways: radguard writes it from the side file one line at a
time and reads it back the same way, so a manifest of a million instances never has to fit in
memory, and it stays greppable and diffable. The format is described in docs/backup.md; its
first line names the format and version, its last line holds the totals (and proves the file
is complete). It holds UIDs, SOP classes, sizes and hashes; no patient names, IDs or dates,
and no paths (only a path key, see :func:`radguard.backup.inspect.path_key`).
"""

from __future__ import annotations

import codecs
import errno
import io
import json
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import radguard
from radguard.backup.dicomwalk import UID_RE
from radguard.backup.reconcile import PROBLEM_KINDS, STATUSES
from radguard.backup.state import ScanState
from radguard.errors import InputError
from radguard.outfiles import open_output, output_error
from radguard.textfiles import NOT_UTF8, sniff_encoding

FORMAT = "radguard-backup-manifest"
VERSION = 1
_DAY = timedelta(days=1)
# A manifest line is at most this long (ours are about 300 bytes); a longer one is damage or hostile.
MAX_LINE = 64 * 1024
# Sizes and byte totals above this are not real files (and would overflow SQLite's integers).
MAX_BYTES = 2**53
# Study dates outside [EARLIEST, now + 1 day] are not real (a year-99999 date, a clock at 1900).
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX32 = re.compile(r"^[0-9a-f]{32}$")


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
    # Ransom notes in the source by name (the attacker's names, never paths), the most copies first.
    ransom_notes: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"type": "totals", "instances": self.instances, "bytes": self.bytes, "studies": self.studies,
                "series": self.series, "duplicates": self.duplicates, "dicomdir": self.dicomdir,
                "problems": self.problems, "ransom_notes": self.ransom_notes,
                "unlisted_directories": self.unlisted_directories, "newest_study": self.newest_study}


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


def check_output(out: Path) -> None:
    """Refuse an output path that cannot become the manifest, before any work is done (the same
    :class:`~radguard.errors.OutputError` every writer gives, see :mod:`radguard.outfiles`)."""
    if out.is_dir():
        raise output_error(out, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(out)))
    for parent in out.parents:
        if parent.exists():
            if not parent.is_dir():
                raise output_error(out, NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(parent)))
            break


def write_manifest(state: ScanState, source: Path, out: Path) -> ManifestTotals:
    """Write the manifest from a complete scan; atomically (:mod:`radguard.outfiles`: a temporary file,
    fsync, rename; nothing left behind on a full disk). The output path is checked before any work."""
    check_output(out)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(out, exc) from None
    with open_output(out) as fh:
        return _write(state, source, fh)


def _write(state: ScanState, source: Path, fh: IO[str]) -> ManifestTotals:
    totals = ManifestTotals()
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
    problems: dict[str, int] = {}
    marks = ",".join("?" * len(PROBLEM_KINDS))
    for key, kind, size, reason, name in state.conn.execute(
        f"SELECT key, kind, size, reason, name FROM files WHERE kind IN ({marks}) ORDER BY key", PROBLEM_KINDS
    ):
        problems[kind] = problems.get(kind, 0) + 1
        record = {"type": "problem", "status": kind, "key": key, "size": size, "reason": reason}
        if kind == "ransom_note":
            record["name"] = name
        fh.write(json.dumps(record) + "\n")
    totals.problems = {k: problems[k] for k in STATUSES if k in problems}
    from radguard.backup.reconcile import ransom_notes

    totals.ransom_notes = ransom_notes(state)
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


Records = Iterator[tuple[int, dict[str, Any]]]


def read_manifest(path: Path) -> tuple[ManifestHeader, Records, ManifestTotals]:
    """Check the header and the totals line, and return a streaming reader of the records.

    The totals are read first (from the end of the file) so a manifest cut short is refused
    before any work is done. The reader yields ``(line number, record)``, checks every field it
    yields, and at the end checks the totals against the lines it read. Every error is an
    :class:`InputError` naming the manifest, the line and the field.
    """
    src = str(path)
    encoding = _encoding(path)
    first = next(_lines(path, encoding), (1, ""))[1]
    header_doc = _json_line(src, 1, first)
    if header_doc.get("format") != FORMAT:
        raise InputError(src, "line 1", "format", f"not a radguard backup manifest (expected format {FORMAT!r})")
    if header_doc.get("version") != VERSION:
        raise InputError(src, "line 1", "version",
                         f"manifest version {header_doc.get('version')!r} is not supported "
                         f"(this radguard reads {VERSION})")
    created = header_doc.get("created", "")
    if created:
        _check_datetime(src, "line 1", "created", created)
    totals_doc = _json_line(src, None, _last_line(path, encoding))
    if totals_doc.get("type") != "totals":
        raise InputError(src, "last line", "type", "the manifest has no totals line: it is incomplete; write it again")
    totals = _totals(src, totals_doc)
    header = ManifestHeader(version=VERSION, created=str(created), source=str(header_doc.get("source", "")))
    return header, _records(path, encoding, totals), totals


def _count(src: str, where: str, name: str, value: Any, limit: int = MAX_BYTES) -> int:
    """A count or size: a whole number from 0 to ``limit`` (not a bool, a float or text)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(src, where, name, f"expected a whole number, not {_shape(value)}")
    if not 0 <= value <= limit:
        raise InputError(src, where, name, f"{value} is out of range (0 to {limit})")
    return value


def _shape(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, float) and not math.isfinite(value):
        return "a non-finite number"
    return {bool: "true/false", str: "text", float: "a fraction", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__)


def _check_datetime(src: str, where: str, name: str, value: Any) -> datetime:
    """An ISO 8601 date and time in a plausible window (1900 to tomorrow)."""
    try:
        if not isinstance(value, str) or len(value) > 40:
            raise ValueError
        when = datetime.fromisoformat(value)
    except ValueError:
        raise InputError(src, where, name, f"not an ISO 8601 date and time ({_shape(value)})") from None
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    if not EARLIEST <= aware <= datetime.now(UTC) + _DAY:
        raise InputError(src, where, name, f"{value} is not a plausible date (1900 to today)")
    return when


def _totals(src: str, doc: dict[str, Any]) -> ManifestTotals:
    where = "last line"
    counts = {name: _count(src, where, name, doc.get(name, 0))
              for name in ("instances", "bytes", "studies", "series", "duplicates", "dicomdir",
                           "unlisted_directories")}
    problems = doc.get("problems", {})
    if not isinstance(problems, dict):
        raise InputError(src, where, "problems", f"expected an object of status: count, not {_shape(problems)}")
    for status, n in problems.items():
        if status not in PROBLEM_KINDS:
            raise InputError(src, where, f"problems.{status}"[:80], "not a problem status "
                             f"({', '.join(PROBLEM_KINDS)})")
        _count(src, where, f"problems.{status}", n)
    newest = doc.get("newest_study")
    if newest is not None:
        _check_datetime(src, where, "newest_study", newest)
    notes = doc.get("ransom_notes", [])
    if not isinstance(notes, list) or not all(
            isinstance(n, dict) and isinstance(n.get("name"), str) and isinstance(n.get("files"), int) for n in notes):
        raise InputError(src, where, "ransom_notes", "expected a list of {name, files}")
    return ManifestTotals(problems=dict(problems), newest_study=newest, ransom_notes=notes, **counts)


def _string(src: str, where: str, name: str, value: Any, pattern: re.Pattern[str] | None, what: str,
            required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or (required and not value) or len(value) > 128 or (
            pattern is not None and value and not pattern.match(value)):
        raise InputError(src, where, name, f"not {what}" if isinstance(value, str) and value
                         else f"missing or not {what}")


def _instance(src: str, lineno: int, doc: dict[str, Any]) -> None:
    where = f"line {lineno}"
    _string(src, where, "sop", doc.get("sop"), UID_RE, "a UID (digits and dots)")
    sha = doc.get("sha256")
    if isinstance(sha, str) and _HEX64.match(sha.lower()):
        doc["sha256"] = sha.lower()
    _string(src, where, "sha256", doc.get("sha256"), _HEX64,
            "a SHA-256 hash (64 hexadecimal digits); this is a fault of the manifest, not of the backup")
    _string(src, where, "key", doc.get("key"), _HEX32, "a path key (32 hexadecimal digits)")
    _count(src, where, "size", doc.get("size"))
    for name in ("study", "series", "class", "ts"):  # as the file had them: only their type is checked
        _string(src, where, name, doc.get(name), None, "text", required=False)


def _problem(src: str, lineno: int, doc: dict[str, Any]) -> str:
    where = f"line {lineno}"
    status = doc.get("status")
    if status not in PROBLEM_KINDS:
        raise InputError(src, where, "status", f"not a problem status ({', '.join(PROBLEM_KINDS)})")
    _count(src, where, "size", doc.get("size"))
    return str(status)


def _records(path: Path, encoding: str, totals: ManifestTotals) -> Records:
    src = str(path)
    instances = size = 0
    problems: dict[str, int] = {}
    lines = _lines(path, encoding)
    next(lines, None)
    for lineno, line in lines:
        doc = _json_line(src, lineno, line)
        kind = doc.get("type")
        if kind == "totals":
            for after, rest in lines:
                if rest.strip():
                    raise InputError(src, f"line {after}", None, f"a record after the totals line (line {lineno}); "
                                     "the manifest is damaged")
            _cross_check(src, lineno, totals, instances, size, problems)
            return
        if kind == "instance":
            _instance(src, lineno, doc)
            instances += 1
            size += doc["size"]
        elif kind == "problem":
            status = _problem(src, lineno, doc)
            problems[status] = problems.get(status, 0) + 1
        else:
            raise InputError(src, f"line {lineno}", "type", f"unknown record type {kind!r}"[:200])
        yield lineno, doc
    raise InputError(src, "last line", "type", "the manifest has no totals line: it is incomplete; write it again")


def _cross_check(src: str, lineno: int, totals: ManifestTotals, instances: int, size: int,
                 problems: dict[str, int]) -> None:
    """The totals line must describe the lines above it: a manifest claiming more is not trusted."""
    where = f"line {lineno}"
    if totals.instances != instances:
        raise InputError(src, where, "instances", f"the totals claim {totals.instances} instances but "
                         f"{instances} instance lines are listed; the manifest is damaged or edited")
    if totals.bytes != size:
        raise InputError(src, where, "bytes", f"the totals claim {totals.bytes} bytes but the instance lines "
                         f"add up to {size}; the manifest is damaged or edited")
    claimed = {k: v for k, v in totals.problems.items() if v}
    if claimed != problems:
        raise InputError(src, where, "problems", f"the totals claim {claimed} but the problem lines are "
                         f"{problems}; the manifest is damaged or edited")


def _encoding(path: Path) -> str:
    src = str(path)
    try:
        with path.open("rb") as fh:
            head = fh.read(4)
    except IsADirectoryError:
        raise InputError(src, None, None, "is a directory; give the manifest file") from None
    except OSError as exc:
        raise InputError(src, None, None, f"cannot open the manifest: {exc.strerror or exc}") from None
    if not head:
        raise InputError(src, None, None, "the manifest is empty")
    if sniff_encoding(head) == "utf-16":
        return "utf-16-be" if head.startswith(codecs.BOM_UTF16_BE) else "utf-16-le"
    return "utf-8"


def _lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of every line, decoded strictly, each at most MAX_LINE bytes."""
    src = str(path)
    try:
        raw = path.open("rb")
    except OSError as exc:
        raise InputError(src, None, None, f"cannot open the manifest: {exc.strerror or exc}") from exc
    with raw:
        if encoding != "utf-8":
            raw.read(2)  # the byte-order mark
            text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
            lineno = 0
            try:
                while line := text.readline(MAX_LINE + 1):
                    lineno += 1
                    _check_length(src, lineno, line)
                    yield lineno, line
            except UnicodeDecodeError:
                raise InputError(src, f"line {lineno + 1}", None, "the UTF-16 text is damaged; "
                                 "write the manifest again") from None
            return
        lineno = 0
        while data := raw.readline(MAX_LINE + 1):
            lineno += 1
            if lineno == 1 and data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8):]
            _check_length(src, lineno, data)
            try:
                yield lineno, data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(src, f"line {lineno}, byte {exc.start + 1}", None, NOT_UTF8) from None


def _check_length(src: str, lineno: int, line: str | bytes) -> None:
    if len(line) > MAX_LINE:
        raise InputError(src, f"line {lineno}", None, f"longer than {MAX_LINE // 1024} KiB; the manifest is damaged")


def _json_line(src: str, lineno: int | None, line: str) -> dict[str, Any]:
    where = f"line {lineno}" if lineno else "last line"
    try:
        doc = json.loads(line, parse_constant=_no_constant, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise InputError(src, where, None, f"not valid JSON ({exc.msg}); the manifest is damaged") from exc
    except (ValueError, RecursionError) as exc:
        raise InputError(src, where, None, f"not valid JSON ({exc}); the manifest is damaged") from None
    if not isinstance(doc, dict):
        raise InputError(src, where, None, "expected a JSON object")
    return doc


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object; a key given twice (which would silently keep the last) is damage."""
    doc: dict[str, Any] = {}
    for key, value in pairs:
        if key in doc:
            raise ValueError(f"the key {key[:40]!r} is given twice")
        doc[key] = value
    return doc


def _last_line(path: Path, encoding: str) -> str:
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        start = max(0, size - MAX_LINE)
        if encoding != "utf-8":
            start = max(2, start - start % 2)  # whole UTF-16 code units, after the byte-order mark
        fh.seek(start)
        tail = fh.read().decode(encoding, "replace").rstrip("\r\n")
    return tail.rsplit("\n", 1)[-1]
