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

from radguard.backup.manifest import ManifestTotals
from radguard.backup.state import ScanState

# In the order they are shown; "unreadable" is radguard's own: a file it could not check.
STATUSES = ("ok", "missing", "extra", "altered", "corrupt", "encrypted", "empty", "unreadable")

_OUTCOME = """
DROP TABLE IF EXISTS outcome;
CREATE TEMP TABLE outcome (sop TEXT PRIMARY KEY, status TEXT NOT NULL, reason TEXT NOT NULL, file_key TEXT);
INSERT INTO outcome SELECT m.sop, 'ok', '', min(f.key)
  FROM manifest m JOIN files f ON f.sop = m.sop AND f.kind = 'dicom' AND f.sha256 = m.sha256 GROUP BY m.sop;
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
SELECT f.key, f.kind, f.reason, f.sop, f.study, f.series, f.sop_class, f.size, f.path,
       EXISTS (SELECT 1 FROM manifest m WHERE m.sop = f.sop AND f.sop != '') AS known FROM files f
 WHERE f.kind IN ('dicom', 'corrupt', 'encrypted', 'empty', 'unreadable')
   AND NOT EXISTS (SELECT 1 FROM outcome o WHERE o.file_key = f.key)
"""


def reconcile(state: ScanState) -> None:
    """Build the outcome table; call once the scan is complete."""
    state.conn.executescript(_OUTCOME)


def counts(state: ScanState) -> dict[str, int]:
    result = dict.fromkeys(STATUSES, 0)
    for status, n in state.conn.execute("SELECT status, count(*) FROM outcome GROUP BY status"):
        result[status] += int(n)
    for row in state.conn.execute(_UNATTRIBUTED):
        status = _unattributed_status(row[1], bool(row[9]))
        if status:
            result[status] += 1
    return result


def _unattributed_status(kind: str, known: bool) -> str | None:
    if kind != "dicom":
        return kind
    return None if known else "extra"  # a second good copy of a known instance is not a problem


def items(state: ScanState, with_paths: bool) -> Iterator[dict[str, Any]]:
    """Everything that is not ok, instance statuses first, then unattributed backup files."""
    for sop, status, reason, study, series, sop_class, size, path in state.conn.execute(
        "SELECT o.sop, o.status, o.reason, m.study, m.series, m.sop_class, m.size, f.path FROM outcome o "
        "JOIN manifest m ON m.sop = o.sop LEFT JOIN files f ON f.key = o.file_key "
        "WHERE o.status != 'ok' ORDER BY o.status, o.sop"
    ):
        item: dict[str, Any] = {"status": status, "sop": sop, "study": study, "series": series,
                                "sop_class": sop_class, "expected_size": size, "reason": reason}
        if with_paths:
            item["path"] = path
        yield item
    for key, kind, reason, sop, study, series, sop_class, size, path, known in state.conn.execute(
        _UNATTRIBUTED + " ORDER BY f.kind, f.key"
    ):
        status = _unattributed_status(kind, bool(known))
        if status is None:
            continue
        item = {"status": status, "sop": sop or None, "study": study or None, "series": series or None,
                "sop_class": sop_class or None, "size": size, "file_key": key,
                "reason": reason or ("not in the manifest" if status == "extra" else "")}
        if with_paths:
            item["path"] = path
        yield item


def load_manifest_records(state: ScanState, records: Iterator[dict[str, Any]], totals: ManifestTotals) -> None:
    """Copy the manifest's instances into the side file in batches (streaming)."""
    batch: list[tuple[Any, ...]] = []
    with state.transaction() as conn:
        conn.execute("DELETE FROM manifest")
        for doc in records:
            if doc.get("type") != "instance":
                continue
            batch.append((doc["sop"], doc["key"], doc["size"], doc["sha256"], doc.get("study", ""),
                          doc.get("series", ""), doc.get("class", "")))
            if len(batch) >= 5000:
                conn.executemany("INSERT OR IGNORE INTO manifest VALUES (?,?,?,?,?,?,?)", batch)
                batch = []
        if batch:
            conn.executemany("INSERT OR IGNORE INTO manifest VALUES (?,?,?,?,?,?,?)", batch)
        state.put("manifest_loaded", 1)
