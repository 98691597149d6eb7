"""The findings register as people use it: list, show, and decide.

Decisions are state transitions recorded with who, when and why (a :class:`FindingEvent`):

* ``accept`` — open/reopened → ``risk_accepted`` until a date (required); when it passes, the
  next assessment reopens the finding if the condition is still there;
* ``resolve`` — open/reopened/risk_accepted → ``mitigated`` by a person; the next assessment
  reopens it if the condition is still observed;
* ``false_positive`` — any state except false_positive → ``false_positive``; stays closed;
* ``reopen`` — mitigated/risk_accepted/false_positive → ``reopened``.

This module is also the findings register's read side: :func:`list_findings` (filters and
paging), :func:`finding_counts` (open findings by severity and state) and the one serialised
shape :class:`FindingRecord` (docs/findings.md). The CLI, the web pages, the API, the CSV/JSON
exports and the reports all read findings through them, so ``state=open`` means ``open`` and
``reopened`` everywhere and a finding has the same facts wherever it is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Integer, func, literal, literal_column, or_, select
from sqlalchemy.orm import Session, object_session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from radguard.checks.loader import Catalog, default_catalog
from radguard.checks.risk import explain
from radguard.checks.sla import SEVERITIES, SlaPolicy
from radguard.checks.spec import FrameworkRefs
from radguard.db.base import utcnow
from radguard.db.keyset import SortKey, decode_cursor, encode_cursor
from radguard.db.keyset import after as keyset_after
from radguard.db.models.findings import (
    ALL_STATES,
    ASSESS_ACTOR,
    EVIDENCE_CHANGED,
    FIRST_OBSERVED,
    OPEN_STATES,
    SEVERITY_RANK_SQL,
    Finding,
    FindingEvent,
)
from radguard.db.models.inventory import Asset, Site
from radguard.db.models.response import ImagingService
from radguard.errors import InputError, NotFoundError, OutOfScopeError, RadguardError
from radguard.inventory.queries import find_asset, site_id_for
from radguard.inventory.scope import SiteScope, scope_site_ids, site_visible

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


class BeyondMaximumTerm(InputError):
    """A risk acceptance ends after ``sla.max_acceptance_days`` and no reason for exceeding it was given.

    A warning, not a ban (issue #19): the same decision with a justification is accepted, and the
    justification is kept with the decision. Pages show the extra field when they catch this.
    """

    def __init__(self, until: datetime, longest: int) -> None:
        self.longest = longest
        super().__init__("findings", None, "until",
                         f"{until.date().isoformat()} is more than {longest} days ahead; a risk acceptance lasts "
                         f"at most {longest} days (settings: sla.max_acceptance_days), then is decided again. "
                         "To accept for longer, give a reason for exceeding the maximum")


SERVICE_SUBJECT = "service:"  # the subject of a finding about an imaging service (checks/evaluators/response.py)


def service_sites(session: Session) -> dict[str, str]:
    """``service:KEY`` → site code, for each imaging service at a site.

    A finding about such a service (it has no asset, e.g. RG-RTO-UNPROVEN) is that site's, not
    the organisation's: another site's staff must not see it, that site's may decide it.
    """
    return {SERVICE_SUBJECT + key: code for key, code in session.execute(
        select(ImagingService.key, Site.code).join(Site, Site.id == ImagingService.site_id))}


def finding_site(session: Session, finding: Finding, services: Mapping[str, str] | None = None) -> str | None:
    """The site a finding belongs to: its asset's, else its imaging service's; None: organisation-wide.

    Organisation-wide findings (no asset and no site's service: the response team, playbooks'
    drills, programme-level checks) are shown to site-limited accounts read-only (:func:`transition`
    refuses their decisions), labelled as the organisation's.

    :param services: :func:`service_sites`, when the caller already has it (a list of findings).
    """
    if finding.asset is not None:
        return finding.asset.site.code
    subject = finding.subject or ""
    if not subject.startswith(SERVICE_SUBJECT):
        return None
    if services is None:
        key = subject.removeprefix(SERVICE_SUBJECT)
        return session.scalar(select(Site.code).join(ImagingService, ImagingService.site_id == Site.id)
                              .where(ImagingService.key == key))
    return services.get(subject)


def get_finding(session: Session, finding_id: int, *, scope: SiteScope = None) -> Finding:
    """One finding with its events and tickets.

    :param finding_id: the ID.
    :param scope: the sites the caller may see (:mod:`radguard.inventory.scope`): a finding of
        another site (its asset's or its imaging service's) is "not found"; an organisation-wide
        one is found (read-only: :func:`transition` refuses to decide it for a site-scoped caller).
    """
    finding = session.scalar(select(Finding).where(Finding.id == finding_id).options(
        selectinload(Finding.events), selectinload(Finding.tickets),
        selectinload(Finding.asset).selectinload(Asset.site)))
    if finding is None:
        raise NotFoundError(f"no finding {finding_id}; see `radguard findings list`")
    site = finding_site(session, finding)
    if site is not None and not site_visible(site, scope):
        raise NotFoundError(f"no finding {finding_id}; see `radguard findings list`")
    return finding


def transition(session: Session, finding_id: int, action: str, *, by: str, reason: str,
               until: datetime | None = None, now: datetime | None = None,
               sla: SlaPolicy | None = None, beyond_maximum_reason: str | None = None,
               scope: SiteScope = None) -> Finding:
    """Apply a person's decision; raises with the allowed states if it does not apply.

    :param beyond_maximum_reason: why a risk acceptance may end later than
        ``sla.max_acceptance_days``; without it such an end date raises :class:`BeyondMaximumTerm`.
        Kept in the decision's event (``evidence.beyond_maximum``) — the one rule CLI and web share.
    :param scope: the sites the deciding person may see: a finding outside it is "not found", and
        an organisation-wide one (:func:`finding_site`) is refused with :class:`OutOfScopeError`.
    """
    if action not in ACTIONS:
        raise InputError("findings", None, "action", f"{action!r} is not one of {', '.join(ACTIONS)}")
    target = ACTIONS[action]
    now = now or utcnow()
    beyond: dict[str, Any] | None = None
    if not by.strip():
        raise InputError("findings", None, "by", "say who makes this decision")
    if not reason.strip():
        raise InputError("findings", None, "reason", "give a reason; it is kept in the finding's history")
    finding = get_finding(session, finding_id, scope=scope)
    if scope is not None and finding_site(session, finding) is None:
        sites = ", ".join(sorted(scope)) or "no site"
        raise OutOfScopeError(f"finding {finding_id} is organisation-wide; your account is limited to {sites}, so "
                              "it may read it but not decide it: ask someone whose account has no site limit")
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
            justification = (beyond_maximum_reason or "").strip()
            if not justification:
                raise BeyondMaximumTerm(until, longest)
            if len(justification) > 10_000:
                raise InputError("findings", None, "beyond maximum reason", "longer than 10,000 characters")
            beyond = {"max_days": longest, "reason": justification}
    previous = finding.state
    finding.state = target
    detail: dict[str, Any] = {"until": until.isoformat()} if until else {}
    if target == "risk_accepted" and beyond is not None:
        detail["beyond_maximum"] = beyond
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
                                       reason=reason.strip(), evidence=detail))
    session.flush()
    # The stored dashboard counts move with the decision.
    from radguard.checks.stored_counts import note_transition

    note_transition(session, finding.check_id, finding.severity, previous, target)
    if finding.asset_id is not None:
        refresh_asset_rollups(session, [finding.asset_id])
    return finding


def refresh_asset_rollups(session: Session, asset_ids: Iterable[int] | None = None) -> int:
    """Store each asset's highest open risk score and open-finding count on the asset row.

    The inventory sorts by these (migration 0031); computing them per request would aggregate
    the whole register. The assessment calls this once at its end and a decision for its
    finding's asset. Only rows whose figures changed are written (a re-assessment of an
    unchanged fleet writes nothing), and the asset's ``updated_at`` is left alone: a roll-up is
    not an inventory edit. Returns how many assets changed.

    :param asset_ids: only these assets (default: every asset).
    """
    conds: list[ColumnElement[bool]] = [Finding.state.in_(OPEN_STATES), Finding.asset_id.is_not(None)]
    stored = select(Asset.id, Asset.risk_score, Asset.open_findings)
    if asset_ids is not None:
        ids = sorted(set(asset_ids))
        if not ids:
            return 0
        conds.append(Finding.asset_id.in_(ids))
        stored = stored.where(Asset.id.in_(ids))
    fresh = {int(aid or 0): (int(risk or 0), int(n)) for aid, risk, n in session.execute(
        select(Finding.asset_id, func.max(Finding.risk_score), func.count()).where(*conds)
        .group_by(Finding.asset_id))}
    return write_asset_rollups(session, {aid: fresh.get(aid, (0, 0)) for aid, risk, n in session.execute(stored)
                                         if (risk, n) != fresh.get(aid, (0, 0))})


def write_asset_rollups(session: Session, changes: dict[int, tuple[int, int]]) -> int:
    """Store the given assets' roll-ups (asset ID → (highest open risk, open findings)); returns how many.

    The one writer of the figures: :func:`refresh_asset_rollups` computes them in SQL, the
    assessment from the register it holds (:class:`radguard.checks.register.AssessedRegister`).
    """
    if not changes:
        return 0
    # Plain SQL to the driver (updated_at is not set, so its ORM onupdate never stamps the asset
    # as edited): a first assessment changes every asset, and SQLAlchemy's per-row parameter
    # processing of 50,000 rows, or on PostgreSQL as many UPDATE statements, cost more than the
    # database's work (7 s wall on PostgreSQL at 50,000 assets, issue #18).
    conn = session.connection()
    ordered = sorted(changes.items())
    if conn.dialect.name == "postgresql":
        # One statement for all of them: the new figures as three arrays, joined on the ID.
        conn.exec_driver_sql(
            "UPDATE asset SET risk_score = v.risk, open_findings = v.n FROM "
            "unnest(%(ids)s::integer[], %(risks)s::integer[], %(opens)s::integer[]) AS v(aid, risk, n) "
            "WHERE asset.id = v.aid",
            {"ids": [aid for aid, _ in ordered], "risks": [risk for _, (risk, _n) in ordered],
             "opens": [n for _, (_risk, n) in ordered]})
    else:
        conn.exec_driver_sql("UPDATE asset SET risk_score = ?, open_findings = ? WHERE id = ?",
                             [(risk, n, aid) for aid, (risk, n) in ordered])
    return len(changes)


def _site_id(session: Session, site: str, scope: SiteScope = None) -> int:
    return site_id_for(session, site, scope=scope)  # another site is as unknown as no site


def _wanted_states(states: Sequence[str]) -> set[str]:
    wanted: set[str] = set()
    for state in states:
        state = state.replace("-", "_")
        if state not in ALL_STATES:
            raise InputError("findings", None, "state", f"{state!r} is not one of {', '.join(ALL_STATES)}")
        wanted |= set(OPEN_STATES) if state == "open" else {state}
    return wanted


# Severity as a rank, highest first: literal SQL, the very expression of the
# ``ix_finding_severity_order`` index (bound parameters would make it a different expression).
SEVERITY_RANK = literal_column(f"({SEVERITY_RANK_SQL})", Integer)

_RISK = SortKey(Finding.risk_score, descending=True)
_ID = SortKey(Finding.id)
# Each order ends with the ID (unique, so a cursor is exact) and matches one index of
# migrations 0018/0027 column for column, so no page ever sorts the register. State and site are
# filters, not orders: an index led by state would be SQLite's pick for the open-findings counts
# instead of their covering index (tests/db/test_schema.py), and a site order needs a join.
FINDING_SORTS: dict[str, tuple[SortKey, ...]] = {
    "risk": (_RISK, _ID),
    "severity": (SortKey(SEVERITY_RANK, descending=True), _RISK, _ID),
    "check": (SortKey(Finding.check_id), _RISK, _ID),
    "asset": (SortKey(Finding.asset_id, nullable=True), _RISK, _ID),
    "due": (SortKey(Finding.due, nullable=True), _RISK, _ID),
    "last_seen": (SortKey(Finding.last_seen, descending=True), _ID),
}
# A count stops here: beyond it the page says "more than N" (an exact count of a large
# register is a full scan on every request, for a number nobody pages through).
COUNT_CAP = 10_000


def _sort_keys(sort: str) -> tuple[SortKey, ...]:
    if sort not in FINDING_SORTS:
        raise InputError("findings", None, "sort", f"{sort!r} is not one of {', '.join(FINDING_SORTS)}")
    return FINDING_SORTS[sort]


def _not_elsewhere(site_ids: Sequence[int]) -> ColumnElement[bool]:
    """Findings of no asset that are not about an imaging service at a site outside ``site_ids``.

    That is the organisation-wide findings and those of these sites' services (:func:`finding_site`).
    """
    elsewhere = select(literal(SERVICE_SUBJECT) + ImagingService.key).where(
        ImagingService.site_id.is_not(None), ImagingService.site_id.not_in(list(site_ids)))
    return Finding.asset_id.is_(None) & or_(Finding.subject.is_(None), Finding.subject.not_in(elsewhere))


def scope_condition(session: Session, scope: SiteScope, *,
                    organisation_wide: bool = False) -> ColumnElement[bool] | None:
    """The findings a caller limited to ``scope`` may see (None: no limit).

    Without ``organisation_wide``: those of assets at its sites — what a site's roadmap ranks.
    With it: also the findings of no asset that are not another site's (:func:`_not_elsewhere`):
    the organisation-wide ones, which a site-scoped caller reads but may not decide
    (:func:`transition`), and its sites' imaging services'. The lists, counts and look-ups here
    pass it, so every surface (pages, API, CLI-equivalent reads, reports) shows the same set.
    Written as the site filter below is (a sub-select on ``asset_id + 0``) so the lists still
    walk the index of their order.
    """
    ids = scope_site_ids(session, scope)
    if ids is None:
        return None
    at_sites = (Finding.asset_id + 0).in_(select(Asset.id).where(Asset.site_id.in_(ids)))
    return at_sites | _not_elsewhere(ids) if organisation_wide else at_sites


def _conditions(session: Session, *, states: Sequence[str], severities: Sequence[str], asset_ref: str | None,
                check_ids: Sequence[str], site: str | None, due_before: date | None,
                scope: SiteScope = None) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    limit = scope_condition(session, scope, organisation_wide=True)
    if limit is not None:
        out.append(limit)
    wanted = _wanted_states(states)
    if wanted:
        out.append(Finding.state.in_(sorted(wanted)))
    if severities:
        out.append(Finding.severity.in_([s.lower() for s in severities]))
    if asset_ref:
        out.append(Finding.asset_id == find_asset(session, asset_ref, scope=scope).id)
    if check_ids:
        out.append(Finding.check_id.in_([c.upper() for c in check_ids]))
    if site:
        # A sub-select, not a join, on ``asset_id + 0`` (which no index matches): the list walks
        # the index of its order and tests each row, rather than collecting a site's findings by
        # asset and sorting them (SQLite's choice otherwise; a temporary B-tree per request).
        sid = _site_id(session, site, scope)
        out.append(_not_elsewhere([sid]) | (Finding.asset_id + 0).in_(select(Asset.id).where(Asset.site_id == sid)))
    if due_before is not None:
        out.append(Finding.due < due_before)
    return out


def _ordered(session: Session, stmt: Any, keys: Sequence[SortKey], sort: str, after: str | None,
             offset: int, limit: int | None) -> Any:
    if after:
        values = decode_cursor(after, sort, keys, source="findings")
        stmt = stmt.where(keyset_after(keys, values, session.get_bind().dialect.name))
    stmt = stmt.order_by(*(k.order() for k in keys))
    if offset:
        stmt = stmt.offset(offset)
    if limit:
        stmt = stmt.limit(limit)
    return stmt


def list_findings(session: Session, *, states: Sequence[str] = (), severities: Sequence[str] = (),
                  asset_ref: str | None = None, check_ids: Sequence[str] = (), site: str | None = None,
                  due_before: date | None = None, sort: str = "risk", after: str | None = None,
                  limit: int | None = None, offset: int = 0, scope: SiteScope = None) -> Sequence[Finding]:
    """Findings, highest risk first (then by ID) — the one findings query every surface uses.

    :param states: ``open`` also matches ``reopened`` (both count as open); repeatable.
    :param severities: critical, high, medium, low, info.
    :param asset_ref: asset ID, ``SITE/NAME`` or a unique name.
    :param check_ids: check IDs (any case).
    :param site: a site code: that site's assets' and imaging services' findings plus the
        organisation-wide ones (they count for every site).
    :param due_before: only findings due before this day (overdue: today).
    :param sort: one of :data:`FINDING_SORTS` (each then by risk, then ID).
    :param after: a cursor from :func:`findings_cursor`: the rows after that one.
    :param limit: at most this many (paging with ``offset`` or ``after``).
    :param offset: skip this many first.
    :param scope: the sites the caller may see (:mod:`radguard.inventory.scope`); None: all.
        Its sites' findings and the organisation-wide ones (:func:`scope_condition`); a ``site``
        or ``asset_ref`` outside it is "not found".
    """
    keys = _sort_keys(sort)
    stmt = select(Finding).options(selectinload(Finding.asset).selectinload(Asset.site),
                                   selectinload(Finding.tickets)).where(
        *_conditions(session, states=states, severities=severities, asset_ref=asset_ref, check_ids=check_ids,
                     site=site, due_before=due_before, scope=scope))
    return session.scalars(_ordered(session, stmt, keys, sort, after, offset, limit)).all()


def _key_value(row: Any, key: SortKey) -> Any:
    if key.expr is SEVERITY_RANK:
        return SEVERITY_ORDER.get(row.severity, 0)
    return getattr(row, str(key.expr.key))


SEVERITY_ORDER = {"critical": 5, "high": 4, "medium": 3, "low": 2, "info": 1}


def findings_cursor(row: Any, sort: str = "risk") -> str:
    """The cursor for the rows after ``row`` (a :class:`Finding` or :class:`FindingRow`) in ``sort``."""
    keys = _sort_keys(sort)
    return encode_cursor(sort, [_key_value(row, k) for k in keys])


class FindingRow(NamedTuple):
    """A findings list row: the columns the list shows, nothing else (no evidence or explanation JSON)."""

    id: int
    risk_score: int
    severity: str
    check_id: str
    title: str
    state: str
    due: date | None
    last_seen: datetime
    asset_id: int | None
    subject: str | None
    key: str
    asset_name: str | None = None
    site_code: str | None = None  # the asset's site, or the imaging service's; None for no asset: organisation-wide

    @property
    def organisation_wide(self) -> bool:
        """No asset and no site's imaging service: the organisation's (:func:`finding_site`)."""
        return self.asset_id is None and self.site_code is None


@dataclass(frozen=True)
class FindingsPage:
    """One page of the findings list.

    ``total`` is exact up to :data:`COUNT_CAP`; beyond it ``more`` is True and ``total`` is the cap.
    ``next_cursor`` is None on the last page.
    """

    rows: list[FindingRow]
    total: int
    more: bool
    next_cursor: str | None
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


_ROW_COLUMNS = (Finding.id, Finding.risk_score, Finding.severity, Finding.check_id, Finding.title, Finding.state,
                Finding.due, Finding.last_seen, Finding.asset_id, Finding.subject, Finding.key)


def findings_page(session: Session, *, states: Sequence[str] = (), severities: Sequence[str] = (),
                  asset_ref: str | None = None, check_ids: Sequence[str] = (), site: str | None = None,
                  due_before: date | None = None, sort: str = "risk", after: str | None = None,
                  page: int = 1, per_page: int = 50, scope: SiteScope = None) -> FindingsPage:
    """A page of :func:`list_findings`' rows as :class:`FindingRow` (same filters and orders).

    With ``after`` the page starts after that cursor (``page`` is then only the number shown);
    without it, page ``page`` by offset. Reads one page of plain columns, the page's assets and
    sites by ID, and a count that stops at :data:`COUNT_CAP`.
    """
    keys = _sort_keys(sort)
    page = max(1, page)
    conds = _conditions(session, states=states, severities=severities, asset_ref=asset_ref, check_ids=check_ids,
                        site=site, due_before=due_before, scope=scope)
    stmt = _ordered(session, select(*_ROW_COLUMNS).where(*conds), keys, sort, after,
                    0 if after else (page - 1) * per_page, per_page + 1)
    fetched = [FindingRow(*r) for r in session.execute(stmt)]
    rows, has_next = fetched[:per_page], len(fetched) > per_page
    asset_ids = sorted({r.asset_id for r in rows if r.asset_id is not None})
    if asset_ids:
        names = {aid: (name, code) for aid, name, code in session.execute(
            select(Asset.id, Asset.name, Site.code).join(Site, Site.id == Asset.site_id)
            .where(Asset.id.in_(asset_ids)))}
        rows = [r._replace(asset_name=names[r.asset_id][0], site_code=names[r.asset_id][1])
                if r.asset_id in names else r for r in rows]
    if any(r.asset_id is None for r in rows):
        services = service_sites(session)
        rows = [r._replace(site_code=services.get(r.subject or "")) if r.asset_id is None else r for r in rows]
    counted = session.scalar(select(func.count()).select_from(
        select(Finding.id).where(*conds).limit(COUNT_CAP + 1).subquery())) or 0
    return FindingsPage(rows=rows, total=min(counted, COUNT_CAP), more=counted > COUNT_CAP,
                        next_cursor=findings_cursor(rows[-1], sort) if has_next and rows else None,
                        page=page, per_page=per_page)


@dataclass(frozen=True)
class FindingCounts:
    """How many findings there are per (check, state, severity); the views below are derived."""

    rows: tuple[tuple[str, str, str, int], ...]

    @property
    def total(self) -> int:
        return sum(n for *_, n in self.rows)

    @property
    def open(self) -> int:
        return sum(n for _, state, _, n in self.rows if state in OPEN_STATES)

    @property
    def by_state(self) -> dict[str, int]:
        """Every state (zero included), in :data:`ALL_STATES` order."""
        return {st: sum(n for _, state, _, n in self.rows if state == st) for st in ALL_STATES}

    @property
    def open_by_severity(self) -> dict[str, int]:
        """Open (incl. reopened) findings per severity, most severe first, zero included."""
        return {sv: sum(n for _, state, sev, n in self.rows if state in OPEN_STATES and sev == sv)
                for sv in SEVERITIES}

    @property
    def open_by_check(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for check_id, state, _, n in self.rows:
            if state in OPEN_STATES:
                out[check_id] = out.get(check_id, 0) + n
        return out


def finding_counts(session: Session, *, site: str | None = None, scope: SiteScope = None) -> FindingCounts:
    """Findings counted in SQL (one grouped query), for the dashboard, reports and API.

    :param site: a site code, with the same rule as :func:`list_findings`.
    :param scope: the sites the caller may see; None: all.
    """
    stmt = select(Finding.check_id, Finding.state, Finding.severity, func.count())
    limit = scope_condition(session, scope, organisation_wide=True)
    if limit is not None:
        stmt = stmt.where(limit)
    if site:
        sid = _site_id(session, site, scope)
        stmt = stmt.outerjoin(Asset, Finding.asset_id == Asset.id).where(
            _not_elsewhere([sid]) | (Asset.site_id == sid))
    rows = session.execute(stmt.group_by(Finding.check_id, Finding.state, Finding.severity)
                           .order_by(Finding.check_id, Finding.state, Finding.severity)).all()
    return FindingCounts(tuple((c, st, sv, int(n)) for c, st, sv, n in rows))


class FindingAsset(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: int
    name: str
    site: str
    asset_class: str = Field(alias="class")


class FindingRecord(BaseModel):
    """A finding's one serialised shape: CLI ``--json``, the API and the exports (docs/findings.md)."""

    model_config = ConfigDict(populate_by_name=True)

    id: int
    fingerprint: str
    check_id: str
    title: str
    summary: str | None
    asset: FindingAsset | None
    subject: str | None
    key: str
    state: str
    severity: str
    risk_score: int
    risk_explanation: dict[str, Any]
    due: date | None
    first_seen: datetime
    last_seen: datetime
    closed_at: datetime | None
    decided_by: str | None
    decision_reason: str | None
    accepted_until: datetime | None
    evidence: dict[str, Any]
    known_exploited: bool
    safeguard_type: str | None
    defense_layer: str | None
    frameworks: FrameworkRefs
    remediation: str | None
    tickets: dict[str, str] = Field(default_factory=dict,
                                    description="Ticket system (jira, servicenow) → the ticket key it was handed to.")
    organisation_wide: bool = Field(False, description="No asset and no site's imaging service: the organisation's. "
                                    "An account limited to sites reads it but may not decide it.")


class FindingDetail(FindingRecord):
    """``findings show``: the record plus its history and, for advisory checks, the advisory."""

    history: list[dict[str, Any]] = Field(default_factory=list)
    advisory: dict[str, Any] | None = None


def finding_model(finding: Finding, catalog: Catalog | None = None, *, events: bool = False,
                  services: Mapping[str, str] | None = None) -> FindingRecord:
    """The finding as :class:`FindingRecord` (or :class:`FindingDetail` with ``events``).

    :param services: :func:`service_sites`, read once by a caller serialising many findings
        (else an asset-less finding's service site is looked up).
    """
    spec = (catalog if catalog is not None else default_catalog()).spec(finding.check_id)
    asset = finding.asset
    fields: dict[str, Any] = {
        "id": finding.id, "fingerprint": finding.fingerprint, "check_id": finding.check_id, "title": finding.title,
        "summary": finding.summary,
        "asset": FindingAsset(id=asset.id, name=asset.name, site=asset.site.code, asset_class=asset.asset_class)
        if asset is not None else None,
        "subject": finding.subject, "key": finding.key, "state": finding.state, "severity": finding.severity,
        "risk_score": finding.risk_score, "risk_explanation": explain(finding.risk_explanation), "due": finding.due,
        "first_seen": finding.first_seen, "last_seen": finding.last_seen, "closed_at": finding.closed_at,
        "decided_by": finding.decided_by, "decision_reason": finding.decision_reason,
        "accepted_until": finding.accepted_until, "evidence": dict(finding.evidence or {}),
        "known_exploited": bool((finding.evidence or {}).get("kev")),
        "safeguard_type": spec.safeguard_type if spec else None,
        "defense_layer": spec.defense_layer if spec else None,
        # a finding of a check no longer in the catalog keeps its place, mapped to nothing
        "frameworks": spec.frameworks.model_copy() if spec
        else FrameworkRefs.model_construct(csf2=[], hicp=[], hph_cpg=[], hipaa=[]),
        "remediation": spec.remediation if spec else None,
        "tickets": {t.system: t.key for t in finding.tickets},
        "organisation_wide": asset is None and _session_site(finding, services) is None,
    }
    if not events:
        return FindingRecord(**fields)
    advisory = None
    if finding.check_id in ADVISORY_CHECKS:
        session = object_session(finding)
        advisory = advisory_detail(session, finding.evidence) if session is not None else None
    return FindingDetail(**fields, history=history(finding), advisory=advisory)


def _session_site(finding: Finding, services: Mapping[str, str] | None) -> str | None:
    session = object_session(finding)
    if session is None:  # a detached finding: only what ``services`` says
        return (services or {}).get(finding.subject or "")
    return finding_site(session, finding, services)


def finding_record(finding: Finding, catalog: Catalog | None = None, *, events: bool = False,
                   services: Mapping[str, str] | None = None) -> dict[str, Any]:
    """:func:`finding_model` as a plain dict (values not yet JSON-encoded), aliases applied."""
    return finding_model(finding, catalog, events=events, services=services).model_dump(by_alias=True)


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
    asset_id: int | None = None  # None for an organization-wide finding

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "check_id": self.check_id, "title": self.title, "severity": self.severity,
                "risk_score": self.risk_score, "subject": self.subject, "due": self.due}


def open_findings(session: Session, check_ids: Iterable[str] | None = None, *,
                  scope: SiteScope = None, organisation_wide: bool = False) -> dict[str, list[FindingRef]]:
    """Open findings grouped by check ID (all checks, or only those named), highest risk first.

    :param scope: the sites the caller may see (:func:`scope_condition`); None: all.
    :param organisation_wide: with ``scope``, also the organisation-wide findings (what the
        findings list shows such a caller; the roadmap ranks without them).
    """
    # Plain columns, not Finding objects: a large register has hundreds of thousands of open
    # findings, and loading each with its evidence and explanation JSON took minutes.
    query = _ref_query().where(Finding.state.in_(OPEN_STATES)).order_by(
        Finding.check_id, Finding.risk_score.desc(), Finding.id)
    limit = scope_condition(session, scope, organisation_wide=organisation_wide)
    if limit is not None:
        query = query.where(limit)
    if check_ids is not None:
        wanted = sorted(set(check_ids))
        if not wanted:
            return {}
        query = query.where(Finding.check_id.in_(wanted))
    grouped: dict[str, list[FindingRef]] = {}
    for ref in _refs(session, query):
        grouped.setdefault(ref.check_id, []).append(ref)
    return grouped


def _ref_query() -> Any:
    return (select(Finding.id, Finding.check_id, Finding.title, Finding.severity, Finding.risk_score,
                   Finding.subject, Finding.key, Finding.due, Asset.name, Asset.owner, Finding.asset_id)
            .outerjoin(Asset, Asset.id == Finding.asset_id))


def _refs(session: Session, query: Any) -> Iterator[FindingRef]:
    for fid, check_id, title, severity, risk_score, subject, key, due, asset_name, asset_owner, asset_id in \
            session.execute(query):
        label = asset_name or subject or "organization"
        if key:
            label += f" ({key})"
        yield FindingRef(id=fid, check_id=check_id, title=title, severity=severity, risk_score=risk_score,
                         subject=label, asset_owner=asset_owner, due=due.isoformat() if due else None,
                         asset_id=asset_id)


def finding_refs(session: Session, ids: Iterable[int], chunk: int = 5000) -> dict[int, FindingRef]:
    """The findings with these IDs (in any state) as :func:`open_findings` describes them, by ID.

    For documents that keep findings by ID (the stored roadmap) and show them later.

    :param session: a read session.
    :param ids: finding IDs; unknown ones are left out.
    :param chunk: IDs per query (a bound parameter each).
    """
    wanted = sorted(set(ids))
    out: dict[int, FindingRef] = {}
    for start in range(0, len(wanted), chunk):
        part = wanted[start:start + chunk]
        out.update((ref.id, ref) for ref in _refs(session, _ref_query().where(Finding.id.in_(part))))
    return out


def open_finding_ids(session: Session, *, site: str | None = None, scope: SiteScope = None) -> set[int]:
    """The IDs of the open (incl. reopened) findings, or of those :func:`list_findings` counts for ``site``.

    For pages that narrow a view built from every open finding (the roadmap by site) to one
    site's, with the same site rule as the findings list (organization-wide findings count for
    every site). An unknown site, or one outside ``scope``, is refused as the list refuses it.
    """
    conditions = _conditions(session, states=["open"], severities=(), asset_ref=None, check_ids=(), site=site,
                             due_before=None, scope=scope)
    return set(session.scalars(select(Finding.id).where(*conditions)))


def open_severities_by_asset(session: Session) -> dict[int, list[str]]:
    """The severities of each asset's open (incl. reopened) findings, for per-asset exports."""
    out: dict[int, list[str]] = {}
    for asset_id, severity in session.execute(
            select(Finding.asset_id, Finding.severity)
            .where(Finding.state.in_(OPEN_STATES), Finding.asset_id.is_not(None))).all():
        if asset_id is not None:
            out.setdefault(asset_id, []).append(severity)
    return out
