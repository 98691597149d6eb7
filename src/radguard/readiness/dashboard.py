"""The dashboard's findings and roadmap cards, computed once per assessment and stored.

Both cards summarise every open finding: the roadmap ranks them all, which takes seconds to
minutes at 100,000 assets, so no page request may compute them. Instead:

* :func:`assess` runs an assessment (``checks.engine.assess``) and then :func:`store_cards`,
  which writes one :class:`~radguard.db.models.dashboard.DashboardSnapshot` row: every command,
  schedule and ingest that assesses calls this one (the checks stage cannot call readiness);
* ``checks.stored_counts.note_transition`` adjusts the stored finding counts when a person decides on a finding
  (``checks.findings.transition``): a few integers change, nothing is re-counted; the roadmap
  part is then marked stale, as it is by ``mark_stale`` after a checklist change, and the
  next assessment computes it afresh;
* :func:`stored_cards` is the one read function: the dashboard page and API call it;
  :func:`stored_action_for` gives a finding page its action's stored place in the ranking.

The counts are the very rows of :func:`radguard.checks.findings.finding_counts`, so the stored
card and the report or CLI agree for the same data.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.checks.engine import AssessmentResult, collector_paused
from radguard.checks.engine import assess as engine_assess
from radguard.checks.executive import plain_action
from radguard.checks.findings import FindingCounts, finding_counts, open_findings
from radguard.checks.loader import default_catalog
from radguard.checks.register import AssessedRegister
from radguard.checks.stored_counts import SCHEMA_VERSION, latest_snapshot, mark_stale, note_transition
from radguard.db.base import utcnow
from radguard.db.models.dashboard import DashboardSnapshot
from radguard.readiness.roadmap import TOP, build_roadmap, findings_closed, top_of_roadmap
from radguard.readiness.roadmap_store import store_roadmap

__all__ = ["SCHEMA_VERSION", "STEPS", "StoredCards", "assess", "mark_stale", "note_transition", "rerank", "store_cards",
           "stored_action_for", "stored_cards"]

# The steps of storing the cards and roadmap, in order (``on_step``); ``wording.RERANK_STEPS`` words them.
STEPS = ("reading", "ranking", "storing")
# Bumped whenever the payload's shape changes; a row of another version is treated as absent
# (the page says no cards are stored yet) until the next assessment writes a current one.
# Rows kept: the newest is read; a few older ones show how the cards moved between runs.
KEEP = 20


@dataclass(frozen=True)
class StoredCards:
    """The stored cards as the dashboard shows them."""

    assessed_at: datetime
    updated_at: datetime
    stale: bool
    findings: dict[str, Any]
    roadmap: dict[str, Any]
    ranked_at: datetime | None = None  # when the stored roadmap was ranked (a re-rank moves it)


def findings_card(counts: FindingCounts) -> dict[str, Any]:
    """Open findings by severity, state and defense layer (the layer from each check's catalog entry)."""
    catalog = default_catalog()
    by_layer: dict[str, int] = {}
    for check_id, n in counts.open_by_check.items():
        spec = catalog.spec(check_id)
        layer = spec.defense_layer if spec else "unmapped"
        by_layer[layer] = by_layer.get(layer, 0) + n
    return {"open": counts.open, "by_severity": list(counts.open_by_severity.items()),
            "by_state": counts.by_state,
            "by_layer": sorted(by_layer.items(), key=lambda kv: (-kv[1], kv[0]))}


def roadmap_card(doc: dict[str, Any]) -> dict[str, Any]:
    """The top actions of the roadmap (as the executive report shows them) and the total count.

    Each action keeps the fields the dashboard and API show plus ``findings_closed`` (how many
    open findings it closes) instead of the list of them, so the stored row stays small.

    :param doc: the roadmap document: the one :func:`store_cards` just ranked, or for a caller
        limited to sites the one ``readiness.roadmap_store.current_roadmap(scope=…)`` reads
        from the stored per-site rows (the dashboard route, never stored).
    """
    actions = []
    for a in top_of_roadmap(doc, TOP).actions:
        kept = {k: v for k, v in a.items() if k != "why"}
        actions.append({**kept, "plain": plain_action(a), "findings_closed": findings_closed(a)})
    # Every finding action's place in the ranking, by check ID (a finding action's ID is its
    # check's): the finding page links a finding to its action without ranking the register.
    places = {a["id"]: {"rank": a["rank"], "id": a["id"], "kind": a["kind"], "title": a["title"],
                        "what": a.get("what"), "horizon": a["horizon"], "owner": a.get("owner"),
                        "findings_closed": findings_closed(a)}
              for a in doc["actions"] if a["kind"] == "finding"}
    # Through JSON once, so what is returned here is exactly what a later read gives back.
    return dict(json.loads(json.dumps({"actions": actions, "total": doc["summary"]["actions"],
                                       "finding_actions": places}, default=str)))


def store_cards(session: Session, assessed_at: datetime | None = None,
                register: AssessedRegister | None = None,
                on_step: Callable[[str], None] | None = None) -> DashboardSnapshot:
    """Compute the cards over the register as it is in ``session`` and store them (not committed).

    :param register: the register as the assessment that just ran in ``session`` left it
        (``AssessmentResult.register``): the cards are computed from it instead of from queries
        over every finding; the same cards either way (tests/checks/test_assessed_register.py).
    :param on_step: called with each step's key as it starts (:data:`STEPS`: reading, ranking,
        storing), for a progress display (``radguard roadmap --re-rank``, the web re-rank job).
    """
    step = on_step or (lambda _key: None)
    now = utcnow()
    step("reading")
    counts = register.counts() if register is not None else finding_counts(session)
    # One ranking for the card and the stored whole roadmap (readiness.roadmap_store), so they agree.
    findings = register.open_findings() if register is not None else open_findings(session)
    step("ranking")
    doc = build_roadmap(session, today=(assessed_at or now).date(), findings=findings)
    step("storing")
    row = DashboardSnapshot(assessed_at=assessed_at or now, updated_at=now, schema_version=SCHEMA_VERSION,
                            stale=False, payload={"counts": [list(r) for r in counts.rows],
                                                  "roadmap": roadmap_card(doc)})
    session.add(row)
    session.flush()
    store_roadmap(session, row, doc, findings)
    old = session.scalars(select(DashboardSnapshot.id).order_by(DashboardSnapshot.id.desc()).offset(KEEP)).all()
    if old:
        session.query(DashboardSnapshot).filter(DashboardSnapshot.id.in_(old)).delete(synchronize_session=False)
    return row


def stored_action_for(session: Session, check_id: str) -> dict[str, Any] | None:
    """The stored roadmap action that closes open findings of ``check_id`` (rank, title, horizon,
    owner, findings_closed), as ranked at the last assessment; None when no cards are stored yet
    or the check has no action. One indexed row read, so a finding page can afford it.

    The action also says ``stale`` (a decision or answer came after the ranking, so the rank
    may have moved) and ``ranked_at``.

    :param session: a read session.
    :param check_id: the finding's check ID.
    """
    row = latest_snapshot(session)
    if row is None:
        return None
    place = (row.payload.get("roadmap") or {}).get("finding_actions", {}).get(check_id)
    if not place:
        return None
    return {**place, "stale": row.stale, "ranked_at": row.ranked_at or row.assessed_at}


def rerank(session: Session, on_step: Callable[[str], None] | None = None) -> DashboardSnapshot:
    """Rank the register again now and store the cards and roadmap for it (not committed).

    The "re-rank now" of the roadmap page (a background job, ``web.report_jobs.RerankJobs``)
    and ``radguard roadmap --re-rank``: after decisions or checklist answers, without waiting
    for the next assessment. The cards keep the time of the assessment they belong to.

    :param on_step: called with each step's key as it starts (:data:`STEPS`).
    """
    last = latest_snapshot(session)
    return store_cards(session, last.assessed_at if last is not None else None, on_step=on_step)


def stored_cards(session: Session) -> StoredCards | None:
    """The newest stored cards, or None before the first assessment (one indexed row read)."""
    row = latest_snapshot(session)
    if row is None:
        return None
    counts = FindingCounts(tuple((c, st, sv, int(n)) for c, st, sv, n in row.payload["counts"]))
    return StoredCards(assessed_at=row.assessed_at, updated_at=row.updated_at, stale=row.stale,
                       findings=findings_card(counts), roadmap=row.payload["roadmap"],
                       ranked_at=row.ranked_at or row.assessed_at)


def assess(session: Session, now: datetime | None = None, **kwargs: Any) -> AssessmentResult:
    """An assessment, then the dashboard cards stored for the register it leaves (not committed).

    :param session: the assessment's transaction.
    :param now: the assessment's time (default now).
    :param kwargs: passed on to :func:`radguard.checks.engine.assess` (settings, catalog, on_check).
    """
    # One pause of the garbage collector for both: the cards make a row per open finding while
    # the whole register is held (checks.engine.collector_paused).
    with collector_paused():
        result = engine_assess(session, now=now, **kwargs)
        mark = time.perf_counter()
        store_cards(session, result.assessed_at, result.register)
    result.timings["dashboard"] = time.perf_counter() - mark
    result.seconds += result.timings["dashboard"]
    return result
