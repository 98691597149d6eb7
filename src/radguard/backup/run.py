"""The two jobs behind the commands: build a manifest, and verify a backup against one.

Both keep their progress in a side file (:mod:`radguard.backup.state`) under the user's cache
directory, keyed by what is being compared, so running the same command again after Ctrl-C
or ``kill`` resumes where it stopped. The side file is removed once the result is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from platformdirs import user_cache_dir

from radguard.backup.manifest import (
    ManifestHeader,
    ManifestTotals,
    check_output,
    newest_plausible,
    read_manifest,
    write_manifest,
)
from radguard.backup.reconcile import counts, items, load_manifest_records, ransom_notes, reconcile
from radguard.backup.scan import ScanOptions, scan
from radguard.backup.state import SCHEMA_VERSION, ScanState
from radguard.backup.timing import (
    RecoveryPoint,
    RestoreProjection,
    RtoVerdict,
    check_hours,
    project_restore,
    recovery_point,
)
from radguard.errors import InputError

Progress = Callable[[int, int], None]


def state_dir() -> Path:
    return Path(user_cache_dir("radguard", appauthor=False)) / "backup-runs"


def state_path(job: str, *parts: str, directory: Path | None = None) -> Path:
    """A side file per (job, inputs); the same command finds the same file again."""
    digest = hashlib.sha256("\0".join([job, f"schema{SCHEMA_VERSION}", *parts])
                            .encode("utf-8", "surrogateescape")).hexdigest()[:24]
    return (directory or state_dir()) / f"{job}-{digest}.radguard-state.sqlite"


def _open_state(path: Path, restart: bool) -> tuple[ScanState, bool]:
    resumed = path.exists() and not restart
    if restart:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    return ScanState(path), resumed


@dataclass
class ManifestResult:
    totals: ManifestTotals
    resumed_from: int
    # ScanState.throughput(): files, bytes, seconds, mb_per_s, files_per_s.
    throughput: dict[str, Any] = field(default_factory=dict)


def build_manifest(source: Path, out: Path, options: ScanOptions, *, restart: bool = False,
                   progress: Progress | None = None, state_directory: Path | None = None) -> ManifestResult:
    check_output(out)  # before hashing a whole store for nothing
    path = state_path("manifest", str(source.resolve()), str(out.resolve()), options.algorithm,
                      directory=state_directory)
    state, resumed = _open_state(path, restart)
    try:
        already = state.count_files() if resumed else 0
        scan(source, state, options, progress)
        totals = write_manifest(state, source.resolve(), out, options.algorithm)
        rate = state.throughput()
    except BaseException:
        state.close()
        raise
    state.discard()
    return ManifestResult(totals, already, rate)


@dataclass
class VerifyReport:
    backup: str
    manifest: str
    manifest_created: str
    started: datetime
    finished: datetime
    resumed_from: int
    counts: dict[str, int]
    expected_instances: int
    files_checked: int
    restore: RestoreProjection
    rpo: RecoveryPoint
    not_checked: dict[str, Any]
    source_problems: dict[str, int]
    ransom_notes: list[dict[str, Any]]
    items: Iterator[dict[str, Any]] = field(repr=False)
    throughput: dict[str, Any] = field(default_factory=dict)
    hash: str = "blake3"

    @property
    def all_ok(self) -> bool:
        return all(n == 0 for status, n in self.counts.items() if status != "ok")

    @property
    def rto(self) -> RtoVerdict | None:
        """Whether a restore from this copy meets the RTO (never when the copy is incomplete)."""
        return self.restore.verdict(self.counts)

    def summary(self) -> dict[str, Any]:
        # Ransom notes first: the strongest sign that the copy is compromised.
        return {
            "ransom_notes": self.ransom_notes,
            "backup": self.backup, "manifest": self.manifest, "manifest_created": self.manifest_created,
            "started": self.started.isoformat(timespec="seconds"),
            "finished": self.finished.isoformat(timespec="seconds"),
            "resumed_from_files": self.resumed_from, "all_ok": self.all_ok,
            "expected_instances": self.expected_instances, "files_checked": self.files_checked,
            "counts": self.counts, "restore": self.restore.as_dict(), "rpo": self.rpo.as_dict(),
            "not_checked": self.not_checked, "source_problems": self.source_problems,
            "hash": self.hash, "throughput": self.throughput,
        }


@dataclass
class VerifyRun:
    """An open verification: its report streams items from the side file until closed."""

    report: VerifyReport
    state: ScanState

    def close(self) -> None:
        self.state.discard()


def verify_backup(backup: Path, manifest: Path, options: ScanOptions, *, rto_hours: float | None = None,
                  rto_source: str | None = None, rpo_hours: float | None = None, restart: bool = False,
                  progress: Progress | None = None, state_directory: Path | None = None) -> VerifyRun:
    """Scan ``backup`` and reconcile it with ``manifest``. Close the returned run when done.

    ``rto_hours`` and ``rpo_hours`` must be finite and greater than zero (an InputError otherwise).
    """
    rto_hours = check_hours("--rto", rto_hours)
    rpo_hours = check_hours("--rpo", rpo_hours)
    header, records, totals = read_manifest(manifest)
    options = replace(options, algorithm=header.hash)  # the backup is hashed the way the manifest was
    stat = manifest.stat()
    key_parts = (str(backup.resolve()), str(manifest.resolve()), str(stat.st_size), str(stat.st_mtime_ns))
    state, resumed = _open_state(state_path("verify", *key_parts, directory=state_directory), restart)
    try:
        started = datetime.fromisoformat(state.get("started")) if resumed and state.get("started") else None
        if started is None:
            started = datetime.now(UTC)
            state.put("started", started.isoformat())
        already = state.count_files() if resumed else 0
        if not state.get("manifest_loaded"):
            load_manifest_records(state, records, str(manifest))
        scan(backup, state, options, progress)
        reconcile(state)
        report = _report(backup, manifest, header, totals, state, started, already, rto_hours, rto_source, rpo_hours,
                         options.keep_paths)
    except InputError:
        state.discard()  # a bad manifest or folder: nothing worth resuming
        raise
    except BaseException:
        state.close()
        raise
    return VerifyRun(report, state)


def _report(backup: Path, manifest: Path, header: ManifestHeader, totals: ManifestTotals, state: ScanState,
            started: datetime, already: int, rto_hours: float | None, rto_source: str | None,
            rpo_hours: float | None, with_paths: bool) -> VerifyReport:
    status_counts = counts(state)
    restore = project_restore(totals.bytes, int(state.number("bytes_read")), state.number("elapsed"),
                              rto_hours, rto_source, counts=status_counts)
    backup_newest = newest_plausible(state.get("newest_study"), datetime.now(UTC))
    rpo = recovery_point(totals.newest_study, backup_newest, rpo_hours)
    bad_dirs = list(state.bad_dirs())
    not_checked: dict[str, Any] = {
        "directories": len(bad_dirs),
        "files": status_counts.get("unreadable", 0),
        "directory_reasons": sorted({reason for _k, reason, _p in bad_dirs}),
    }
    if with_paths:
        not_checked["directory_paths"] = [p for _k, _r, p in bad_dirs if p]
    return VerifyReport(
        backup=str(backup.resolve()), manifest=str(manifest.resolve()), manifest_created=header.created,
        started=started, finished=datetime.now(UTC), resumed_from=already, counts=status_counts,
        expected_instances=totals.instances, files_checked=state.count_files(), restore=restore, rpo=rpo,
        not_checked=not_checked, source_problems=totals.problems, ransom_notes=ransom_notes(state),
        items=items(state, with_paths), throughput=state.throughput(), hash=header.hash,
    )


def verification_fields(report: VerifyReport) -> dict[str, Any]:
    """What a stored verification keeps of ``report``, as JSON (a sensor sends this to central).

    Counts, sizes and times only: never a file path or an item, so nothing from a patient's
    folder names travels or is stored.
    """
    return {
        "started_at": report.started.isoformat(), "finished_at": report.finished.isoformat(),
        "complete": report.not_checked["directories"] == 0 and report.not_checked["files"] == 0,
        "expected_instances": report.expected_instances, "files_checked": report.files_checked,
        "counts": dict(report.counts), "ransom_notes": list(report.ransom_notes),
        "not_checked": {k: v for k, v in report.not_checked.items() if k != "directory_paths"},
        "bytes_read": report.restore.bytes_read, "elapsed_seconds": report.restore.elapsed_seconds,
        "throughput_bytes_per_s": report.restore.throughput_bytes_per_s,
        "archive_bytes": report.restore.archive_bytes, "projected_restore_hours": report.restore.projected_hours,
        "rto_hours": report.restore.rto_hours, "rto_met": report.restore.rto_met,
        "rpo_achieved_hours": report.rpo.lag_hours, "rpo_hours": report.rpo.rpo_hours, "all_ok": report.all_ok,
    }
