"""The findings register as people use it: list, show, and decide.

Decisions are state transitions recorded with who, when and why (a :class:`FindingEvent`):

* ``accept`` — open/reopened → ``risk_accepted`` until a date (required); when it passes, the
  next assessment reopens the finding if the condition is still there;
* ``resolve`` — open/reopened/risk_accepted → ``mitigated`` by a person; the next assessment
  reopens it if the condition is still observed;
* ``false_positive`` — any state except false_positive → ``false_positive``; stays closed;
* ``reopen`` — mitigated/risk_accepted/false_positive → ``reopened``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session, selectinload

from radguard.checks.loader import Catalog, default_catalog
from radguard.checks.risk import explain
from radguard.checks.sla import SlaPolicy
from radguard.db.base import utcnow
from radguard.db.models.findings import (
    ALL_STATES,
    ASSESS_ACTOR,
    EVIDENCE_CHANGED,
    FIRST_OBSERVED,
    OPEN_STATES,
    Finding,
    FindingEvent,
)
from radguard.db.models.inventory import Asset
from radguard.errors import InputError, NotFoundError, RadguardError
from radguard.inventory.queries import find_asset

ALLOWED_FROM: dict[str, tuple[str, ...]] = {
    "risk_accepted": ("open", "reopened"),
    "mitigated": ("open", "reopened", "risk_accepted"),
    "false_positive": ("open", "reopened", "mitigated", "risk_accepted"),
    "reopened": ("mitigated", "risk_accepted", "false_positive"),
}
ACTIONS = {"accept": "risk_accepted", "resolve": "mitigated", "false-positive": "false_positive",
           "reopen": "reopened"}


class TransitionError(RadguardError):
    """The requested decision does not apply to the finding's current state."""


def get_finding(session: Session, finding_id: int) -> Finding:
    finding = session.scalar(select(Finding).where(Finding.id == finding_id).options(selectinload(Finding.events)))
    if finding is None:
        raise NotFoundError(f"no finding {finding_id}; see `radguard findings list`")
    return finding


def transition(session: Session, finding_id: int, action: str, *, by: str, reason: str,
               until: datetime | None = None, now: datetime | None = None,
               sla: SlaPolicy | None = None) -> Finding:
    """Apply a person's decision; raises with the allowed states if it does not apply."""
    if action not in ACTIONS:
        raise InputError("findings", None, "action", f"{action!r} is not one of {', '.join(ACTIONS)}")
    target = ACTIONS[action]
    now = now or utcnow()
    if not by.strip():
        raise InputError("findings", None, "by", "say who makes this decision")
    if not reason.strip():
        raise InputError("findings", None, "reason", "give a reason; it is kept in the finding's history")
    finding = get_finding(session, finding_id)
    if finding.state not in ALLOWED_FROM[target]:
        raise TransitionError(
            f"finding {finding_id} is {finding.state}; `{action}` applies only to "
            f"{' or '.join(ALLOWED_FROM[target])} findings"
        )
    if target == "risk_accepted":
        if until is None:
            raise InputError("findings", None, "until", "a risk acceptance needs an end date (--until YYYY-MM-DD)")
        if until <= now:
            raise InputError("findings", None, "until", f"{until.date().isoformat()} is not in the future")
        longest = (sla or SlaPolicy()).max_acceptance_days
        if until > now + timedelta(days=longest):
            raise InputError("findings", None, "until",
                             f"{until.date().isoformat()} is more than {longest} days ahead; a risk acceptance lasts "
                             f"at most {longest} days (settings: sla.max_acceptance_days), then is decided again")
    previous = finding.state
    finding.state = target
    finding.decided_by = by.strip() if target in ("risk_accepted", "false_positive", "mitigated") else None
    finding.decision_reason = reason.strip() if target in ("risk_accepted", "false_positive", "mitigated") else None
    finding.accepted_until = until if target == "risk_accepted" else None
    if target in ("mitigated", "false_positive"):
        finding.closed_at = now
    elif target == "reopened":
        finding.closed_at = None
        exposed = False
        if finding.asset_id is not None:
            asset = session.get(Asset, finding.asset_id)
            exposed = (sla or SlaPolicy()).is_exposed_zone(asset.network_zone if asset else None)
        finding.due = (sla or SlaPolicy()).due(finding.severity, now, exposed)
    finding.events.append(FindingEvent(at=now, actor=by.strip(), from_state=previous, to_state=target,
                                       reason=reason.strip(),
                                       evidence={"until": until.isoformat()} if until else {}))
    session.flush()
    return finding


def list_findings(session: Session, *, states: Sequence[str] = (), severities: Sequence[str] = (),
                  asset_ref: str | None = None, check_ids: Sequence[str] = (),
                  limit: int | None = None) -> Sequence[Finding]:
    """Findings, highest risk first. ``open`` also matches ``reopened`` (both count as open)."""
    stmt = select(Finding).options(selectinload(Finding.asset).selectinload(Asset.site))
    wanted: set[str] = set()
    for state in states:
        state = state.replace("-", "_")
        if state not in ALL_STATES:
            raise InputError("findings", None, "state", f"{state!r} is not one of {', '.join(ALL_STATES)}")
        wanted |= set(OPEN_STATES) if state == "open" else {state}
    if wanted:
        stmt = stmt.where(Finding.state.in_(sorted(wanted)))
    if severities:
        stmt = stmt.where(Finding.severity.in_([s.lower() for s in severities]))
    if asset_ref:
        stmt = stmt.where(Finding.asset_id == find_asset(session, asset_ref).id)
    if check_ids:
        stmt = stmt.where(Finding.check_id.in_([c.upper() for c in check_ids]))
    stmt = stmt.order_by(Finding.risk_score.desc(), Finding.id)
    if limit:
        stmt = stmt.limit(limit)
    return session.scalars(stmt).all()


def finding_record(finding: Finding, catalog: Catalog | None = None, *, events: bool = False) -> dict[str, Any]:
    """The JSON shape integrations rely on (docs/findings.md)."""
    spec = (catalog if catalog is not None else default_catalog()).spec(finding.check_id)
    asset = finding.asset
    record: dict[str, Any] = {
        "id": finding.id, "check_id": finding.check_id, "title": finding.title, "summary": finding.summary,
        "asset": {"id": asset.id, "name": asset.name, "site": asset.site.code, "class": asset.asset_class}
        if asset is not None else None,
        "subject": finding.subject, "key": finding.key, "state": finding.state, "severity": finding.severity,
        "risk_score": finding.risk_score, "risk_explanation": explain(finding.risk_explanation), "due": finding.due,
        "first_seen": finding.first_seen, "last_seen": finding.last_seen, "closed_at": finding.closed_at,
        "decided_by": finding.decided_by, "decision_reason": finding.decision_reason,
        "accepted_until": finding.accepted_until, "evidence": finding.evidence,
        "safeguard_type": spec.safeguard_type if spec else None,
        "defense_layer": spec.defense_layer if spec else None,
        "frameworks": spec.frameworks.model_dump() if spec else {},
        "remediation": spec.remediation if spec else None,
    }
    if events:
        record["history"] = history(finding)
        if finding.check_id in ADVISORY_CHECKS:
            session = object_session(finding)
            record["advisory"] = advisory_detail(session, finding.evidence) if session is not None else None
    return record


ADVISORY_CHECKS = ("RG-ADVISORY", "RG-KEV")


def advisory_detail(session: Session, evidence: dict[str, Any]) -> dict[str, Any] | None:
    """The advisory behind an RG-ADVISORY/RG-KEV finding, as the stored feeds describe it now.

    The finding's evidence keeps what matched and the CVE IDs; each CVE's score, KEV listing and
    ransomware use, and the vendor's remediation for this product come from the feed here, by
    matching the same vendor, product and version again. None when the advisory is no longer
    stored or no longer matches (the evidence then still says what matched at the time).
    """
    from radguard.feeds.matching import lookup

    advisory_id, product = evidence.get("advisory_id"), evidence.get("product")
    if not isinstance(advisory_id, str) or not isinstance(product, str):
        return None
    vendor, version = evidence.get("vendor"), evidence.get("version")
    for match in lookup(session, vendor if isinstance(vendor, str) else "", product,
                        version if isinstance(version, str) else None):
        if match.advisory_id == advisory_id:
            from radguard.feeds.epss import lookup as epss_lookup

            epss = epss_lookup(session, {c.id for c in match.cves})
            return {"advisory_id": advisory_id, "status": match.status, "url": match.url,
                    "cves": [{**c.as_json(), "epss": epss[c.id].as_json() if c.id in epss else None}
                             for c in match.cves],
                    "remediations": list(match.remediations)}
    return None


def history(finding: Finding) -> list[dict[str, Any]]:
    """The finding's events, oldest first, each with the evidence in force when it happened.

    The engine does not store a creation event (see
    :data:`radguard.db.models.findings.FIRST_OBSERVED`): it is rebuilt here from ``first_seen``,
    with the evidence in force then: the document the first EVIDENCE_CHANGED event replaced (the
    engine logs every change of a finding's evidence that way), or else the current evidence.
    """
    rows: list[dict[str, Any]] = [
        {"at": e.at, "actor": e.actor, "from": e.from_state, "to": e.to_state, "reason": e.reason,
         "evidence": e.evidence} for e in finding.events]
    if rows and rows[0]["actor"] == ASSESS_ACTOR and rows[0]["reason"] == FIRST_OBSERVED:
        return rows  # a register written before migration 0013 kept its creation events
    found: dict[str, Any] = finding.evidence
    for later in rows:
        if later["actor"] == ASSESS_ACTOR and later["reason"] == EVIDENCE_CHANGED:
            found = later["evidence"]
            break
    created = {"at": finding.first_seen, "actor": ASSESS_ACTOR, "from": None, "to": "open",
               "reason": FIRST_OBSERVED, "evidence": found}
    rows.insert(0, created)
    return rows
