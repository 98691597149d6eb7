"""The readiness roadmap: checklist gaps and open findings turned into one ordered action list.

* Open findings are grouped by check: fixing a check's cause is one action, whose risk
  reduction is the sum of its findings' risk scores (0–100 each).
* A question below its domain target is one action worth ``weight × levels × points_per_level``
  risk points. A question challenged by evidence is also listed under the checks whose findings
  challenge it: closing them restores the answer.
* Effort comes from the check's metadata (``effort``) or the question's; its cost (low 1,
  medium 2, high 4) divides the risk reduction to give the priority.
* Horizon (0–30, 31–90, 91–365 days) comes from the nearest finding due date, else the worst
  severity, else the question's effort; a prerequisite is pulled into the horizon of anything
  that depends on it.
* Order: by horizon, then priority, with every action after the actions of the topics it
  depends on (roadmap.yaml: inventory before segmentation, backup before recovery, …).

The roadmap is computed from live data, so it shrinks as findings close and answers improve.
"""

from __future__ import annotations

import heapq
import io
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from radguard.checks.spec import Effort
from radguard.csvcells import CsvWriter
from radguard.db.models.checklists import ChecklistAssessment
from radguard.db.models.findings import Finding
from radguard.errors import ConfigError, NotFoundError
from radguard.readiness.checklists.assessments import answers_of, get_assessment, previous_assessment
from radguard.readiness.checklists.evidence import CHALLENGE_CAP, FindingRef, open_findings
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.checklists.models import ChecklistCatalog, Question
from radguard.readiness.checklists.report import header

POLICY_PATH = Path(__file__).parent / "roadmap.yaml"


class Horizon(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str
    days: int


class RoadmapPolicy(BaseModel):
    """The numbers and the dependency graph that shape the roadmap (roadmap.yaml)."""

    model_config = ConfigDict(extra="forbid")

    effort_cost: dict[Effort, float]
    points_per_level: float
    horizons: list[Horizon]
    severity_horizon: dict[str, int]
    effort_horizon: dict[Effort, int]
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
        for index in [*self.severity_horizon.values(), *self.effort_horizon.values()]:
            if not 0 <= index < len(self.horizons):
                raise ValueError(f"horizon index {index} out of range")
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
    id: str
    kind: str  # "finding" or "checklist"
    title: str
    what: str
    topic: str
    effort: Effort
    risk_reduction: float
    cost: float
    owner: str
    horizon: int
    findings: list[FindingRef] = field(default_factory=list)
    questions: list[dict[str, Any]] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)

    @property
    def priority(self) -> float:
        return round(self.risk_reduction / self.cost, 2)


def _due_horizon(policy: RoadmapPolicy, due: str | None, today: date) -> int | None:
    if not due:
        return None
    days = (date.fromisoformat(due) - today).days
    for index, h in enumerate(policy.horizons):
        if days <= h.days:
            return index
    return len(policy.horizons) - 1


def plan(checks: list[CheckWork], questions: list[QuestionWork], policy: RoadmapPolicy, today: date,
         topic_owner: dict[str, str]) -> list[Action]:
    """Turn work items into ordered actions. Pure: the worked example in docs/roadmap.md runs here."""
    actions: list[Action] = []
    challenged: dict[str, list[QuestionWork]] = {}
    for qw in questions:
        for check_id in qw.challenged_by:
            challenged.setdefault(check_id, []).append(qw)
    severity_rank = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
    for cw in checks:
        if not cw.findings:
            continue
        due_h = [h for f in cw.findings if (h := _due_horizon(policy, f.due, today)) is not None]
        worst = max(cw.findings, key=lambda f: severity_rank.get(f.severity, 0)).severity
        horizon = min(due_h) if due_h else policy.severity_horizon.get(worst, len(policy.horizons) - 1)
        owners = Counter(f.asset_owner for f in cw.findings if f.asset_owner)
        actions.append(Action(
            id=cw.check_id, kind="finding", title=cw.title, what=cw.remediation, topic=cw.topic, effort=cw.effort,
            risk_reduction=float(sum(f.risk_score for f in cw.findings)), cost=policy.effort_cost[cw.effort],
            owner=owners.most_common(1)[0][0] if owners else topic_owner.get(cw.topic, "Security lead"),
            horizon=horizon, findings=cw.findings,
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
            owner=qw.owner, horizon=policy.effort_horizon[q.effort],
            questions=[{"id": q.id, "text": q.text, "claimed": qw.claimed, "target": qw.target,
                        "challenged": bool(qw.challenged_by)}],
        ))
    return order(actions, policy)


def order(actions: list[Action], policy: RoadmapPolicy) -> list[Action]:
    """Set dependencies, pull prerequisites forward, then sort topologically by (horizon, priority)."""
    prereq_topics = policy.prerequisites()
    by_topic: dict[str, list[Action]] = {}
    for a in actions:
        by_topic.setdefault(a.topic, []).append(a)
    for a in actions:
        a.depends_on = sorted(b.id for t in sorted(prereq_topics.get(a.topic, set())) for b in by_topic.get(t, []))
    index = {a.id: a for a in actions}
    # Pull prerequisites into their dependents' horizons; repeat until nothing moves (the graph is acyclic).
    changed = True
    while changed:
        changed = False
        for a in actions:
            for dep in a.depends_on:
                if index[dep].horizon > a.horizon:
                    index[dep].horizon = a.horizon
                    changed = True
    waiting = {a.id: len(a.depends_on) for a in actions}
    dependents: dict[str, list[str]] = {}
    for a in actions:
        for dep in a.depends_on:
            dependents.setdefault(dep, []).append(a.id)

    def key(a: Action) -> tuple[int, float, str]:
        return (a.horizon, -a.priority, a.id)

    ready = [key(a) for a in actions if waiting[a.id] == 0]
    heapq.heapify(ready)
    out: list[Action] = []
    while ready:
        a = index[heapq.heappop(ready)[2]]
        out.append(a)
        for nxt in dependents.get(a.id, []):
            waiting[nxt] -= 1
            if waiting[nxt] == 0:
                heapq.heappush(ready, key(index[nxt]))
    return out


def _check_specs() -> dict[str, Any]:
    from radguard.checks.loader import read_specs

    try:
        return {spec.id: spec for spec, _ in read_specs()}
    except ConfigError:
        return {}


def gather(session: Session, catalog: ChecklistCatalog, policy: RoadmapPolicy,
           assessment: ChecklistAssessment | None) -> tuple[list[CheckWork], list[QuestionWork]]:
    specs = _check_specs()
    findings = open_findings(session)
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


def build_roadmap(session: Session, assessment_id: int | None = None, today: date | None = None) -> dict[str, Any]:
    """The roadmap document (what `radguard roadmap --json` prints)."""
    today = today or date.today()
    catalog, policy = load_catalog(), load_policy()
    try:
        assessment: ChecklistAssessment | None = get_assessment(session, assessment_id)
    except NotFoundError:
        if assessment_id is not None:
            raise
        assessment = None
    topic_owner = {d.topic: d.owner for d in catalog.domains}
    checks, questions = gather(session, catalog, policy, assessment)
    actions = plan(checks, questions, policy, today, topic_owner)
    return document(actions, policy, session, assessment, today)


def document(actions: list[Action], policy: RoadmapPolicy, session: Session,
             assessment: ChecklistAssessment | None, today: date) -> dict[str, Any]:
    since = datetime.combine(today - timedelta(days=90), time.min, tzinfo=UTC)
    closed = session.execute(
        select(func.count(), func.coalesce(func.sum(Finding.risk_score), 0))
        .where(Finding.state == "mitigated", Finding.closed_at.is_not(None), Finding.closed_at >= since)
    ).one()
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
            "open_findings": sum(len(a.findings) for a in actions if a.kind == "finding"),
            "questions_below_target": sum(1 for a in actions if a.kind == "checklist"),
            "by_horizon": {h.label: sum(1 for a in actions if a.horizon == i) for i, h in enumerate(policy.horizons)},
            "progress": {"findings_mitigated_last_90_days": int(closed[0]),
                         "risk_points_removed_last_90_days": int(closed[1]),
                         "answers_improved_since_previous_assessment": improved},
        },
        "actions": [
            {"rank": rank, "id": a.id, "kind": a.kind, "title": a.title, "what": a.what,
             "why": {"findings": [f.as_dict() for f in a.findings], "questions": a.questions},
             "risk_reduction": a.risk_reduction, "effort": a.effort, "priority": a.priority, "owner": a.owner,
             "horizon": policy.horizons[a.horizon].label, "topic": a.topic, "depends_on": a.depends_on}
            for rank, a in enumerate(actions, start=1)
        ],
    }


def _why(action: dict[str, Any]) -> str:
    parts = []
    findings = action["why"]["findings"]
    if findings:
        parts.append(f"{len(findings)} open {action['id']} finding(s)")
    for q in action["why"]["questions"]:
        claimed = "unanswered" if q["claimed"] is None else q["claimed"]
        parts.append(f"{q['id']} at {claimed}/target {q['target']}" + (" (challenged)" if q["challenged"] else ""))
    return "; ".join(parts)


def to_csv(doc: dict[str, Any]) -> str:
    buffer = io.StringIO()
    writer = CsvWriter(buffer, lineterminator="\n")
    writer.writerow(["rank", "horizon", "id", "kind", "action", "why", "risk_reduction", "effort", "priority",
                     "owner", "depends_on"])
    for a in doc["actions"]:
        writer.writerow([a["rank"], a["horizon"], a["id"], a["kind"], a["what"], _why(a), a["risk_reduction"],
                         a["effort"], a["priority"], a["owner"], " ".join(a["depends_on"])])
    return buffer.getvalue()


def to_markdown(doc: dict[str, Any]) -> str:
    s = doc["summary"]
    lines = [f"# Readiness roadmap ({doc['as_of']})", ""]
    if doc["assessment"]:
        a = doc["assessment"]
        lines.append(f"{a['organization']}, {a['size']} profile, assessment {a['id']} v{a['version']}.")
    lines += [f"{s['actions']} actions worth {s['risk_points']} risk points: {s['open_findings']} open findings, "
              f"{s['questions_below_target']} checklist questions below target.", ""]
    for label in s["by_horizon"]:
        rows = [a for a in doc["actions"] if a["horizon"] == label]
        if not rows:
            continue
        lines += [f"## {label}", "", "| # | Action | Why | Risk reduction | Effort | Owner | After |",
                  "|---|---|---|---|---|---|---|"]
        for a in rows:
            cells = [str(a["rank"]), f"**{a['id']}** {a['what']}", _why(a), str(a["risk_reduction"]), a["effort"],
                     a["owner"], ", ".join(a["depends_on"]) or "–"]
            lines.append("| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)
