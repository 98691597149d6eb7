"""The whole roadmap, ranked at the end of each assessment and stored beside the dashboard cards.

Ranking (``readiness.roadmap.build_roadmap``) reads every open finding: seconds at 100,000
assets, so no page request and no plain ``radguard roadmap`` does it. Instead:

* :func:`store_roadmap` (called by ``readiness.dashboard.store_cards``) writes the document of
  the ranking it just made: the summary in the snapshot's payload (``roadmap_doc``), one
  :class:`~radguard.db.models.dashboard.RoadmapAction` row per action (its finding list kept
  as IDs) and per action and site a :class:`~radguard.db.models.dashboard.RoadmapActionSite`
  row (how many of its findings are there, and the first few), so a site's view reads a few
  rows instead of every open finding of the site;
* :func:`current_roadmap` is what the roadmap page, its exports and the CLI read: the stored
  document when it answers the question asked (the default checklist assessment and capacity),
  else a live ranking; ``stale`` says a decision or answer came after the ranking
  (``checks.stored_counts`` marks it), and ``readiness.dashboard.rerank`` ranks again now.

A stored document is the live one of its moment: :func:`current_roadmap` with ``full=True``
gives back exactly what ``build_roadmap`` gave (tested), every finding resolved through the
findings register (``checks.findings.finding_refs``); without ``full`` each action lists only
its first :data:`FIRST` findings, with ``findings_closed`` the count, which is all the page,
the CSV, the Markdown and the terminal table show.
"""

from __future__ import annotations

import json
import sys
from array import array
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session, undefer

from radguard.checks.findings import FindingRef, finding_refs, open_finding_ids, open_findings
from radguard.checks.stored_counts import latest_snapshot
from radguard.db.base import utcnow
from radguard.db.models.dashboard import DashboardSnapshot, RoadmapAction, RoadmapActionSite
from radguard.inventory.queries import asset_sites, site_id_for
from radguard.inventory.scope import SiteScope
from radguard.readiness.roadmap import build_roadmap, load_policy, resolve_capacity

__all__ = ["FIRST", "RoadmapView", "current_roadmap", "filter_actions", "store_roadmap", "stored_roadmap"]

FIRST = 5  # findings listed per action before "and N more" (the page's list)
PAYLOAD_KEY = "roadmap_doc"


def _ids_blob(ids: list[int]) -> bytes:
    packed = array("q", ids)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


def _blob_ids(blob: bytes) -> list[int]:
    packed = array("q")
    packed.frombytes(blob)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tolist()


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def store_roadmap(session: Session, snapshot: DashboardSnapshot, doc: dict[str, Any],
                  refs: dict[str, list[FindingRef]] | None = None) -> None:
    """Store ``doc`` (what ``build_roadmap`` returned) with ``snapshot``; older stored rankings go.

    :param session: the assessment's transaction (not committed here).
    :param snapshot: the dashboard snapshot row just written (flushed, so it has an ID).
    :param doc: the roadmap document.
    :param refs: the open findings by check that the ranking was made from (for their sites);
        read again from the register when not given.
    """
    # Only the newest ranking is kept (earlier snapshots' cards stay; their roadmap rows go).
    session.execute(delete(RoadmapAction))
    session.execute(delete(RoadmapActionSite))
    if refs is None:
        refs = open_findings(session)
    site_of_asset = asset_sites(session)
    site_of = {r.id: None if r.asset_id is None else site_of_asset.get(r.asset_id)
               for group in refs.values() for r in group}
    actions, sites = [], []
    for a in doc["actions"]:
        findings = a["why"]["findings"]
        by_site: dict[int | None, list[dict[str, Any]]] = {}
        for f in findings:
            by_site.setdefault(site_of.get(f["id"]), []).append(f)
        kept = {**a, "why": {**a["why"], "findings": findings[:FIRST]}, "findings_closed": len(findings)}
        actions.append({"snapshot_id": snapshot.id, "rank": a["rank"], "action_id": a["id"], "kind": a["kind"],
                        "owner": a.get("owner"), "action": _jsonable(kept),
                        "finding_ids": _ids_blob([f["id"] for f in findings])})
        sites += [{"snapshot_id": snapshot.id, "rank": a["rank"], "site_id": site_id, "findings": len(group),
                   "first": _jsonable(group[:FIRST])} for site_id, group in by_site.items()]
    if actions:
        session.execute(insert(RoadmapAction), actions)
    if sites:
        session.execute(insert(RoadmapActionSite), sites)
    head = {k: v for k, v in doc.items() if k != "actions"}
    snapshot.payload = {**snapshot.payload, PAYLOAD_KEY: _jsonable(head)}
    snapshot.ranked_at = utcnow()
    session.flush()


def _restore_dates(head: dict[str, Any]) -> dict[str, Any]:
    """The document's dates as ``build_roadmap`` gives them (JSON kept them as ISO text)."""
    out = {**head, "as_of": date.fromisoformat(head["as_of"])}
    if out.get("assessment") and isinstance(out["assessment"].get("assessed_on"), str):
        out["assessment"] = {**out["assessment"], "assessed_on": date.fromisoformat(out["assessment"]["assessed_on"])}
    return out


@dataclass(frozen=True)
class RoadmapView:
    """A roadmap document and where it came from.

    ``ranked_at`` is when a stored ranking was made (None: ranked live for this request);
    ``stale`` whether a decision or checklist answer came after it.
    """

    doc: dict[str, Any]
    ranked_at: datetime | None = None
    stale: bool = False


def stored_roadmap(session: Session, *, site_ids: Collection[int] | None = None, full: bool = False
                   ) -> RoadmapView | None:
    """The stored document of the newest ranking, or None when none is stored.

    :param session: a read session.
    :param site_ids: only the finding actions with findings at these sites (organization-wide
        findings count for every site), each listing and counting only those; checklist actions
        are organization-wide and stay. Read from the per-site rows, not from the findings.
    :param full: every action lists all its findings (resolved from the register by ID); else
        only the first :data:`FIRST`, with ``findings_closed`` the count.
    """
    snapshot = latest_snapshot(session)
    if snapshot is None or PAYLOAD_KEY not in snapshot.payload or snapshot.ranked_at is None:
        return None
    head, ranked_at = dict(snapshot.payload[PAYLOAD_KEY]), snapshot.ranked_at
    stmt = select(RoadmapAction).where(RoadmapAction.snapshot_id == snapshot.id).order_by(RoadmapAction.rank)
    if full:
        stmt = stmt.options(undefer(RoadmapAction.finding_ids))
    rows = session.scalars(stmt).all()
    actions = [dict(r.action) for r in rows]
    if full:
        ids = {r.rank: _blob_ids(r.finding_ids) for r in rows}
        refs = finding_refs(session, [i for group in ids.values() for i in group])
        for a in actions:
            a["why"] = {**a["why"], "findings": [refs[i].as_dict() for i in ids[a["rank"]] if i in refs]}
    if site_ids is not None:
        actions = _for_sites(session, snapshot.id, actions, site_ids)
    return RoadmapView(doc={**_restore_dates(head), "actions": actions}, ranked_at=ranked_at, stale=snapshot.stale)


def _for_sites(session: Session, snapshot_id: int, actions: list[dict[str, Any]],
               site_ids: Collection[int]) -> list[dict[str, Any]]:
    wanted = sorted(set(site_ids))
    groups: dict[int, tuple[int, list[dict[str, Any]]]] = {}
    for rank, count, first in session.execute(
            select(RoadmapActionSite.rank, RoadmapActionSite.findings, RoadmapActionSite.first)
            .where(RoadmapActionSite.snapshot_id == snapshot_id,
                   RoadmapActionSite.site_id.in_(wanted) | RoadmapActionSite.site_id.is_(None))):
        n, listed = groups.get(rank, (0, []))
        groups[rank] = (n + count, listed + list(first))
    out = []
    for a in actions:
        if a["kind"] == "finding":
            if a["rank"] not in groups:
                continue
            n, listed = groups[a["rank"]]
            # Each site's first findings are its highest-risk ones, so the first of their union are too.
            listed = sorted(listed, key=lambda f: (-f["risk_score"], f["id"]))[:FIRST]
            a = {**a, "why": {**a["why"], "findings": listed}, "findings_closed": n}
        out.append(a)
    return out


def filter_actions(actions: list[dict[str, Any]], *, owner: str | None = None,
                   finding_ids: set[int] | None = None) -> list[dict[str, Any]]:
    """The actions a filtered view shows, in rank order, each keeping its rank (a live ranking's).

    :param actions: the roadmap document's actions.
    :param owner: only this owner's actions.
    :param finding_ids: for one site, the open findings counted for it
        (:func:`radguard.checks.findings.open_finding_ids`): a finding action then lists only
        those and is hidden without any; a checklist action is organization-wide and stays.
    """
    out = []
    for a in actions:
        if owner and a["owner"] != owner:
            continue
        if finding_ids is not None and a["kind"] == "finding":
            findings = [f for f in a["why"]["findings"] if f["id"] in finding_ids]
            if not findings:
                continue
            a = {**a, "why": {**a["why"], "findings": findings}, "findings_closed": len(findings)}
        out.append(a)
    return out


def current_roadmap(session: Session, *, assessment_id: int | None = None, capacity: float | None = None,
                    today: date | None = None, full: bool = False, site: str | None = None,
                    owner: str | None = None, scope: SiteScope = None) -> RoadmapView:
    """The roadmap to show: the stored ranking when it answers this question, else a live one.

    The stored one answers when there is one and it was ranked for the newest checklist
    assessment at the capacity asked for (``capacity``, else ``$RADGUARD_ROADMAP_CAPACITY``,
    else roadmap.yaml's), whether or not it is stale.

    :param session: a read session.
    :param assessment_id: a checklist assessment other than the newest: always ranked live.
    :param capacity: effort points per 30 days (default: :func:`~radguard.readiness.roadmap.resolve_capacity`).
    :param today: a live ranking's date (default: today).
    :param full: every action lists all its findings (the JSON export); else the first few.
    :param site: only the actions closing this site's findings (checklist actions stay); an
        unknown site (or one outside ``scope``) raises NotFoundError.
    :param owner: only this owner's actions.
    :param scope: the sites the caller may see: for ``site``, and a caller limited to sites gets
        the roadmap of its sites' open findings, ranked live among themselves
        (``build_roadmap(scope=…)``: the stored ranking is the organisation's).
    """
    site_id = site_id_for(session, site, scope=scope) if site else None
    view = None
    if scope is not None:
        doc = build_roadmap(session, assessment_id, today=today, capacity=capacity, scope=scope)
        if site:
            doc = {**doc, "actions": filter_actions(
                doc["actions"], finding_ids=open_finding_ids(session, site=site, scope=scope))}
        view = RoadmapView(doc=doc)
    elif assessment_id is None:
        view = stored_roadmap(session, site_ids=None if site_id is None else [site_id], full=full)
        wanted = resolve_capacity(load_policy(), capacity)
        if view is not None and view.doc["summary"]["capacity_per_30_days"] != wanted:
            view = None
    if view is None:
        doc = build_roadmap(session, assessment_id, today=today, capacity=capacity)
        doc = {**doc, "actions": filter_actions(
            doc["actions"], finding_ids=open_finding_ids(session, site=site) if site else None)}
        view = RoadmapView(doc=doc)
    if owner:
        view = RoadmapView(doc={**view.doc, "actions": filter_actions(view.doc["actions"], owner=owner)},
                           ranked_at=view.ranked_at, stale=view.stale)
    return view
