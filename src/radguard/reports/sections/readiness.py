"""Maturity by checklist domain against the target for the organization's size, and its trend.

Scores are the mean maturity (0–4) of the answered, applicable questions of each domain in the
newest checklist assessment; the trend compares with the assessment before it. Answers whose
checks have open findings are *challenged*: the register contradicts a high self-rating.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from radguard.db.models.checklists import ChecklistAnswer, ChecklistAssessment
from radguard.frameworks.coverage import MET_LEVEL
from radguard.frameworks.sources import checklist_catalog
from radguard.reports.observed import latest_checklist
from radguard.reports.scope import Scope


@dataclass
class DomainScore:
    key: str
    title: str
    score: float | None
    target: int | None
    previous: float | None


@dataclass
class AnswerRow:
    question_id: str
    domain: str
    text: str
    value: int | None
    not_applicable: bool
    owner: str | None
    notes: str | None
    challenged_by: list[str]


@dataclass
class ReadinessSection:
    available: bool
    label: str = ""
    previous_label: str | None = None
    size: str | None = None
    overall: float | None = None
    overall_target: float | None = None
    overall_previous: float | None = None
    domains: list[DomainScore] = field(default_factory=list)
    answers: list[AnswerRow] = field(default_factory=list)
    note: str = ""


def _means(answers: list[ChecklistAnswer], domain_of: dict[str, str]) -> dict[str, float]:
    acc: dict[str, list[int]] = {}
    for a in answers:
        if a.not_applicable or a.value is None or a.question_id not in domain_of:
            continue
        acc.setdefault(domain_of[a.question_id], []).append(a.value)
    return {d: sum(v) / len(v) for d, v in acc.items()}


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def readiness_section(scope: Scope, open_by_check: dict[str, list[str]]) -> ReadinessSection:
    latest = latest_checklist(scope)
    if latest is None:
        return ReadinessSection(False, note="No checklist assessment recorded: maturity cannot be shown yet.")
    assessment, answers = latest
    catalog = checklist_catalog()
    domain_titles = {d["key"]: str(d.get("title", d["key"])) for d in catalog["domains"]}
    questions = {str(q["id"]): q for q in catalog["questions"]}
    domain_of = {qid: str(q.get("domain")) for qid, q in questions.items()}
    targets: dict[str, int] = next(
        (dict(p["targets"]) for p in catalog["profiles"] if p.get("size") == assessment.size), {}
    )
    previous = _previous(scope, assessment)
    now_means = _means(answers, domain_of)
    prev_means = _means(list(previous.answers), domain_of) if previous else {}
    keys = list(domain_titles) or sorted(now_means)
    domains = [
        DomainScore(k, domain_titles.get(k, k), _round(now_means.get(k)), targets.get(k), _round(prev_means.get(k)))
        for k in keys
        if k in now_means or k in targets
    ]
    rows = []
    for a in answers:
        q = questions.get(a.question_id, {})
        challenged: list[str] = []
        if a.value is not None and a.value >= MET_LEVEL:
            for check_id in q.get("checks") or []:
                challenged.extend(f"{check_id}: {label}" for label in open_by_check.get(check_id, [])[:3])
        rows.append(
            AnswerRow(
                a.question_id,
                domain_titles.get(domain_of.get(a.question_id, ""), "?"),
                str(q.get("text", a.question_id)),
                a.value,
                a.not_applicable,
                a.owner,
                a.notes,
                challenged,
            )
        )
    return ReadinessSection(
        True,
        label=f"v{assessment.version}, {assessment.assessed_on.isoformat()} ({assessment.status})",
        previous_label=f"v{previous.version}, {previous.assessed_on.isoformat()}" if previous else None,
        size=assessment.size,
        overall=_mean(list(now_means.values())),
        overall_target=_mean([float(t) for k, t in targets.items() if k in now_means]),
        overall_previous=_mean(list(prev_means.values())) if prev_means else None,
        domains=domains,
        answers=rows,
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def _previous(scope: Scope, current: ChecklistAssessment) -> ChecklistAssessment | None:
    q = (
        select(ChecklistAssessment)
        .where(
            ChecklistAssessment.organization == current.organization,
            ChecklistAssessment.site_code == current.site_code,
            ChecklistAssessment.version < current.version,
        )
        .order_by(ChecklistAssessment.version.desc())
        .limit(1)
    )
    return scope.session.scalar(q)
