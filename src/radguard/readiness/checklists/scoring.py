"""Maturity scoring: per domain, per CSF 2.0 function and overall, against the size profile.

The arithmetic, written down so a leader can redo it by hand (docs/checklists.md):

* Only questions that apply to the organization's size count. "Not applicable" answers (with
  their reason) are left out entirely; unanswered questions count as 0 — maturity that has
  not been stated is not credited — and are listed as unanswered.
* An answer is *challenged* when it is above :data:`CHALLENGE_CAP` while a check the question
  names has open findings; it then counts as the cap.
* A score is the weight-averaged level: Σ(weight × level) / Σ(weight), 0–4, and as a percentage
  of 4. A question counts once in each CSF function its subcategories belong to.
* The gap of a domain is max(0, target − score), the target coming from the size profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from radguard.readiness.checklists.assessments import AnswerInput
from radguard.readiness.checklists.evidence import CHALLENGE_CAP, FindingRef
from radguard.readiness.checklists.models import CSF_FUNCTIONS, MAX_LEVEL, ChecklistCatalog, Question


@dataclass
class QuestionScore:
    question: Question
    claimed: int | None  # what was answered (None: unanswered or not applicable)
    effective: int  # what counts after the evidence cap
    not_applicable: bool
    challenged_by: list[FindingRef] = field(default_factory=list)
    owner: str | None = None

    @property
    def answered(self) -> bool:
        return self.not_applicable or self.claimed is not None

    @property
    def challenged(self) -> bool:
        return bool(self.challenged_by)


@dataclass
class Bucket:
    """A weighted average being accumulated (a domain, a function, or the whole checklist)."""

    key: str
    title: str
    weight: float = 0.0
    weighted: float = 0.0
    applicable: int = 0
    answered: int = 0
    challenged: int = 0

    def add(self, qs: QuestionScore) -> None:
        if qs.not_applicable:
            return
        self.applicable += 1
        self.answered += qs.claimed is not None
        self.challenged += qs.challenged
        self.weight += qs.question.weight
        self.weighted += qs.question.weight * qs.effective

    @property
    def score(self) -> float | None:
        return round(self.weighted / self.weight, 2) if self.weight else None

    def as_dict(self) -> dict[str, Any]:
        score = self.score
        return {"key": self.key, "title": self.title, "score": score,
                "percent": round(100 * score / MAX_LEVEL, 1) if score is not None else None,
                "applicable": self.applicable, "answered": self.answered, "challenged": self.challenged}


@dataclass
class Scorecard:
    size: str
    questions: list[QuestionScore]
    domains: list[Bucket]
    functions: list[Bucket]
    overall: Bucket
    targets: dict[str, int]

    def gap(self, domain: str) -> float | None:
        bucket = next(b for b in self.domains if b.key == domain)
        if bucket.score is None:
            return None
        return round(max(0.0, self.targets[domain] - bucket.score), 2)

    def as_dict(self) -> dict[str, Any]:
        domains = []
        for bucket in self.domains:
            domains.append({**bucket.as_dict(), "target": self.targets[bucket.key], "gap": self.gap(bucket.key)})
        return {
            "size": self.size,
            "overall": self.overall.as_dict(),
            "domains": domains,
            "functions": [b.as_dict() for b in self.functions],
            "challenged": [
                {"question": qs.question.id, "domain": qs.question.domain, "text": qs.question.text,
                 "claimed": qs.claimed, "capped_to": qs.effective,
                 "findings": [f.as_dict() for f in qs.challenged_by]}
                for qs in self.questions if qs.challenged
            ],
            "unanswered": [qs.question.id for qs in self.questions if not qs.answered],
        }


def score_answers(catalog: ChecklistCatalog, size: str, answers: dict[str, AnswerInput],
                  findings: dict[str, list[FindingRef]]) -> Scorecard:
    """Score one set of answers given the open findings (grouped by check ID)."""
    scored: list[QuestionScore] = []
    for question in catalog.questions_for(size):
        answer = answers.get(question.id)
        na = bool(answer and answer.not_applicable)
        claimed = None if (answer is None or na) else answer.value
        effective = claimed or 0
        against: list[FindingRef] = []
        if claimed is not None and claimed > CHALLENGE_CAP:
            against = [f for check_id in question.checks for f in findings.get(check_id, [])]
            if against:
                effective = CHALLENGE_CAP
        scored.append(QuestionScore(question, claimed, effective, na, against, answer.owner if answer else None))

    domains = {d.key: Bucket(d.key, d.title) for d in catalog.domains}
    functions = {key: Bucket(key, title) for key, title in CSF_FUNCTIONS.items()}
    overall = Bucket("overall", "Overall")
    for qs in scored:
        domains[qs.question.domain].add(qs)
        overall.add(qs)
        for function in qs.question.frameworks.functions():
            functions[function].add(qs)
    return Scorecard(size=size, questions=scored, domains=list(domains.values()),
                     functions=list(functions.values()),
                     overall=overall, targets=dict(catalog.profile(size).targets))


def change_since(current: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any] | None:
    """Differences between two score documents (``Scorecard.as_dict``): overall, per domain, per function."""
    if previous is None:
        return None

    def delta(a: float | None, b: float | None) -> float | None:
        return None if a is None or b is None else round(a - b, 2)

    prev_domains = {d["key"]: d["score"] for d in previous.get("domains", [])}
    prev_functions = {f["key"]: f["score"] for f in previous.get("functions", [])}
    return {
        "overall": delta(current["overall"]["score"], previous["overall"]["score"]),
        "domains": {d["key"]: delta(d["score"], prev_domains.get(d["key"])) for d in current["domains"]},
        "functions": {f["key"]: delta(f["score"], prev_functions.get(f["key"])) for f in current["functions"]},
        "challenged": len(current["challenged"]) - len(previous.get("challenged", [])),
    }
