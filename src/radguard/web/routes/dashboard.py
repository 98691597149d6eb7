"""The dashboard: the state of the program at a glance.

Every card is computed by the same stage functions the CLI uses (checklist scoring, the
roadmap, service continuity and drills, backup verification runs); this module only gathers
their results. Each card carries its own "no data yet" state, so a fresh installation shows
what to do next instead of zeros that look like a result. Cards are computed in the
background and cached per application (``_cards.CardCache``), because some stage functions
take minutes on a very large estate; each card says when it was computed. The findings and
roadmap cards summarise the whole register, so they are not computed here at all: the
assessment stores them (``readiness.dashboard``) and these cards read the stored row.

An account limited to sites (``Principal.scope``) gets cards computed for its sites only, in a
cache of their own (one per set of sites): the stored cards count every site, so its findings
card is computed from the register (one grouped count) in the background like the other cards,
and its roadmap card is read in the request from the stored per-site rows of the ranking
(``readiness.roadmap_store.current_roadmap(scope=…)``), so no request ranks the register. Its
readiness card says that checklist self-assessments are organisation-wide (docs/identity.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from radguard.backup.sets import latest_verification, list_sets, verification_record
from radguard.checks.findings import FindingCounts, finding_counts
from radguard.db.base import utcnow
from radguard.inventory.queries import class_counts
from radguard.inventory.scope import SiteScope
from radguard.readiness.checklists.assessments import assessment_versions, current_assessment
from radguard.readiness.checklists.report import score_document
from radguard.readiness.continuity import continuity
from radguard.readiness.dashboard import findings_card as stored_findings_card
from radguard.readiness.dashboard import mark_stale, stored_cards
from radguard.readiness.dashboard import roadmap_card as computed_roadmap_card
from radguard.readiness.roadmap import TOP
from radguard.readiness.roadmap_store import current_roadmap
from radguard.response.drills import demonstrated_recovery, load_drills, planned_drills
from radguard.response.services import load_services
from radguard.web.app import render
from radguard.web.routes._cards import CardCache, CardValue
from radguard.web.security import Principal, db_session, require

router = APIRouter(include_in_schema=False)
TOP_ACTIONS = TOP  # the same top five as the executive report and the demo
NEXT_DRILLS = 5
# The outage the RTO card imagines; only the RTO status (demonstrated or not) is shown, which
# does not depend on the outage length.
CARD_OUTAGE_HOURS = 72.0
# How long the page waits for cards it has never computed (or that a change invalidated) before
# showing a "still computing" placeholder that fills itself in.
FIRST_WAIT_SECONDS = 5.0


@dataclass
class TrendPoint:
    assessment_id: int
    version: int
    assessed_on: date
    status: str
    score: float | None
    percent: float | None


@dataclass
class Readiness:
    """The latest assessment's overall maturity and the versions before it (oldest first)."""

    label: str | None = None
    assessment_id: int | None = None
    score: float | None = None
    percent: float | None = None
    challenged: int = 0
    unanswered: int = 0
    trend: list[TrendPoint] = field(default_factory=list)
    # The caller is limited to sites: checklist self-assessments are the organisation's, not shown.
    limited: bool = False

    @property
    def available(self) -> bool:
        return self.assessment_id is not None

    def sparkline(self, width: int = 240, height: int = 48) -> str:
        """SVG polyline points for the trend (scores 0–4), drawn without any script or inline style."""
        points = [p for p in self.trend if p.score is not None]
        if len(points) < 2:
            return ""
        step = width / (len(points) - 1)
        return " ".join(f"{i * step:.1f},{height - (p.score or 0) / 4 * height:.1f}" for i, p in enumerate(points))


def readiness_card(session: Session, scope: SiteScope = None) -> Readiness:
    if scope is not None:
        return Readiness(limited=True)
    latest = current_assessment(session)
    if latest is None:
        return Readiness()
    versions = assessment_versions(session, latest)
    trend = []
    current: dict[str, Any] = {}
    for a in versions:
        doc = score_document(session, a)
        trend.append(TrendPoint(a.id, a.version, a.assessed_on, a.status, doc["overall"]["score"],
                                doc["overall"]["percent"]))
        if a.id == latest.id:
            current = doc
    label = latest.organization + (f" / {latest.site_code}" if latest.site_code else "")
    return Readiness(label=f"{label} v{latest.version}", assessment_id=latest.id,
                     score=current["overall"]["score"], percent=current["overall"]["percent"],
                     challenged=len(current.get("challenged", [])), unanswered=len(current.get("unanswered", [])),
                     trend=trend)


def findings_card(session: Session, scope: SiteScope = None) -> dict[str, Any]:
    """Open findings by severity, state and defense layer, as stored by the last assessment.

    ``readiness.dashboard.stored_cards`` is one row read; decisions since the assessment are
    already counted in it. ``stored`` is False before the first assessment. For a caller limited
    to sites the counts are those sites' (``finding_counts(scope=…)``, one grouped query).
    """
    cards = stored_cards(session)
    if cards is None:
        return {"stored": False, **stored_findings_card(FindingCounts(()))}
    if scope is not None:
        return {"stored": True, "assessed_at": cards.assessed_at,
                **stored_findings_card(finding_counts(session, scope=scope))}
    return {"stored": True, "assessed_at": cards.assessed_at, **cards.findings}


def unproven_services(session: Session, scope: SiteScope = None) -> tuple[int, list[dict[str, Any]]]:
    """(services recorded, those whose RTO no completed drill has demonstrated in time)."""
    services = load_services(session, scope=scope)
    if not services:
        return 0, []
    results = continuity(services, CARD_OUTAGE_HOURS, demonstrated_recovery(load_drills(session, scope=scope)))
    return len(services), [
        {"key": r.key, "name": r.name, "rto_hours": r.rto_hours, "status": r.rto_status,
         "demonstrated_hours": None if r.demonstrated_hours is None else round(r.demonstrated_hours, 2)}
        for r in results if r.rto_status != "demonstrated"
    ]


def last_verification(session: Session, scope: SiteScope = None) -> dict[str, Any] | None:
    row = latest_verification(session, scope=scope)
    if row is None:
        return None
    run, name = row
    return {"set": name, **verification_record(run)}


def next_drills(session: Session, scope: SiteScope = None) -> list[dict[str, Any]]:
    """Planned drills, earliest first (those whose date has passed without a record come first)."""
    drills = planned_drills(session, NEXT_DRILLS, scope=scope)
    return [{"key": d.key, "title": d.title, "kind": d.kind, "playbook": d.playbook, "date": d.scheduled_on,
             "status": d.status, "open_actions": sum(1 for a in d.actions if a.status != "done")} for d in drills]


def assets_card(session: Session, scope: SiteScope = None) -> dict[str, Any]:
    by_class, unconfirmed = class_counts(session, scope=scope)  # inventory.queries owns the assets
    return {"total": sum(by_class.values()), "by_class": sorted(by_class.items()), "unconfirmed": unconfirmed}


def services_card(session: Session, scope: SiteScope = None) -> dict[str, Any]:
    total, unproven = unproven_services(session, scope)
    return {"total": total, "unproven": unproven}


def backup_card(session: Session, scope: SiteScope = None) -> dict[str, Any]:
    return {"sets": len(list_sets(session, scope=scope)), "last": last_verification(session, scope)}


def roadmap_card(session: Session, scope: SiteScope = None) -> dict[str, Any]:
    """The top roadmap actions stored by the last assessment (``stale``: a decision or answer since).

    For a caller limited to sites: the top of the roadmap of those sites' open findings, read
    from the stored per-site rows (``readiness.roadmap_store.current_roadmap(scope=…)``), the
    same ranking as that caller's roadmap page.
    """
    cards = stored_cards(session)
    if cards is None:
        return {"stored": False, "actions": [], "total": 0}
    if scope is not None:
        view = current_roadmap(session, scope=scope)
        return {"stored": True, "assessed_at": cards.assessed_at, "ranked_at": view.ranked_at, "stale": view.stale,
                **computed_roadmap_card(view.doc)}
    return {"stored": True, "assessed_at": cards.assessed_at, "ranked_at": cards.ranked_at, "stale": cards.stale,
            **cards.roadmap}


# Card name → the function computing it (for the given sites; None: all). Order is the order on the page.
CARDS: dict[str, Callable[[Session, SiteScope], Any]] = {
    "readiness": readiness_card, "findings": findings_card, "services": services_card, "backup": backup_card,
    "drills": next_drills, "roadmap": roadmap_card, "assets": assets_card,
}


def _for_sites(compute: Callable[[Session, SiteScope], Any], scope: SiteScope) -> Callable[[Session], Any]:
    """``compute`` for one set of sites, as the card cache calls it (with a session only)."""
    return lambda session: compute(session, scope)


# Cards read from the row the assessment stored: one small read, so done in the request itself
# (always current, never a placeholder); the others go through the background cache.
STORED = frozenset({"findings", "roadmap"})
SCOPED_STORED = frozenset({"roadmap"})
CACHED: dict[str, Callable[[Session], Any]] = {name: _for_sites(compute, None) for name, compute in CARDS.items()
                                               if name not in STORED}


def dashboard_data(session: Session, scope: SiteScope = None) -> dict[str, Any]:
    """Every card computed now, in this session (used by tests and scripts; pages use the cache)."""
    return {name: compute(session, scope) for name, compute in CARDS.items()}


def cache_of(request: Request, scope: SiteScope = None) -> CardCache:
    """The app's card cache, made on first use (one per app, so one per database), or the cache
    of one set of sites for callers limited to them (every card, the stored ones included)."""
    if scope is not None:
        caches: dict[frozenset[str], CardCache] | None = getattr(request.app.state, "dashboard_site_cards", None)
        if caches is None:
            caches = request.app.state.dashboard_site_cards = {}
        if scope not in caches:
            caches[scope] = CardCache(request.app.state.db.sessions,
                                      {name: _for_sites(compute, scope) for name, compute in CARDS.items()
                                       if name not in SCOPED_STORED})
        return caches[scope]
    cache: CardCache | None = getattr(request.app.state, "dashboard_cards", None)
    if cache is None:
        cache = CardCache(request.app.state.db.sessions, CACHED)
        request.app.state.dashboard_cards = cache
    return cache


def invalidate(request: Request) -> None:
    """Called by every page or API call that changes what a card shows (after its commit).

    The stored roadmap card is marked stale too: a checklist answer can change it, and only the
    next assessment recomputes it.
    """
    with request.app.state.db.transaction() as session:
        mark_stale(session)
    cache_of(request).invalidate()
    for cache in list(getattr(request.app.state, "dashboard_site_cards", {}).values()):
        cache.invalidate()


def all_cards(request: Request, session: Session, wait: float, only: tuple[str, ...] | None = None,
              wait_running: bool = False, scope: SiteScope = None) -> dict[str, CardValue]:
    """Every card (or ``only`` these): the stored ones read now in ``session``, the others from the cache.

    :param scope: the caller's sites (``Principal.scope``): every card from that set of sites' cache.
    """
    names = only or tuple(CARDS)
    # Read in the request from stored rows: both stored cards, or for a caller limited to sites
    # the roadmap card (its sites' part of the stored ranking); the rest from the cache.
    in_request = STORED if scope is None else SCOPED_STORED
    cached = [n for n in names if n not in in_request]
    cache = cache_of(request, scope)
    cards = cache.get_all(wait, only=cached, wait_running=wait_running) if cached else {}
    now = utcnow()
    for name in names:
        if name in in_request:
            start = time.perf_counter()
            value = CARDS[name](session, scope)
            cards[name] = CardValue(value, now, time.perf_counter() - start, None, 0, time.monotonic())
    return cards


def first_wait(request: Request) -> float:
    return float(getattr(request.app.state, "dashboard_wait", FIRST_WAIT_SECONDS))


def _card_context(name: str, card: CardValue | None) -> dict[str, Any]:
    return {"name": name, "card": card, "data": card.value if card else None, "today": utcnow().date()}


@router.get("/")
def dashboard(request: Request, principal: Principal = Depends(require("viewer")),
              session: Session = Depends(db_session)) -> Response:
    # A plain function: FastAPI runs it in the thread pool, so waiting for a card never stalls other requests.
    cards = all_cards(request, session, first_wait(request), scope=principal.scope)
    return render(request, "dashboard.html", {"cards": [_card_context(n, cards.get(n)) for n in CARDS]})


@router.get("/dashboard/cards/{name}")
def dashboard_card(request: Request, name: str, principal: Principal = Depends(require("viewer")),
                   session: Session = Depends(db_session)) -> Response:
    """One card, for the placeholders that poll while a slow card is still being computed."""
    if name not in CARDS:
        raise HTTPException(status_code=404, detail=f"no dashboard card {name!r}")
    card = all_cards(request, session, 2.0, only=(name,), wait_running=True, scope=principal.scope).get(name)
    return render(request, "_dashboard_card.html", _card_context(name, card))
