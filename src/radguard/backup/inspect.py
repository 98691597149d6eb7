"""Look at one file: read it once, hash it, check its DICOM structure, classify it.

This runs in worker processes, so it takes and returns plain, picklable values. A hostile or
damaged file never raises out of here: whatever happens becomes the file's kind and reason.
"""

from __future__ import annotations

import hashlib
import io
import mmap
import os
import struct
from dataclasses import dataclass

from radguard.backup.dicomwalk import DicomStructureError, has_dicom_magic, walk
from radguard.backup.indicators import load_indicators, shannon_entropy

# Files up to this size are read into memory in one call; bigger ones are memory-mapped and
# hashed in CHUNK slices, so a worker never holds more than this per file.
READ_WHOLE_LIMIT = 16 * 1024 * 1024
CHUNK = 8 * 1024 * 1024
ENTROPY_SAMPLE = 4096

# What a file turned out to be. "dicom" and "dicomdir" are sound; the rest are problems.
# "ransom_note" and "polyglot" (an executable in the preamble) are signs of an attack, not damage.
KINDS = ("dicom", "dicomdir", "ransom_note", "polyglot", "corrupt", "encrypted", "empty", "unreadable")
NOTE_TEXT_SAMPLE = 65536


def path_key(rel: str) -> str:
    """A stable key for a relative path that does not reveal it.

    Archives often name folders after patients; radguard stores this key, never the path.
    """
    return hashlib.sha256(rel.encode("utf-8", "surrogateescape")).hexdigest()[:32]


def base_key(rel: str) -> str:
    """The key of the path a ransomware-renamed file had before (``a/b.dcm.locked`` → ``a/b.dcm``)."""
    name = rel.rsplit("/", 1)[-1]
    ext = load_indicators().ransomware_extension(name)
    return path_key(rel[: -len(ext)] if ext else rel)


@dataclass(slots=True)
class FileResult:
    rel: str
    key: str
    base: str
    size: int
    kind: str
    reason: str = ""
    sop: str = ""
    study: str = ""
    series: str = ""
    sop_class: str = ""
    ts: str = ""
    sha256: str = ""
    # "YYYYMMDDHHMMSS" of the study, used only to keep the newest as an aggregate; never stored.
    study_dt: str = ""
    bytes_read: int = 0
    # The file name, kept only for ransom notes: the attacker wrote it, it names no patient, and
    # it is what a person searches for on the other copies.
    name: str = ""


def _open_noatime(path: str) -> int:
    """Open read-only without updating the access time where the OS allows it."""
    flags = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
    noatime = getattr(os, "O_NOATIME", 0)
    if noatime:
        try:
            return os.open(path, flags | noatime)
        except PermissionError:
            pass
    return os.open(path, flags)


def _study_dt(date: str, time: str) -> str:
    digits = "".join(ch for ch in date if ch.isdigit())
    if len(digits) != 8:
        return ""
    tdigits = "".join(ch for ch in time.split(".")[0] if ch.isdigit())[:6]
    return digits + tdigits.ljust(6, "0")


def _deep_parse(data: bytes | mmap.mmap) -> str:
    """pydicom's full read as a second opinion (``--deep``); returns an error or ''."""
    import pydicom

    try:
        ds = pydicom.dcmread(io.BytesIO(bytes(data)), force=False)
        for elem in ds.iterall():
            _ = elem.value
    except Exception as exc:
        return f"pydicom cannot read it: {type(exc).__name__}: {exc}"[:300]
    return ""


def printable_name(name: str) -> str:
    """A file name as text that can be stored and shown: undecodable bytes and control characters as '?'."""
    text = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return "".join(ch if ch.isprintable() else "?" for ch in text)[:255]


def _ransom_note(result: FileResult, name: str, reason: str) -> None:
    result.kind, result.reason, result.name = "ransom_note", reason, printable_name(name)


def _classify_non_dicom(result: FileResult, head: bytes, name: str, reason: str) -> None:
    """A file without DICOM structure: a ransom note, encrypted, or plain damage (in that order)."""
    ind = load_indicators()
    if ind.is_ransom_note(name):
        _ransom_note(result, name, "ransom note (a known ransom-note name)")
        return
    ext = ind.ransomware_extension(name)
    if ext:
        result.kind, result.reason = "encrypted", f"ransomware extension {ext}"
        return
    groups = ind.note_by_text(name, head)
    if groups:
        # The group names only: never the file's words, which may quote stolen data.
        _ransom_note(result, name, f"ransom note (its text is about {', '.join(groups)})")
        return
    entropy = shannon_entropy(head[:ENTROPY_SAMPLE])
    if entropy >= ind.entropy_threshold:
        result.kind = "encrypted"
        result.reason = f"no DICOM structure and {entropy:.2f} bits/byte of entropy (encrypted data)"
    else:
        result.kind, result.reason = "corrupt", reason


def inspect_file(root: str, rel: str, deep: bool = False) -> FileResult:
    """Classify ``root/rel``. Never raises for anything the file itself can do."""
    name = rel.rsplit("/", 1)[-1]
    result = FileResult(rel=rel, key=path_key(rel), base=base_key(rel), size=0, kind="unreadable")
    path = os.path.join(root, rel)
    try:
        fd = _open_noatime(path)
    except OSError as exc:
        result.reason = f"cannot open: {exc.strerror or exc}"
        return result
    try:
        size = os.fstat(fd).st_size
        result.size = size
        if size == 0:
            result.kind, result.reason = "empty", "zero bytes"
            if load_indicators().is_ransom_note(name):
                _ransom_note(result, name, "ransom note (a known ransom-note name; empty)")
            return result
        data: bytes | mmap.mmap
        digest = hashlib.sha256()
        if size <= READ_WHOLE_LIMIT:
            with os.fdopen(os.dup(fd), "rb", buffering=0) as fh:
                data = fh.read()
            digest.update(data)
        else:
            data = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
            view = memoryview(data)
            try:
                for offset in range(0, len(data), CHUNK):
                    digest.update(view[offset:offset + CHUNK])
            finally:
                view.release()
        result.bytes_read = len(data)
        result.sha256 = digest.hexdigest()
        try:
            _classify(result, data, name, deep)
        finally:
            if isinstance(data, mmap.mmap):
                data.close()
    except OSError as exc:
        result.kind, result.reason = "unreadable", f"read error: {exc.strerror or exc}"
    finally:
        os.close(fd)
    return result


def _classify(result: FileResult, data: bytes | mmap.mmap, name: str, deep: bool) -> None:
    if not has_dicom_magic(data):
        _classify_non_dicom(result, bytes(data[:NOTE_TEXT_SAMPLE]), name, "no DICOM preamble ('DICM' at byte 128)")
        return
    executable = load_indicators().preamble_executable(bytes(data[:128]))
    try:
        summary = walk(data)
    except DicomStructureError as exc:
        result.kind, result.reason = "corrupt", str(exc)
        _salvage_uid(result, data)
        _polyglot(result, executable)
        return
    except (IndexError, ValueError, OverflowError, MemoryError, struct.error) as exc:  # defensive: hostile data
        result.kind, result.reason = "corrupt", f"unparseable structure: {type(exc).__name__}"
        _polyglot(result, executable)
        return
    result.sop, result.study, result.series = summary.sop_instance, summary.study, summary.series
    result.sop_class, result.ts = summary.sop_class, summary.transfer_syntax
    result.study_dt = _study_dt(summary.study_date, summary.study_time)
    result.kind = "dicomdir" if summary.is_dicomdir else "dicom"
    if deep and not summary.is_dicomdir:
        problem = _deep_parse(data)
        if problem:
            result.kind, result.reason = "corrupt", problem
    _polyglot(result, executable)


def _polyglot(result: FileResult, executable: str | None) -> None:
    """An executable in the preamble outranks any damage: the file is a way to run code (CVE-2019-11687)."""
    if executable:
        result.kind = "polyglot"
        result.reason = f"{executable} in the 128-byte preamble (CVE-2019-11687)"


def _salvage_uid(result: FileResult, data: bytes | mmap.mmap) -> None:
    """For a damaged file, the SOP Instance UID from the meta header, so it can be attributed."""
    from radguard.backup.dicomwalk import UID_RE, meta_values

    try:
        uid = meta_values(data).get("media_instance", "")
    except DicomStructureError:
        return
    if uid and len(uid) <= 64 and UID_RE.match(uid):
        result.sop = uid
