"""The readiness roadmap: checklist gaps and open findings turned into one ranked action list.

* Open findings are grouped by check: fixing a check's cause is one action, whose risk
  reduction is the sum of its findings' risk scores (0–100 each).
* A question below its domain target is one action worth ``weight × levels × points_per_level``
  risk points. A question challenged by evidence is also listed under the checks whose findings
  challenge it: closing them restores the answer.
* Effort comes from the check's metadata (``effort``) or the question's, in effort points
  (low 1, medium 2, high 4); priority = risk reduction ÷ effort points.
* Ranking (:func:`rank_key`, the one order every output shows): pinned actions (critical
  known-exploited findings) first; then by ranked priority — an action's own priority, raised to
  that of the most urgent action waiting on it, so a prerequisite never comes after what needs
  it; ties by fewer prerequisite topics, own priority, risk reduction, then ID.
* Horizons come from the ranking and the team's capacity (effort points per 30 days): working
  down the list, an action lands in the horizon in which the running total of effort points is
  finished. Pinned actions are in the first horizon whatever the capacity.

The roadmap is computed from live data, so it shrinks as findings close and answers improve.
:func:`top_of_roadmap` is the one place the "top actions" and "top risks" that the executive
report, the dashboard and the demo show are cut from the ranking.
"""

from __future__ import annotations

import io
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from radguard.checks.findings import scope_condition
from radguard.checks.spec import Effort
from radguard.csvcells import CsvWriter
from radguard.db.models.checklists import ChecklistAssessment
from radguard.db.models.findings import Finding
from radguard.db.models.inventory import Asset
from radguard.errors import ConfigError, NotFoundError
from radguard.inventory.scope import SiteScope
from radguard.readiness.checklists.assessments import answers_of, get_assessment, previous_assessment
from radguard.readiness.checklists.evidence import CHALLENGE_CAP, FindingRef, open_findings
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.checklists.models import ChecklistCatalog, Question
from radguard.readiness.checklists.report import header
from radguard.wording import noun

POLICY_PATH = Path(__file__).parent / "roadmap.yaml"
# Overrides roadmap.yaml's capacity_per_30_days for every roadmap a process builds (CLI, reports,
# dashboard and API), so a team sets its capacity once; `radguard roadmap --capacity` wins over it.
ENV_CAPACITY = "RADGUARD_ROADMAP_CAPACITY"
TOP = 5  # how many actions and risks "the top of the roadmap" shows


class Horizon(BaseModel):
    """A planning window ending ``days`` after today; ``None`` for the last, open-ended one."""

    model_config = ConfigDict(extra="forbid")
    label: str
    days: int | None


class PinRule(BaseModel):
    """Checks whose actions skip the queue when any open finding has one of ``severities``."""

    model_config = ConfigDict(extra="forbid")
    checks: list[str] = Field(default_factory=list)
    severities: list[str] = Field(default_factory=list)


class RoadmapPolicy(BaseModel):
    """The numbers and the dependency graph that shape the roadmap (roadmap.yaml)."""

    model_config = ConfigDict(extra="forbid")

    effort_cost: dict[Effort, float]
    points_per_level: float
    capacity_per_30_days: float = Field(gt=0)
    horizons: list[Horizon]
    pin_first: PinRule = Field(default_factory=PinRule)
    topics: dict[str, list[str]]
    check_topics: dict[str, str]
    check_overrides: dict[str, str]

    @model_validator(mode="after")
    def _graph(self) -> RoadmapPolicy:
        for topic, needs in self.topics.items():
            for need in needs:
                if need not in self.topics:
                    raise ValueError(f"topic {topic} depends on unknown topic {need}")
        for name, topic in {**self.check_topics, **self.check_overrides}.items():
            if topic not in self.topics:
                raise ValueError(f"{name} maps to unknown topic {topic}")
        if not self.horizons or self.horizons[-1].days is not None:
            raise ValueError("the last horizon must be open-ended (days: null)")
        ends = [h.days for h in self.horizons[:-1]]
        if any(d is None or d <= 0 for d in ends) or ends != sorted(set(ends)):  # type: ignore[type-var]
            raise ValueError("horizon days must be positive and increasing, with only the last one null")
        if any(cost <= 0 for cost in self.effort_cost.values()):
            raise ValueError("effort costs must be positive")
        self.prerequisites()  # raises on a cycle
        return self

    def prerequisites(self) -> dict[str, set[str]]:
        """Topic → every topic it depends on, directly or transitively (raises on cycles)."""
        closed: dict[str, set[str]] = {}

        def visit(topic: str, path: tuple[str, ...]) -> set[str]:
            if topic in path:
                raise ValueError("topic dependencies form a cycle: " + " → ".join((*path, topic)))
            if topic not in closed:
                out: set[str] = set()
                for need in self.topics[topic]:
                    out |= {need} | visit(need, (*path, topic))
                closed[topic] = out
            return closed[topic]

        for topic in self.topics:
            visit(topic, ())
        return closed

    def check_topic(self, check_id: str, defense_layer: str | None) -> str:
        return self.check_overrides.get(check_id) or self.check_topics.get(defense_layer or "", "governance")


@lru_cache(maxsize=1)
def load_policy(path: Path = POLICY_PATH) -> RoadmapPolicy:
    try:
        return RoadmapPolicy.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except Exception as exc:
        raise ConfigError(f"{path}: the roadmap policy is invalid: {exc}") from exc


@dataclass
class CheckWork:
    """The open findings of one check, with what the check catalog says about fixing them."""

    check_id: str
    title: str
    remediation: str
    effort: Effort
    topic: str
    findings: list[FindingRef]


@dataclass
class QuestionWork:
    question: Question
    claimed: int | None
    target: int
    owner: str
    topic: str
    challenged_by: list[str] = field(default_factory=list)  # check IDs with open findings


@dataclass
class Action:
    """One roadmap action; :func:`rank` and :func:`schedule` fill the fields after ``depends_on``."""

    id: str
    kind: str  # "finding" or "checklist"
    title: str
    what: str
    topic: str
    effort: Effort
    risk_reduction: float
    cost: float  # effort points
    owner: str
    findings: list[FindingRef] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)
    # For an action read back from the stored per-site rows (readiness.roadmap_store), which
    # lists only its first findings: how many it closes and their severities (None: count and
    # read ``findings``).
    finding_count: int | None = None
    severities: frozenset[str] | None = None
    depends_on: list[str] = field(default_factory=list)
    depth: int = 0  # how many topics this action's topic waits on, directly or not
    pinned: bool = False
    ranked_priority: float = 0.0
    ranked_for: str | None = None  # the dependent whose priority this prerequisite ranks at
    cumulative_effort: float = 0.0  # effort points of this action and every action ranked before it
    horizon: int = 0

    @property
    def closes(self) -> int:
        """How many open findings the action closes."""
        return len(self.findings) if self.finding_count is None else self.finding_count

    @property
    def priority(self) -> float:
        """Risk points removed per effort point: the ranking's measure of value for work."""
        return round(self.risk_reduction / self.cost, 2)


def plan(checks: list[CheckWork], questions: list[QuestionWork], policy: RoadmapPolicy,
         topic_owner: dict[str, str], capacity: float | None = None) -> list[Action]:
    """Turn work items into ranked, scheduled actions. Pure: the worked example in docs/roadmap.md runs here.

    :param checks: open findings grouped by check.
    :param questions: the assessment's questions with their answers and targets.
    :param policy: costs, horizons, pins and the topic graph (roadmap.yaml).
    :param topic_owner: the usual owner of each topic, for checks whose assets name none.
    :param capacity: effort points the team completes per 30 days (default: the policy's).
    """
    actions: list[Action] = []
    challenged: dict[str, list[QuestionWork]] = {}
    for qw in questions:
        for check_id in qw.challenged_by:
            challenged.setdefault(check_id, []).append(qw)
    for cw in checks:
        if not cw.findings:
            continue
        owners = Counter(f.asset_owner for f in cw.findings if f.asset_owner)
        actions.append(Action(
            id=cw.check_id, kind="finding", title=cw.title, what=cw.remediation, topic=cw.topic, effort=cw.effort,
            risk_reduction=float(sum(f.risk_score for f in cw.findings)), cost=policy.effort_cost[cw.effort],
            owner=owners.most_common(1)[0][0] if owners else topic_owner.get(cw.topic, "Security lead"),
            findings=cw.findings,
            questions=[{"id": qw.question.id, "text": qw.question.text, "claimed": qw.claimed,
                        "target": qw.target, "challenged": True} for qw in challenged.get(cw.check_id, [])],
        ))
    for qw in questions:
        gap = qw.target - (qw.claimed or 0)
        if gap <= 0:
            continue
        q = qw.question
        actions.append(Action(
            id=q.id, kind="checklist", title=q.text, what=q.action, topic=qw.topic, effort=q.effort,
            risk_reduction=round(q.weight * gap * policy.points_per_level, 2), cost=policy.effort_cost[q.effort],
            owner=qw.owner,
            questions=[{"id": q.id, "text": q.text, "claimed": qw.claimed, "target": qw.target,
                        "challenged": bool(qw.challenged_by)}],
        ))
    return replan(actions, policy, policy.capacity_per_30_days if capacity is None else capacity)


def replan(actions: list[Action], policy: RoadmapPolicy, capacity: float) -> list[Action]:
    """Rank and schedule actions (:func:`rank`, then :func:`schedule`): the last step of :func:`plan`.

    Also how ``readiness.roadmap_store`` ranks a site's view from its stored per-site rows.
    """
    ranked = rank(actions, policy)
    schedule(ranked, policy, capacity)
    return ranked


def rank_key(a: Action) -> tuple[int, float, int, float, float, str]:
    """The roadmap's ranking, smallest first: the one order every output of the roadmap shows.

    1. pinned actions first (critical known-exploited findings: patched now, not in turn);
    2. higher ranked priority: the action's own priority (risk reduction ÷ effort points), or,
       for a prerequisite, the priority of the most urgent unpinned action that waits on it;
    3. fewer prerequisite topics (a prerequisite ties with what needs it and must come first);
    4. higher own priority; 5. higher risk reduction; 6. ID, so equal actions keep one order.
    """
    return (0 if a.pinned else 1, -a.ranked_priority, a.depth, -a.priority, -a.risk_reduction, a.id)


def is_pinned(a: Action, policy: RoadmapPolicy) -> bool:
    """Whether the policy's ``pin_first`` rule puts this action ahead of the queue."""
    rule = policy.pin_first
    if a.kind != "finding" or a.id not in rule.checks:
        return False
    if a.severities is not None:
        return any(s in rule.severities for s in a.severities)
    return any(f.severity in rule.severities for f in a.findings)


def rank(actions: list[Action], policy: RoadmapPolicy) -> list[Action]:
    """Set dependencies, pins and ranked priorities, then sort by :func:`rank_key`.

    A prerequisite inherits the priority of the most urgent unpinned action waiting on it (its
    dependencies are transitive, so one pass over its dependents is enough). That is why sorting
    by the key never puts an action before one it depends on: the prerequisite's ranked priority
    is at least its dependent's, and on a tie it has fewer prerequisite topics. Pinned actions do
    not lift their prerequisites: they are done first whatever else is pending.
    """
    prereq_topics = policy.prerequisites()
    by_topic: dict[str, list[Action]] = {}
    for a in actions:
        by_topic.setdefault(a.topic, []).append(a)
    dependents: dict[str, list[Action]] = {}
    for a in actions:
        a.depends_on = sorted(b.id for t in sorted(prereq_topics.get(a.topic, set())) for b in by_topic.get(t, []))
        a.depth = len(prereq_topics.get(a.topic, set()))
        a.pinned = is_pinned(a, policy)
        for dep in a.depends_on:
            dependents.setdefault(dep, []).append(a)
    for a in actions:
        a.ranked_priority, a.ranked_for = a.priority, None
        waiting = [d for d in dependents.get(a.id, []) if not d.pinned and d.priority > a.priority]
        if waiting:
            lead = min(waiting, key=lambda d: (-d.priority, d.id))
            a.ranked_priority, a.ranked_for = lead.priority, lead.id
    return sorted(actions, key=rank_key)


def horizon_limits(policy: RoadmapPolicy, capacity: float) -> list[float]:
    """The running total of effort points each horizon can hold: capacity × its days ÷ 30."""
    return [capacity * h.days / 30 if h.days is not None else math.inf for h in policy.horizons]


def schedule(ranked: list[Action], policy: RoadmapPolicy, capacity: float) -> None:
    """Give each ranked action its running effort total and the horizon that total finishes in.

    The team works down the list: an action is finished once every action before it and itself
    are, at ``capacity`` effort points per 30 days. A pinned action is in the first horizon
    whatever the total (its effort still counts, so it pushes the rest later).
    """
    if not capacity > 0 or math.isinf(capacity):
        raise ConfigError(f"the roadmap capacity must be a positive number of effort points, not {capacity}")
    limits = horizon_limits(policy, capacity)
    total = 0.0
    for a in ranked:
        total += a.cost
        a.cumulative_effort = round(total, 2)
        a.horizon = 0 if a.pinned else next(i for i, limit in enumerate(limits) if total <= limit + 1e-9)


def resolve_capacity(policy: RoadmapPolicy, explicit: float | None = None) -> float:
    """The team's capacity: ``explicit``, else $RADGUARD_ROADMAP_CAPACITY, else roadmap.yaml's default.

    :param policy: the roadmap policy holding the default.
    :param explicit: a value given on the command line, if any.
    """
    if explicit is not None:
        value, where = float(explicit), "--capacity"
    elif (env := os.environ.get(ENV_CAPACITY, "").strip()):
        where = f"environment variable {ENV_CAPACITY}"
        try:
            value = float(env)
        except ValueError:
            raise ConfigError(f"{where}: {env!r} is not a number of effort points per 30 days") from None
    else:
        return policy.capacity_per_30_days
    if not value > 0 or math.isinf(value):
        raise ConfigError(f"{where}: the capacity must be a positive number of effort points per 30 days, "
                          f"not {value:g}")
    return value


def _check_specs() -> dict[str, Any]:
    from radguard.checks.loader import catalog_specs

    try:
        return catalog_specs()  # read once per process (or taken from the loaded catalog)
    except ConfigError:
        return {}


def gather(session: Session, catalog: ChecklistCatalog, policy: RoadmapPolicy,
           assessment: ChecklistAssessment | None,
           findings: dict[str, list[FindingRef]] | None = None,
           scope: SiteScope = None) -> tuple[list[CheckWork], list[QuestionWork]]:
    """The work items: open findings by check, and the assessment's questions.

    :param findings: the open findings by check, when the caller holds them already (the
        assessment: ``checks.register.AssessedRegister.open_findings``); default: read them.
    :param scope: the sites the caller may see; used when ``findings`` is read here.
    """
    specs = _check_specs()
    if findings is None:
        findings = open_findings(session, scope=scope)
    checks = []
    for check_id, refs in findings.items():
        spec = specs.get(check_id)
        checks.append(CheckWork(
            check_id=check_id, title=spec.title if spec else refs[0].title,
            remediation=spec.remediation.strip() if spec else f"Resolve the open {check_id} findings.",
            effort=spec.effort if spec else "medium",
            topic=policy.check_topic(check_id, spec.defense_layer if spec else None), findings=refs,
        ))
    questions: list[QuestionWork] = []
    if assessment is not None:
        answers = answers_of(session, assessment)
        targets = catalog.profile(assessment.size).targets
        for q in catalog.questions_for(assessment.size):
            a = answers.get(q.id)
            if a is not None and a.not_applicable:
                continue
            claimed = a.value if a else None
            against = [c for c in q.checks if c in findings] if (claimed or 0) > CHALLENGE_CAP else []
            owner = (a.owner if a and a.owner else None) or catalog.domain(q.domain).owner
            questions.append(QuestionWork(q, claimed, targets[q.domain], owner, catalog.domain(q.domain).topic,
                                           against))
    return checks, questions


def build_roadmap(session: Session, assessment_id: int | None = None, today: date | None = None,
                  capacity: float | None = None,
                  findings: dict[str, list[FindingRef]] | None = None, *,
                  scope: SiteScope = None) -> dict[str, Any]:
    """The roadmap document (what `radguard roadmap --json` prints); every roadmap output is cut from it.

    :param session: a read session.
    :param assessment_id: the checklist assessment to take gaps from (default: the newest).
    :param today: the roadmap's date (default: today).
    :param capacity: effort points per 30 days (default: :func:`resolve_capacity`).
    :param findings: the open findings by check as :func:`radguard.checks.findings.open_findings`
        gives them, when the caller already holds them (default: read them).
    :param scope: the sites the caller may see (:mod:`radguard.inventory.scope`): the roadmap of
        only those sites' open findings, ranked among themselves, without checklist gaps (a
        self-assessment is the organisation's) and with progress counted on those sites; None: all.
        Not with ``findings`` (those would be every site's).
    """
    today = today or date.today()
    catalog, policy = load_catalog(), load_policy()
    capacity = resolve_capacity(policy, capacity)
    try:
        assessment: ChecklistAssessment | None = get_assessment(session, assessment_id)
    except NotFoundError:
        if assessment_id is not None:
            raise
        assessment = None
    if scope is not None:
        if findings is not None:
            raise ValueError("pass scope or findings, not both: the findings given are every site's")
        assessment = None
    topic_owner = {d.topic: d.owner for d in catalog.domains}
    checks, questions = gather(session, catalog, policy, assessment, findings, scope)
    actions = plan(checks, questions, policy, topic_owner, capacity)
    return document(actions, policy, session, assessment, today, capacity, scope)


def _mitigated_since(today: date) -> list[ColumnElement[bool]]:
    since = datetime.combine(today - timedelta(days=90), time.min, tzinfo=UTC)
    return [Finding.state == "mitigated", Finding.closed_at.is_not(None), Finding.closed_at >= since]


def mitigated_recently(session: Session, today: date, scope: SiteScope = None) -> tuple[int, int]:
    """The findings mitigated in the 90 days before ``today`` and their summed risk (the
    roadmap's progress), of the sites in ``scope`` (None: all)."""
    stmt = select(func.count(), func.coalesce(func.sum(Finding.risk_score), 0)).where(*_mitigated_since(today))
    limit = scope_condition(session, scope)
    count, risk = session.execute(stmt if limit is None else stmt.where(limit)).one()
    return int(count), int(risk)


def mitigated_recently_by_site(session: Session, today: date) -> dict[int | None, tuple[int, int]]:
    """:func:`mitigated_recently` per site ID (None: findings of no asset), in one grouped query:
    stored with the ranking so a site's view sums its sites' instead of counting their findings."""
    stmt = (select(Asset.site_id, func.count(), func.coalesce(func.sum(Finding.risk_score), 0))
            .select_from(Finding).outerjoin(Asset, Asset.id == Finding.asset_id)
            .where(*_mitigated_since(today)).group_by(Asset.site_id))
    return {site_id: (int(n), int(risk)) for site_id, n, risk in session.execute(stmt)}


def document(actions: list[Action], policy: RoadmapPolicy, session: Session,
             assessment: ChecklistAssessment | None, today: date, capacity: float,
             scope: SiteScope = None, mitigated: tuple[int, int] | None = None) -> dict[str, Any]:
    """The roadmap document of ranked actions.

    :param mitigated: the progress (:func:`mitigated_recently`) when the caller has it (a site's
        view sums it from the stored rows); default: counted now for ``scope``.
    """
    closed = mitigated if mitigated is not None else mitigated_recently(session, today, scope)
    improved = None
    if assessment is not None:
        previous = previous_assessment(session, assessment)
        if previous is not None:
            now, before = answers_of(session, assessment), answers_of(session, previous)
            improved = sum(1 for qid, a in now.items()
                           if a.value is not None and qid in before and (before[qid].value or 0) < a.value)
    return {
        "as_of": today,
        "assessment": header(assessment) if assessment is not None else None,
        "summary": {
            "actions": len(actions),
            "risk_points": round(sum(a.risk_reduction for a in actions), 2),
            "open_findings": sum(a.closes for a in actions if a.kind == "finding"),
            "questions_below_target": sum(1 for a in actions if a.kind == "checklist"),
            "capacity_per_30_days": capacity,
            # The running effort total each horizon holds (None: the open-ended last one).
            "horizon_limits": {h.label: (None if math.isinf(limit) else round(limit, 2))
                               for h, limit in zip(policy.horizons, horizon_limits(policy, capacity), strict=True)},
            "by_horizon": {h.label: sum(1 for a in actions if a.horizon == i) for i, h in enumerate(policy.horizons)},
            "pinned": sum(1 for a in actions if a.pinned),
            "progress": {"findings_mitigated_last_90_days": int(closed[0]),
                         "risk_points_removed_last_90_days": int(closed[1]),
                         "answers_improved_since_previous_assessment": improved},
        },
        "actions": [
            {"rank": rank, "id": a.id, "kind": a.kind, "title": a.title, "what": a.what,
             "why": {"findings": [f.as_dict() for f in a.findings], "questions": a.questions},
             "findings_closed": a.closes,
             "risk_reduction": a.risk_reduction, "effort": a.effort, "effort_points": a.cost,
             "priority": a.priority, "ranked_priority": a.ranked_priority, "ranked_for": a.ranked_for,
             "pinned": a.pinned, "cumulative_effort": a.cumulative_effort, "owner": a.owner,
             "horizon": policy.horizons[a.horizon].label, "topic": a.topic, "depends_on": a.depends_on}
            for rank, a in enumerate(actions, start=1)
        ],
    }


@dataclass
class TopOfRoadmap:
    """The head of one ranking: what the executive report, the dashboard and the demo show.

    ``actions`` are the first actions of the roadmap; ``risks`` the first actions that fix open
    findings (a checklist gap is work, not a risk), in the same order, so a top risk is never
    missing from the top actions unless checklist work outranks it.
    """

    actions: list[dict[str, Any]]
    risks: list[dict[str, Any]]


def top_of_roadmap(doc: dict[str, Any], limit: int = TOP, finding_ids: set[int] | None = None) -> TopOfRoadmap:
    """Cut the top actions and top risks from one roadmap document.

    :param doc: what :func:`build_roadmap` returned.
    :param limit: how many of each.
    :param finding_ids: for a report limited to one site, the open findings in its scope: a risk
        then lists only those, and a check with none of them is not one of the site's risks.
    """
    risks: list[dict[str, Any]] = []
    for a in doc["actions"]:
        if len(risks) >= limit:
            break
        if a["kind"] != "finding":
            continue
        findings = a["why"]["findings"]
        if finding_ids is not None:
            findings = [f for f in findings if f["id"] in finding_ids]
            if not findings:
                continue
        risks.append({**a, "why": {**a["why"], "findings": findings}})
    return TopOfRoadmap(actions=list(doc["actions"][:limit]), risks=risks)


def priority_label(action: dict[str, Any]) -> str:
    """The ranking column in words: the ranked priority, and why it differs from the action's own."""
    if action["pinned"]:
        return f"pinned ({action['priority']:g})"
    if action["ranked_for"]:
        return f"{action['ranked_priority']:g} for {action['ranked_for']} (own {action['priority']:g})"
    return f"{action['priority']:g}"


def findings_closed(action: dict[str, Any]) -> int:
    """How many open findings an action closes (a stored or filtered document lists only some)."""
    return int(action.get("findings_closed", len(action["why"]["findings"])))


def _why(action: dict[str, Any]) -> str:
    parts = []
    # The count, not the list: a stored document lists only an action's first findings.
    closes = findings_closed(action)
    if closes:
        parts.append(f"{closes} open {action['id']} {noun(closes, 'finding')}")
    for q in action["why"]["questions"]:
        claimed = "unanswered" if q["claimed"] is None else q["claimed"]
        parts.append(f"{q['id']} at {claimed}/target {q['target']}" + (" (challenged)" if q["challenged"] else ""))
    return "; ".join(parts)


def capacity_line(doc: dict[str, Any]) -> str:
    """How the horizons were filled, in one sentence (terminal, Markdown)."""
    s = doc["summary"]
    ends = ", ".join(f"{label} up to {limit:g}" for label, limit in s["horizon_limits"].items() if limit is not None)
    pinned = s["pinned"]
    return (f"Ranked by priority (risk reduction per effort point); at {s['capacity_per_30_days']:g} effort points "
            f"per 30 days the running effort fills {ends}, the rest later"
            + (f"; {pinned} pinned action{'s' if pinned != 1 else ''} first" if pinned else "") + ".")


def to_csv(doc: dict[str, Any]) -> str:
    """One row per action, in rank order, for a project tracker."""
    buffer = io.StringIO()
    writer = CsvWriter(buffer, lineterminator="\n")
    writer.writerow(["rank", "horizon", "id", "kind", "action", "why", "risk_reduction", "effort", "effort_points",
                     "priority", "ranked_priority", "ranked_for", "pinned", "cumulative_effort", "owner",
                     "depends_on"])
    for a in doc["actions"]:
        writer.writerow([a["rank"], a["horizon"], a["id"], a["kind"], a["what"], _why(a), a["risk_reduction"],
                         a["effort"], a["effort_points"], a["priority"], a["ranked_priority"], a["ranked_for"] or "",
                         "yes" if a["pinned"] else "", a["cumulative_effort"], a["owner"], " ".join(a["depends_on"])])
    return buffer.getvalue()


def to_markdown(doc: dict[str, Any]) -> str:
    """The roadmap for a leadership pack: one table per horizon, in rank order."""
    s = doc["summary"]
    lines = [f"# Readiness roadmap ({doc['as_of']})", ""]
    if doc["assessment"]:
        a = doc["assessment"]
        lines.append(f"{a['organization']}, {a['size']} profile, assessment {a['id']} v{a['version']}.")
    lines += [f"{s['actions']} actions worth {s['risk_points']} risk points: {s['open_findings']} open findings, "
              f"{s['questions_below_target']} checklist questions below target.", "", capacity_line(doc), ""]
    for label in s["by_horizon"]:
        rows = [a for a in doc["actions"] if a["horizon"] == label]
        if not rows:
            continue
        lines += [f"## {label}", "",
                  "| # | Action | Why | Risk reduction | Effort (points) | Priority | Running effort | Owner | After |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for a in rows:
            cells = [str(a["rank"]), f"**{a['id']}** {a['what']}", _why(a), str(a["risk_reduction"]),
                     f"{a['effort']} ({a['effort_points']:g})", priority_label(a), f"{a['cumulative_effort']:g}",
                     a["owner"], ", ".join(a["depends_on"]) or "–"]
            lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)
