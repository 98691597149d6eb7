"""Match what the manifest expects with what the backup holds, by SOP Instance UID.

Layouts differ between an archive and its backup, so instances are matched by UID, not path.
Damaged files often have no readable UID any more (an encrypted or emptied file); those are
attributed through their path key when the backup keeps the archive's layout, and otherwise
reported on their own. Every manifest instance gets exactly one status, and so does every
backup file that is not one of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from radguard.backup.state import ScanState
from radguard.errors import InputError

# In the order they are shown. Signs of an attack come first: a ransom note is the strongest sign
# that the copy is compromised, and a polyglot carries an executable (CVE-2019-11687).
# "unreadable" is radguard's own: a file it could not check.
STATUSES = ("ransom_note", "polyglot", "ok", "missing", "extra", "altered", "corrupt", "encrypted", "empty",
            "unreadable")
# File kinds (see radguard.backup.inspect.KINDS) that are problems in themselves.
PROBLEM_KINDS = ("ransom_note", "polyglot", "corrupt", "encrypted", "empty", "unreadable")
# At most this many distinct ransom-note names are listed (the count covers every file).
NOTE_NAMES = 50


def _rank(column: str) -> str:
    """SQL that sorts ``column`` (a status or kind) in the order of STATUSES."""
    return "CASE " + column + " " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STATUSES)) + " END"


_OUTCOME = """
DROP TABLE IF EXISTS outcome;
CREATE TEMP TABLE outcome (sop TEXT PRIMARY KEY, status TEXT NOT NULL, reason TEXT NOT NULL, file_key TEXT);
INSERT INTO outcome SELECT m.sop, 'ok', '', min(f.key)
  FROM manifest m JOIN files f ON f.sop = m.sop AND f.kind = 'dicom' AND f.sha256 = m.sha256 GROUP BY m.sop;
INSERT OR IGNORE INTO outcome SELECT m.sop, 'polyglot', min(f.reason), min(f.key)
  FROM manifest m JOIN files f ON f.sop = m.sop AND f.kind = 'polyglot' GROUP BY m.sop;
INSERT OR IGNORE INTO outcome SELECT m.sop, 'altered', 'content hash differs from the manifest', min(f.key)
  FROM manifest m JOIN files f ON f.sop = m.sop AND f.kind = 'dicom' GROUP BY m.sop;
INSERT OR IGNORE INTO outcome SELECT m.sop, 'corrupt', min(f.reason), min(f.key)
  FROM manifest m JOIN files f ON f.sop = m.sop AND f.kind = 'corrupt' GROUP BY m.sop;
INSERT OR IGNORE INTO outcome SELECT m.sop, min(f.kind), min(f.reason), min(f.key)
  FROM manifest m JOIN files f ON f.base = m.key AND f.kind IN ('encrypted', 'empty', 'corrupt', 'unreadable')
  GROUP BY m.sop;
INSERT OR IGNORE INTO outcome SELECT m.sop, 'missing', 'not found in the backup', NULL FROM manifest m;
CREATE INDEX ix_outcome_file ON outcome(file_key);
CREATE INDEX ix_outcome_status ON outcome(status);
"""

# Backup files that are not the chosen copy of a manifest instance.
_UNATTRIBUTED = """
SELECT f.key, f.kind, f.reason, f.sop, f.study, f.series, f.sop_class, f.size, f.path, f.name,
       EXISTS (SELECT 1 FROM manifest m WHERE m.sop = f.sop AND f.sop != '') AS known FROM files f
 WHERE f.kind IN ('dicom', 'ransom_note', 'polyglot', 'corrupt', 'encrypted', 'empty', 'unreadable')
   AND NOT EXISTS (SELECT 1 FROM outcome o WHERE o.file_key = f.key)
"""
_ATTACK = "('ransom_note', 'polyglot')"


def reconcile(state: ScanState) -> None:
    """Build the outcome table; call once the scan is complete."""
    state.conn.executescript(_OUTCOME)


def counts(state: ScanState) -> dict[str, int]:
    result = dict.fromkeys(STATUSES, 0)
    for status, n in state.conn.execute("SELECT status, count(*) FROM outcome GROUP BY status"):
        result[status] += int(n)
    for row in state.conn.execute(_UNATTRIBUTED):
        status = _unattributed_status(row[1], bool(row[10]))
        if status:
            result[status] += 1
    return result


def _unattributed_status(kind: str, known: bool) -> str | None:
    if kind != "dicom":
        return kind
    return None if known else "extra"  # a second good copy of a known instance is not a problem


def ransom_notes(state: ScanState) -> list[dict[str, Any]]:
    """The ransom notes found, by file name (the most copies first), for the head of every summary."""
    return [{"name": name, "files": int(n)} for name, n in state.conn.execute(
        "SELECT name, count(*) AS n FROM files WHERE kind = 'ransom_note' GROUP BY name "
        "ORDER BY n DESC, name LIMIT ?", (NOTE_NAMES,))]


def items(state: ScanState, with_paths: bool) -> Iterator[dict[str, Any]]:
    """Everything that is not ok, in the order of STATUSES: ransom notes and polyglots first."""
    yield from _unattributed_items(state, with_paths, f"f.kind IN {_ATTACK}")
    for sop, status, reason, study, series, sop_class, size, path in state.conn.execute(
        "SELECT o.sop, o.status, o.reason, m.study, m.series, m.sop_class, m.size, f.path FROM outcome o "
        "JOIN manifest m ON m.sop = o.sop LEFT JOIN files f ON f.key = o.file_key "
        f"WHERE o.status != 'ok' ORDER BY {_rank('o.status')}, o.sop"
    ):
        item: dict[str, Any] = {"status": status, "sop": sop, "study": study, "series": series,
                                "sop_class": sop_class, "expected_size": size, "reason": reason}
        if with_paths:
            item["path"] = path
        yield item
    yield from _unattributed_items(state, with_paths, f"f.kind NOT IN {_ATTACK}")


def _unattributed_items(state: ScanState, with_paths: bool, where: str) -> Iterator[dict[str, Any]]:
    for key, kind, reason, sop, study, series, sop_class, size, path, name, known in state.conn.execute(
        f"{_UNATTRIBUTED} AND {where} ORDER BY {_rank('f.kind')}, f.key"
    ):
        status = _unattributed_status(kind, bool(known))
        if status is None:
            continue
        item: dict[str, Any] = {"status": status}
        if status == "ransom_note":
            item["name"] = name  # the note's name is the attacker's, not patient data
        item.update({"sop": sop or None, "study": study or None, "series": series or None,
                     "sop_class": sop_class or None, "size": size, "file_key": key,
                     "reason": reason or ("not in the manifest" if status == "extra" else "")})
        if with_paths:
            item["path"] = path
        yield item


def load_manifest_records(state: ScanState, records: Iterator[tuple[int, dict[str, Any]]], source: str) -> None:
    """Copy the manifest's instances into the side file in batches (streaming), all or nothing.

    ``records`` is :func:`radguard.backup.manifest.read_manifest`'s reader, which checks every
    line and, at the end, the totals against the lines. A SOP Instance UID listed twice is an
    error naming both lines (``source`` names the manifest).
    """
    batch: list[tuple[Any, ...]] = []
    with state.transaction() as conn:
        conn.execute("DELETE FROM manifest")
        for lineno, doc in records:
            if doc.get("type") != "instance":
                continue
            batch.append((doc["sop"], doc["key"], doc["size"], doc["sha256"], doc.get("study", ""),
                          doc.get("series", ""), doc.get("class", ""), lineno))
            if len(batch) >= 5000:
                _insert_manifest(conn, batch, source)
                batch = []
        if batch:
            _insert_manifest(conn, batch, source)
        state.put("manifest_loaded", 1)


def _insert_manifest(conn: Any, batch: list[tuple[Any, ...]], source: str) -> None:
    cur = conn.executemany("INSERT OR IGNORE INTO manifest VALUES (?,?,?,?,?,?,?,?)", batch)
    if cur.rowcount == len(batch):
        return
    for row in batch:  # find the duplicate to name it
        first = conn.execute("SELECT line FROM manifest WHERE sop = ?", (row[0],)).fetchone()
        if first and first[0] != row[7]:
            raise InputError(source, f"line {row[7]}", "sop",
                             f"SOP Instance UID already listed on line {first[0]}; the manifest is damaged")
