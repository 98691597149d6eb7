"""VEX statements applied to the findings register: an advisory finding every one of whose CVEs a
statement marks not affected or fixed for the asset's product is closed, with the statements kept
as evidence.

Reading VEX documents is the feeds stage's (:mod:`radguard.feeds.vex`); closing findings is the
findings register's, so it lives here and data still flows one way.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from radguard.checks.findings import ADVISORY_CHECKS, list_findings, transition
from radguard.db.base import utcnow
from radguard.db.models.evidence import Evidence
from radguard.feeds.vex import EVIDENCE_KIND, Statement


def apply_vex(session: Session, statements: list[Statement]) -> dict[str, Any]:
    """Store the statements as evidence and close every open advisory finding they fully cover.

    :param session: the caller's transaction.
    :param statements: from :func:`read_vex`.
    """
    now = utcnow()
    for st in statements:
        session.add(Evidence(kind=EVIDENCE_KIND, sent={}, received=st.document_json(),
                             source=f"VEX {st.document}", collected_at=now))
    closed: list[int] = []
    for finding in list_findings(session, states=["open"], check_ids=ADVISORY_CHECKS):
        ev = finding.evidence or {}
        cves = [c for c in ev.get("cves") or [] if isinstance(c, str)]
        if not cves:
            continue
        used: list[Statement] = []
        for cve in cves:
            match = next((s for s in statements if s.covers(cve, ev.get("vendor"), ev.get("product"),
                                                             ev.get("version"))), None)
            if match is None:
                break
            used.append(match)
        else:
            transition(session, finding.id, "false-positive", by=f"VEX {used[0].author}",
                       reason="VEX " + used[0].document + ": " + "; ".join(s.describe() for s in used), now=now)
            closed.append(finding.id)
    session.flush()
    return {"statements": len(statements), "closed": closed}
