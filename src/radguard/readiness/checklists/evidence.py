"""Evidence links: the open findings that contradict a checklist answer.

A question lists the checks whose findings speak against a high answer. When any of those
checks has open findings, an answer above :data:`CHALLENGE_CAP` is *challenged by evidence*:
it is shown with the findings, and it scores at most the cap until they are resolved.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.db.models.findings import OPEN_STATES, Finding
from radguard.db.models.inventory import Asset

# A claim of "defined" (2) or better cannot stand while the checks see the safeguard missing;
# the most it earns is "initial" (1): something exists, but not where the evidence looked.
CHALLENGE_CAP = 1


class FindingRef(NamedTuple):
    """The part of an open finding a leader needs to see beside a challenged answer.

    A named tuple (immutable, and cheap to make): the roadmap reads every open finding, which
    is hundreds of thousands for a large fleet.
    """

    id: int
    check_id: str
    title: str
    severity: str
    risk_score: int
    subject: str
    asset_owner: str | None = None
    due: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "check_id": self.check_id, "title": self.title, "severity": self.severity,
                "risk_score": self.risk_score, "subject": self.subject, "due": self.due}


def open_findings(session: Session, check_ids: Iterable[str] | None = None) -> dict[str, list[FindingRef]]:
    """Open findings grouped by check ID (all checks, or only those named), highest risk first."""
    # Plain columns, not Finding objects: a large register has hundreds of thousands of open
    # findings, and loading each with its evidence and explanation JSON took minutes.
    query = (
        select(Finding.id, Finding.check_id, Finding.title, Finding.severity, Finding.risk_score,
               Finding.subject, Finding.key, Finding.due, Asset.name, Asset.owner)
        .outerjoin(Asset, Asset.id == Finding.asset_id)
        .where(Finding.state.in_(OPEN_STATES))
        .order_by(Finding.check_id, Finding.risk_score.desc(), Finding.id)
    )
    if check_ids is not None:
        wanted = sorted(set(check_ids))
        if not wanted:
            return {}
        query = query.where(Finding.check_id.in_(wanted))
    grouped: dict[str, list[FindingRef]] = {}
    for fid, check_id, title, severity, risk_score, subject, key, due, asset_name, asset_owner in \
            session.execute(query):
        label = asset_name or subject or "organization"
        if key:
            label += f" ({key})"
        grouped.setdefault(check_id, []).append(
            FindingRef(id=fid, check_id=check_id, title=title, severity=severity, risk_score=risk_score,
                       subject=label, asset_owner=asset_owner, due=due.isoformat() if due else None)
        )
    return grouped
