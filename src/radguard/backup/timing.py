"""Recovery arithmetic: how long a full restore would take, and how much recent data is lost.

Restore time is projected from the read throughput measured while verifying: the whole
archive (the manifest's bytes) divided by what this machine read from the backup per second.
That is a floor, not an estimate of a real restore, which also writes, re-indexes and may be
throttled; docs/backup.md says so. The recovery point achieved is the gap between the newest
study in the source and the newest readable study in the backup.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class RestoreProjection:
    archive_bytes: int
    bytes_read: int
    elapsed_seconds: float
    throughput_bytes_per_s: float | None
    projected_hours: float | None
    rto_hours: float | None
    rto_source: str | None
    rto_met: bool | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def project_restore(archive_bytes: int, bytes_read: int, elapsed_seconds: float,
                    rto_hours: float | None, rto_source: str | None = None) -> RestoreProjection:
    """Full-restore hours = archive bytes / measured bytes per second / 3600."""
    throughput = bytes_read / elapsed_seconds if elapsed_seconds > 0 and bytes_read > 0 else None
    projected = archive_bytes / throughput / 3600 if throughput else None
    met = None if projected is None or rto_hours is None else projected <= rto_hours
    return RestoreProjection(archive_bytes, bytes_read, round(elapsed_seconds, 3),
                             round(throughput, 1) if throughput else None,
                             round(projected, 4) if projected is not None else None,
                             rto_hours, rto_source if rto_hours is not None else None, met)


@dataclass(frozen=True)
class RecoveryPoint:
    source_newest_study: str | None
    backup_newest_study: str | None
    lag_hours: float | None
    rpo_hours: float | None
    rpo_met: bool | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def recovery_point(source_newest: str | None, backup_newest: str | None,
                   rpo_hours: float | None = None) -> RecoveryPoint:
    """Hours of studies the backup lacks: newest source study minus newest backup study (≥ 0)."""
    lag = None
    if source_newest and backup_newest:
        delta = datetime.fromisoformat(source_newest) - datetime.fromisoformat(backup_newest)
        lag = round(max(delta.total_seconds(), 0.0) / 3600, 2)
    elif source_newest and not backup_newest:
        lag = None
    met = None if lag is None or rpo_hours is None else lag <= rpo_hours
    return RecoveryPoint(source_newest, backup_newest, lag, rpo_hours, met)
