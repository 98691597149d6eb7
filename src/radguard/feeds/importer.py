"""Reading feed files: which feed each file is, and its parsed records.

:func:`read_feeds` parses every file before anything is written; a malformed file raises an
:class:`~radguard.errors.InputError` naming the file and the JSON path, and the database is
never touched. :func:`radguard.feeds.store.store_feeds` then writes the lot in one transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from radguard.errors import InputError
from radguard.feeds.csaf import is_csaf, parse_csaf
from radguard.feeds.kev import is_kev, parse_kev
from radguard.feeds.nvd import is_nvd, parse_nvd
from radguard.feeds.records import ParsedFeed
from radguard.textfiles import decode_text, parse_json, read_bytes


def collect_files(paths: Iterable[Path]) -> list[Path]:
    """Files named directly, and every ``*.json`` under named directories, in a stable order."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.json") if p.is_file()))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(str(path), None, None, "no such file or directory")
    return files


def parse_document(doc: Any, name: str, sha256: str) -> ParsedFeed:
    """Recognise a decoded feed document and parse it."""
    if is_csaf(doc):
        adv = parse_csaf(doc, name, sha256)
        return ParsedFeed("csaf", name, sha256, adv.revision, adv.updated_at or adv.released_at, advisories=[adv])
    if is_kev(doc):
        return parse_kev(doc, name, sha256)
    if is_nvd(doc):
        return parse_nvd(doc, name, sha256)
    raise InputError(name, "$", None, "is not a CISA KEV catalog, a CSAF 2.0 advisory or an NVD CVE API 2.0 page")


def parse_bytes(data: bytes, name: str) -> ParsedFeed:
    sha256 = hashlib.sha256(data).hexdigest()
    return parse_document(parse_json(decode_text(data, name), name), name, sha256)


def read_feeds(files: list[Path], progress: Callable[[Path], None] | None = None) -> list[ParsedFeed]:
    """Parse every file; raise on the first malformed one (nothing has been written yet)."""
    feeds: list[ParsedFeed] = []
    for path in files:
        data = read_bytes(path)  # size-bounded; a missing, unreadable or empty file is an InputError
        feeds.append(parse_bytes(data, str(path)))
        if progress:
            progress(path)
    return feeds
