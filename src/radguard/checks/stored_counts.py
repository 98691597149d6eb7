"""The stored dashboard counts move with each decision, in the checks stage that makes it.

The dashboard's cards are computed at the end of each assessment by ``readiness.dashboard`` and
kept in one :class:`~radguard.db.models.dashboard.DashboardSnapshot` row. A decision on a finding
(``checks.findings.transition``) changes a few of the stored finding counts; those counts are the
checks stage's own facts (``finding_counts`` rows), so it moves them here, without importing
readiness, and marks the stored roadmap stale until the next assessment ranks it again.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from radguard.db.base import utcnow
from radguard.db.models.dashboard import DashboardSnapshot

# Bumped whenever the payload's shape changes; a row of another version is treated as absent
# (the page says no cards are stored yet) until the next assessment writes a current one.
# 2: the roadmap part keeps every finding action's place (finding_actions).
SCHEMA_VERSION = 2


def latest_snapshot(session: Session, *, for_update: bool = False) -> DashboardSnapshot | None:
    stmt = select(DashboardSnapshot).order_by(DashboardSnapshot.id.desc()).limit(1)
    if for_update:
        stmt = stmt.with_for_update()
    row = session.scalar(stmt)
    return row if row is not None and row.schema_version == SCHEMA_VERSION else None


def note_transition(session: Session, check_id: str, severity: str, from_state: str, to_state: str) -> None:
    """Move one finding from ``from_state`` to ``to_state`` in the stored counts (not committed).

    The row is locked for the update (PostgreSQL), so two decisions at once both count.
    """
    row = latest_snapshot(session, for_update=True)
    if row is None:
        return
    counts: dict[tuple[str, str, str], int] = {(c, st, sv): int(n) for c, st, sv, n in row.payload["counts"]}
    for state, delta in ((from_state, -1), (to_state, 1)):
        key = (check_id, state, severity)
        counts[key] = counts.get(key, 0) + delta
        if counts[key] <= 0:
            del counts[key]
    payload = {**row.payload, "counts": [[*k, n] for k, n in sorted(counts.items())]}
    session.execute(update(DashboardSnapshot).where(DashboardSnapshot.id == row.id)
                    .values(payload=payload, stale=True, updated_at=utcnow()))
    session.expire(row)


def mark_stale(session: Session) -> None:
    """Say the stored roadmap may not reflect a change made since (not committed)."""
    row = latest_snapshot(session)
    if row is not None and not row.stale:
        session.execute(update(DashboardSnapshot).where(DashboardSnapshot.id == row.id).values(stale=True))
