"""FIRST's EPSS scores: import the daily CSV (from a file or a URL) and read scores per CVE.

The file FIRST publishes (``epss_scores-current.csv.gz`` or its uncompressed CSV) starts with a
comment line ``#model_version:v2023.03.01,score_date:2023-03-20T00:00:00+0000`` followed by the
header ``cve,epss,percentile``. Each import replaces the stored scores whole, in one transaction,
so the table is always one day's scores with one date; a file with a bad row changes nothing.
The score date is kept so every view can show how fresh the probability is.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from radguard.db.base import utcnow
from radguard.db.models.integrations import EpssScore
from radguard.errors import InputError
from radguard.textfiles import decode_text, limits, read_bytes, read_csv

ENV_EPSS_URL = "RADGUARD_EPSS_URL"
EPSS_URL = "https://epss.cyentia.com/epss_scores-current.csv.gz"
_CVE = re.compile(r"^CVE-\d{4}-\d{4,}$")
_DATE = re.compile(r"score_date:(\d{4}-\d{2}-\d{2})")
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class Epss:
    """One CVE's EPSS probability and percentile (both 0–1) and the day FIRST scored it."""

    cve_id: str
    epss: float
    percentile: float
    score_date: date

    def as_json(self) -> dict[str, object]:
        return {"epss": self.epss, "percentile": self.percentile, "score_date": self.score_date.isoformat()}


def _gunzip(data: bytes, source: str) -> bytes:
    """Decompress at most the stream limit: a gzip bomb is refused, not expanded."""
    cap = limits().stream_bytes
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(data, cap + 1)
    except zlib.error:
        raise InputError(source, None, None, "the gzip data is damaged") from None
    if len(out) > cap:
        raise InputError(source, None, None, f"uncompressed, the file is more than the {cap:,} bytes radguard reads")
    return out


def parse_epss(data: bytes, source: str) -> list[Epss]:
    """Every row of an EPSS CSV (gzip or plain); an InputError names the row of any bad value.

    :param data: the file's bytes.
    :param source: the file name or URL, for errors.
    """
    if data.startswith(_GZIP_MAGIC):
        data = _gunzip(data, source)
    text = decode_text(data, source)
    lines = text.splitlines(keepends=True)
    if not lines or not lines[0].startswith("#"):
        raise InputError(source, "line 1", None, "no '#model_version:…,score_date:…' line: not FIRST's EPSS CSV")
    found = _DATE.search(lines[0])
    if found is None:
        raise InputError(source, "line 1", None, "the first line names no score_date")
    try:
        day = date.fromisoformat(found[1])
    except ValueError:
        raise InputError(source, "line 1", "score_date", f"{found[1]!r} is not a date") from None
    table = read_csv(lines[1:], source)
    if [h.lower() for h in table.header] != ["cve", "epss", "percentile"]:
        raise InputError(source, "line 2", None, f"the header is {','.join(table.header)}, not cve,epss,percentile")
    out: list[Epss] = []
    for row in table.rows:
        where = f"row {row.number} (line {row.line + 1})"
        cve = row.cells[table.header[0]].strip().upper()
        if not _CVE.match(cve):
            raise InputError(source, where, "cve", f"{cve[:40]!r} is not a CVE ID")
        values: list[float] = []
        for name in table.header[1:]:
            try:
                value = float(row.cells[name])
            except ValueError:
                raise InputError(source, where, name, f"{row.cells[name][:40]!r} is not a number") from None
            if not 0.0 <= value <= 1.0:
                raise InputError(source, where, name, f"{value} is not between 0 and 1")
            values.append(value)
        out.append(Epss(cve, values[0], values[1], day))
    if not out:
        raise InputError(source, None, None, "the file holds no scores")
    return out


def read_epss_file(path: Path) -> list[Epss]:
    """Parse an EPSS CSV file (plain or ``.gz``)."""
    return parse_epss(read_bytes(path, limits().stream_bytes), str(path))


def download_epss(url: str | None = None, timeout: float = 60.0) -> list[Epss]:
    """Download and parse the EPSS CSV from ``url`` (default ``$RADGUARD_EPSS_URL`` or FIRST's).

    :param url: where to download from.
    :param timeout: seconds for the whole download.
    """
    import httpx

    from radguard.feeds.update import _get

    url = url or os.environ.get(ENV_EPSS_URL, EPSS_URL)
    with httpx.Client(timeout=timeout, follow_redirects=True) as client:
        data = _get(client, url)
    return parse_epss(data, url)


def store_epss(session: Session, scores: list[Epss]) -> dict[str, object]:
    """Replace the stored scores with ``scores`` (inside the caller's transaction)."""
    session.execute(delete(EpssScore))
    now = utcnow()
    seen: dict[str, Epss] = {}
    for score in scores:
        seen[score.cve_id] = score
    session.add_all(EpssScore(cve_id=s.cve_id, epss=s.epss, percentile=s.percentile, score_date=s.score_date,
                              imported_at=now) for s in seen.values())
    session.flush()
    days = sorted({s.score_date for s in seen.values()})
    return {"cves": len(seen), "score_date": days[-1].isoformat() if days else None}


def lookup(session: Session, cve_ids: list[str] | set[str]) -> dict[str, Epss]:
    """The stored score of each of these CVEs that has one."""
    wanted = sorted(set(cve_ids))
    out: dict[str, Epss] = {}
    for start in range(0, len(wanted), 500):
        for row in session.scalars(select(EpssScore).where(EpssScore.cve_id.in_(wanted[start:start + 500]))):
            out[row.cve_id] = Epss(row.cve_id, row.epss, row.percentile, row.score_date)
    return out


def compress(text: str) -> bytes:
    """gzip ``text`` as FIRST serves it (for tests and for re-publishing a file offline)."""
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0) as fh:
        fh.write(text.encode())
    return buf.getvalue()
