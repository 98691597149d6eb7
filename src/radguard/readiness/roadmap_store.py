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
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, insert, or_, select
from sqlalchemy.orm import Session, undefer

from radguard.checks.findings import FindingRef, finding_refs, open_finding_ids, open_findings
from radguard.checks.stored_counts import latest_snapshot
from radguard.db.base import utcnow
from radguard.db.models.dashboard import DashboardSnapshot, RoadmapAction, RoadmapActionSite
from radguard.inventory.queries import asset_sites, site_id_for
from radguard.inventory.scope import SiteScope, scope_site_ids, site_visible
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.roadmap import (
    Action,
    build_roadmap,
    document,
    load_policy,
    mitigated_recently_by_site,
    replan,
    resolve_capacity,
)

__all__ = ["FIRST", "RoadmapView", "current_roadmap", "filter_actions", "scoped_roadmap", "store_roadmap",
           "stored_roadmap"]

FIRST = 5  # findings listed per action before "and N more" (the page's list)
PAYLOAD_KEY = "roadmap_doc"
PROGRESS_KEY = "roadmap_site_progress"  # site ID (or "none") → [findings mitigated in 90 days, their risk]


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
    owner_of = {r.id: r.asset_owner for group in refs.values() for r in group if r.asset_owner}
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
                   "first": _jsonable(group[:FIRST]), **_site_inputs(group, owner_of)}
                  for site_id, group in by_site.items()]
    if actions:
        session.execute(insert(RoadmapAction), actions)
    if sites:
        session.execute(insert(RoadmapActionSite), sites)
    head = {k: v for k, v in doc.items() if k != "actions"}
    # The progress summary per site, so a site's view sums it instead of counting its findings.
    progress = {"none" if site_id is None else str(site_id): list(pair)
                for site_id, pair in mitigated_recently_by_site(session, doc["as_of"]).items()}
    snapshot.payload = {**snapshot.payload, PAYLOAD_KEY: _jsonable(head), PROGRESS_KEY: progress}
    snapshot.ranked_at = utcnow()
    session.flush()


def _site_inputs(group: list[dict[str, Any]], owner_of: dict[int, str]) -> dict[str, Any]:
    """What ranking a site's view needs of one action's findings there (``group``, in the action's
    order: highest risk first, then ID): their summed risk, their severities, and each asset
    owner with how many of them it owns and where its first one stands, so that merging sites
    picks the owner ``build_roadmap`` would (the most common, ties to the one seen first)."""
    owners: dict[str, list[int]] = {}
    for f in group:
        owner = owner_of.get(f["id"])
        if owner:
            if owner not in owners:
                owners[owner] = [0, int(f["risk_score"]), int(f["id"])]
            owners[owner][0] += 1
    return {"risk": sum(int(f["risk_score"]) for f in group),
            "severities": sorted({f["severity"] for f in group}),
            "owners": [[owner, n, risk, fid] for owner, (n, risk, fid) in owners.items()]}


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

    def document(self) -> dict[str, Any]:
        """The roadmap's one serialised shape (``radguard roadmap --json``, ``/roadmap.json``,
        ``/api/v1/roadmap``): the document with when its ranking was made and whether it is stale."""
        return {**self.doc, "ranked_at": self.ranked_at, "stale": self.stale}


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


@dataclass
class _SiteGroup:
    """One action's stored per-site rows merged over the sites of a view."""

    count: int = 0
    risk: int = 0
    severities: set[str] = field(default_factory=set)
    first: list[dict[str, Any]] = field(default_factory=list)
    owners: dict[str, list[int]] = field(default_factory=dict)  # owner → [findings, first's risk, first's ID]

    def add(self, count: int, risk: int, severities: list[str], first: list[dict[str, Any]],
            owners: list[list[Any]]) -> None:
        self.count += count
        self.risk += risk
        self.severities.update(severities)
        self.first += first
        for owner, n, first_risk, first_id in owners:
            known = self.owners.get(owner)
            if known is None:
                self.owners[owner] = [n, first_risk, first_id]
            else:
                known[0] += n
                if (-first_risk, first_id) < (-known[1], known[2]):
                    known[1], known[2] = first_risk, first_id

    def owner(self) -> str | None:
        """The most common owner, ties to the one whose first finding comes first (risk, then ID),
        as ``Counter.most_common`` over the findings in order gives it in ``build_roadmap``."""
        if not self.owners:
            return None
        return min(self.owners.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[1][2]))[0]

    def listed(self) -> list[dict[str, Any]]:
        # Each site's first findings are its highest-risk ones, so the first of their union are too.
        return sorted(self.first, key=lambda f: (-f["risk_score"], f["id"]))[:FIRST]


def _ref(d: dict[str, Any]) -> FindingRef:
    return FindingRef(id=d["id"], check_id=d["check_id"], title=d["title"], severity=d["severity"],
                      risk_score=d["risk_score"], subject=d["subject"], due=d.get("due"))


def _at(asset_id: int | None, site_ids: set[int], org: bool, site_of: dict[int, int]) -> bool:
    """Whether a finding of ``asset_id`` (None: organisation-wide) is at one of ``site_ids``."""
    return org if asset_id is None else site_of.get(asset_id) in site_ids


def scoped_roadmap(session: Session, scope: frozenset[str], *, full: bool = False,
                   site_id: int | None = None) -> RoadmapView | None:
    """The roadmap of a caller limited to ``scope``'s sites, ranked from the stored per-site rows.

    What ``build_roadmap(scope=…)`` gives for the register as the stored ranking saw it (tested on
    SQLite and PostgreSQL), without reading the sites' findings: each finding action's risk,
    count, severities (for the pin rule) and owners at each visible site are summed over the
    sites, then ranked and scheduled (``readiness.roadmap.replan``) at the stored capacity. For
    several sites the rows are merged by their stored risk, so the order is that of one ranking
    over all their findings, not a merge of per-site orders. No checklist work (a
    self-assessment is the organisation's); progress is counted on the visible sites. None when
    no ranking is stored, or it was stored before these rows held risks (revision 0042).

    :param session: a read session.
    :param scope: the site codes the caller may see.
    :param full: every action lists all its findings at those sites (resolved by ID); else the first few.
    :param site_id: then only that site's part of each action (ranks kept; actions without any hidden).
    """
    snapshot = latest_snapshot(session)
    if snapshot is None or PAYLOAD_KEY not in snapshot.payload or snapshot.ranked_at is None:
        return None
    ids = scope_site_ids(session, scope) or []
    org = site_visible(None, scope)  # organisation-wide findings, when the scope rule shows them
    where = or_(RoadmapActionSite.site_id.in_(ids), RoadmapActionSite.site_id.is_(None)) if org \
        else RoadmapActionSite.site_id.in_(ids)
    rows = session.execute(
        select(RoadmapActionSite.rank, RoadmapActionSite.site_id, RoadmapActionSite.findings,
               RoadmapActionSite.first, RoadmapActionSite.risk, RoadmapActionSite.severities,
               RoadmapActionSite.owners)
        .where(RoadmapActionSite.snapshot_id == snapshot.id, where)).all()
    if any(r.risk is None for r in rows):
        return None
    groups: dict[int, _SiteGroup] = {}
    at_site: dict[int, _SiteGroup] = {}
    for r in rows:
        groups.setdefault(r.rank, _SiteGroup()).add(r.findings, r.risk, r.severities, r.first, r.owners)
        if site_id is not None and r.site_id in (site_id, None):
            at_site.setdefault(r.rank, _SiteGroup()).add(r.findings, r.risk, r.severities, r.first, r.owners)
    head = _restore_dates(dict(snapshot.payload[PAYLOAD_KEY]))
    capacity = float(head["summary"]["capacity_per_30_days"])
    policy = load_policy()
    topic_owner = {d.topic: d.owner for d in load_catalog().domains}
    stmt = (select(RoadmapAction).where(RoadmapAction.snapshot_id == snapshot.id, RoadmapAction.kind == "finding",
                                        RoadmapAction.rank.in_(sorted(groups)))
            .order_by(RoadmapAction.rank))
    if full:
        stmt = stmt.options(undefer(RoadmapAction.finding_ids))
    stored = session.scalars(stmt).all()
    every: dict[int, list[FindingRef]] = {}
    refs: dict[int, FindingRef] = {}
    site_of: dict[int, int] = {}
    if full:
        blobs = {r.rank: _blob_ids(r.finding_ids) for r in stored}
        refs = finding_refs(session, [i for group in blobs.values() for i in group])
        site_of = asset_sites(session)
        visible = set(ids)
        for rank, group in blobs.items():
            every[rank] = [refs[i] for i in group if i in refs and _at(refs[i].asset_id, visible, org, site_of)]
    actions, by_id = [], {}
    for row in stored:
        a, g = row.action, groups[row.rank]
        action = Action(
            id=a["id"], kind="finding", title=a["title"], what=a["what"], topic=a["topic"], effort=a["effort"],
            risk_reduction=float(g.risk), cost=policy.effort_cost[a["effort"]],
            owner=g.owner() or topic_owner.get(a["topic"], "Security lead"),
            findings=every[row.rank] if full else [_ref(f) for f in g.listed()],
            finding_count=None if full else g.count, severities=frozenset(g.severities))
        actions.append(action)
        by_id[action.id] = row.rank
    mitigated = None
    if PROGRESS_KEY in snapshot.payload:  # stored with the ranking (else, before it was, counted now)
        by_site = snapshot.payload[PROGRESS_KEY]
        keys = [str(i) for i in ids] + (["none"] if org else [])
        mitigated = (sum(by_site.get(k, [0, 0])[0] for k in keys), sum(by_site.get(k, [0, 0])[1] for k in keys))
    doc = document(replan(actions, policy, capacity), policy, session, None, head["as_of"], capacity, scope,
                   mitigated=mitigated)
    if site_id is not None:
        site_ids = {site_id}
        narrowed = []
        for a in doc["actions"]:
            part = at_site.get(by_id[a["id"]])
            if part is None:
                continue
            if full:
                listed = [f for f in a["why"]["findings"] if _at(refs[f["id"]].asset_id, site_ids, org, site_of)]
                narrowed.append({**a, "why": {**a["why"], "findings": listed}, "findings_closed": len(listed)})
            else:
                narrowed.append({**a, "why": {**a["why"], "findings": part.listed()}, "findings_closed": part.count})
        doc = {**doc, "actions": narrowed}
    return RoadmapView(doc=doc, ranked_at=snapshot.ranked_at, stale=snapshot.stale)


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


def _stored_capacity(session: Session) -> float | None:
    """The capacity the stored ranking was made at (None: none stored)."""
    snapshot = latest_snapshot(session)
    if snapshot is None or PAYLOAD_KEY not in snapshot.payload or snapshot.ranked_at is None:
        return None
    return float(snapshot.payload[PAYLOAD_KEY]["summary"]["capacity_per_30_days"])


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
        the roadmap of its sites' open findings ranked among themselves, from the stored per-site
        rows (:func:`scoped_roadmap`; what ``build_roadmap(scope=…)`` gives), live only when
        the stored ranking does not answer (as above).
    """
    site_id = site_id_for(session, site, scope=scope) if site else None
    view = None
    if assessment_id is None and _stored_capacity(session) == resolve_capacity(load_policy(), capacity):
        if scope is not None:
            view = scoped_roadmap(session, scope, full=full, site_id=site_id)
        else:
            view = stored_roadmap(session, site_ids=None if site_id is None else [site_id], full=full)
    if view is None and scope is not None:
        doc = build_roadmap(session, assessment_id, today=today, capacity=capacity, scope=scope)
        if site:
            doc = {**doc, "actions": filter_actions(
                doc["actions"], finding_ids=open_finding_ids(session, site=site, scope=scope))}
        view = RoadmapView(doc=doc)
    if view is None:
        doc = build_roadmap(session, assessment_id, today=today, capacity=capacity)
        doc = {**doc, "actions": filter_actions(
            doc["actions"], finding_ids=open_finding_ids(session, site=site) if site else None)}
        view = RoadmapView(doc=doc)
    if owner:
        view = RoadmapView(doc={**view.doc, "actions": filter_actions(view.doc["actions"], owner=owner)},
                           ranked_at=view.ranked_at, stale=view.stale)
    return view
