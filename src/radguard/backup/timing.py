"""Recovery arithmetic: how long a full restore would take, and how much recent data is lost.

Restore time is projected from the read throughput measured while verifying: the whole
archive (the manifest's bytes) divided by what this machine read from the backup per second.
That is a floor, not an estimate of a real restore, which also writes, re-indexes and may be
throttled; docs/backup.md says so. The recovery point achieved is the gap between the newest
study in the source and the newest readable study in the backup.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from radguard.backup.reconcile import STATUSES
from radguard.errors import InputError

# Statuses that make a copy incomplete: a restore from it does not bring everything back (or
# brings back an attacker's files), so it cannot meet an RTO however fast it reads. "extra" files
# do not take anything away.
INCOMPLETE = tuple(s for s in STATUSES if s not in ("ok", "extra"))
RTO_STATES = ("met", "missed", "incomplete", "unknown")


def check_hours(option: str, value: float | None) -> float | None:
    """An RTO or RPO as given: None, or a finite number of hours greater than zero."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InputError(option, None, None, f"must be a number of hours greater than 0 (got {value!r})")
    return float(value)


@dataclass(frozen=True)
class RtoVerdict:
    """Whether a restore from a verified copy meets the RTO: the one answer every summary shows.

    Every place that says "RTO met" (the CLI, the stored run, reports, web pages, the API, the
    demo) asks :func:`rto_verdict`, so an incomplete copy is never called "met" anywhere.
    """

    state: str  # one of RTO_STATES
    rto_hours: float
    projected_hours: float | None
    problems: tuple[tuple[str, int], ...]  # what makes the copy incomplete, with counts

    @property
    def met(self) -> bool:
        return self.state == "met"

    def problem_words(self) -> str:
        return ", ".join(f"{n} {status.replace('_', ' ')}" for status, n in self.problems)

    def label(self) -> str:
        """A few words for a table cell."""
        return {"met": "met", "missed": "missed", "incomplete": "not met: copy incomplete",
                "unknown": "unknown"}[self.state]

    def sentence(self) -> str:
        """The verdict as the end of a sentence: "a full restore … {sentence}"."""
        hours = f"{self.rto_hours:g} h"
        if self.state == "incomplete":
            return f"does not meet the RTO of {hours}: the copy is incomplete ({self.problem_words()})"
        if self.state == "unknown":
            return f"cannot be compared with the RTO of {hours} (no restore throughput was measured)"
        return f"{'meets' if self.met else 'misses'} the RTO of {hours}"


def rto_verdict(rto_hours: float | None, projected_hours: float | None,
                counts: Mapping[str, int] | None) -> RtoVerdict | None:
    """The RTO verdict of a verification; None when there is no RTO to compare with.

    ``counts`` are the verification's counts by status; ``None`` (not known) counts as
    incomplete, because a copy nobody checked is not proven to restore.
    """
    if rto_hours is None:
        return None
    if counts is None:
        return RtoVerdict("incomplete", rto_hours, projected_hours, (("unchecked", 1),))
    problems = tuple((s, int(counts[s])) for s in INCOMPLETE if counts.get(s))
    if problems:
        state = "incomplete"
    elif projected_hours is None:
        state = "unknown"
    else:
        state = "met" if projected_hours <= rto_hours else "missed"
    return RtoVerdict(state, rto_hours, projected_hours, problems)


@dataclass(frozen=True)
class RestoreProjection:
    archive_bytes: int
    bytes_read: int
    elapsed_seconds: float
    throughput_bytes_per_s: float | None
    projected_hours: float | None
    rto_hours: float | None
    rto_source: str | None
    rto_met: bool | None  # True only when the copy is complete and fast enough (see rto_verdict)
    rto_verdict: str | None  # met, missed, incomplete or unknown; None without an RTO

    def as_dict(self) -> dict[str, Any]:
        doc = asdict(self)
        if self.projected_hours is not None:
            doc["projected_hours"] = round(self.projected_hours, 4)
        return doc

    def verdict(self, counts: Mapping[str, int]) -> RtoVerdict | None:
        return rto_verdict(self.rto_hours, self.projected_hours, counts)


def project_restore(archive_bytes: int, bytes_read: int, elapsed_seconds: float,
                    rto_hours: float | None, rto_source: str | None = None, *,
                    counts: Mapping[str, int] | None) -> RestoreProjection:
    """Full-restore hours = archive bytes / measured bytes per second / 3600.

    ``counts`` (the verification's counts by status) decide whether the RTO can be met at all:
    an incomplete copy never meets it, however fast it reads.
    """
    throughput = bytes_read / elapsed_seconds if elapsed_seconds > 0 and bytes_read > 0 else None
    projected = archive_bytes / throughput / 3600 if throughput else None
    verdict = rto_verdict(rto_hours, projected, counts)
    met = None if verdict is None or verdict.state == "unknown" else verdict.met
    return RestoreProjection(archive_bytes, bytes_read, round(elapsed_seconds, 3),
                             round(throughput, 1) if throughput else None, projected,
                             rto_hours, rto_source if rto_hours is not None else None, met,
                             verdict.state if verdict else None)


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
