"""How far each framework requirement is met, from the checks and checklist answers mapped to it.

A compliance officer plans from this, so each status carries the evidence behind it. Rules:

* a mapped **check** is *met* when it has been evaluated and has no open finding, *not met* when
  it has open findings, and gives *no evidence* when it has never been evaluated;
* a mapped **checklist question** is *met* at maturity 3 or 4, *partly met* at 1 or 2, *not met*
  at 0, gives *no evidence* when unanswered and is left out when answered "not applicable";
* a requirement combines its items (and, for a HIPAA standard, its implementation
  specifications' items): all met → met; all not met → not met; a mixture → partly met;
  nothing → no evidence.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from radguard.frameworks.model import Framework, OrgSize, Requirement
from radguard.frameworks.sources import Source, check_sources, question_sources
from radguard.wording import plural

Status = Literal["met", "partly met", "not met", "no evidence"]
STATUSES: tuple[Status, ...] = ("met", "partly met", "not met", "no evidence")
MET_LEVEL = 3  # checklist maturity from which a question counts as met ("managed")


@dataclass(frozen=True)
class Answer:
    value: int | None
    not_applicable: bool = False


@dataclass
class Observed:
    """What the database says, reduced to what coverage needs (no patient data by construction)."""

    evaluated_checks: set[str] = field(default_factory=set)
    open_findings: dict[str, list[str]] = field(default_factory=dict)  # check ID → short labels
    answers: dict[str, Answer] = field(default_factory=dict)  # question ID → answer
    checklist_label: str | None = None  # which assessment the answers come from


@dataclass(frozen=True)
class EvidenceItem:
    kind: str  # "check" or "question"
    id: str
    title: str
    status: Status
    detail: str


@dataclass
class RequirementCoverage:
    requirement: Requirement
    group_title: str
    status: Status
    items: list[EvidenceItem]

    def as_dict(self) -> dict[str, object]:
        r = self.requirement
        return {
            "id": r.id,
            "title": r.title,
            "group": self.group_title,
            "kind": r.kind,
            "flag": r.flag,
            "size": r.size,
            "parent": r.parent,
            "status": self.status,
            "evidence": [
                {"kind": i.kind, "id": i.id, "title": i.title, "status": i.status, "detail": i.detail}
                for i in self.items
            ],
        }


def _check_item(src: Source, obs: Observed) -> EvidenceItem:
    findings = obs.open_findings.get(src.id, [])
    if findings:
        shown = "; ".join(findings[:5]) + (f"; and {len(findings) - 5} more" if len(findings) > 5 else "")
        return EvidenceItem("check", src.id, src.title, "not met", f"{plural(len(findings), 'open finding')}: {shown}")
    if src.id in obs.evaluated_checks:
        return EvidenceItem("check", src.id, src.title, "met", "evaluated, no open finding")
    return EvidenceItem("check", src.id, src.title, "no evidence", "not evaluated yet (run `radguard assess`)")


def _question_item(src: Source, obs: Observed) -> EvidenceItem | None:
    answer = obs.answers.get(src.id)
    where = f" in {obs.checklist_label}" if obs.checklist_label else ""
    if answer is None or (answer.value is None and not answer.not_applicable):
        return EvidenceItem("question", src.id, src.title, "no evidence", f"not answered{where}")
    if answer.not_applicable:
        return None
    value = answer.value or 0
    status: Status = "met" if value >= MET_LEVEL else ("partly met" if value > 0 else "not met")
    return EvidenceItem("question", src.id, src.title, status, f"maturity {value}/4{where}")


def combine(statuses: Iterable[Status]) -> Status:
    known = [s for s in statuses if s != "no evidence"]
    if not known:
        return "no evidence"
    if all(s == "met" for s in known):
        return "met"
    if all(s == "not met" for s in known):
        return "not met"
    return "partly met"


def mappings(framework: Framework, sources: Iterable[Source]) -> dict[str, list[Source]]:
    """Requirement ID → the checks/questions citing it (aliases resolved; unknown IDs ignored)."""
    out: dict[str, list[Source]] = defaultdict(list)
    for src in sources:
        for key, ident in src.refs:
            if key != framework.key:
                continue
            req = framework.resolve(ident)
            if req is not None and src not in out[req.id]:
                out[req.id].append(src)
    return out


def compute_coverage(
    framework: Framework,
    observed: Observed,
    *,
    org_size: OrgSize | None = None,
    sources: Iterable[Source] | None = None,
) -> list[RequirementCoverage]:
    """Coverage of every requirement, in catalog order (HICP: only those for ``org_size`` if given)."""
    srcs = list(sources) if sources is not None else [*check_sources(), *question_sources()]
    mapped = mappings(framework, srcs)
    items_by_req: dict[str, list[EvidenceItem]] = {}
    for req in framework.requirements:
        items: list[EvidenceItem] = []
        for src in mapped.get(req.id, []):
            item = _check_item(src, observed) if src.kind == "check" else _question_item(src, observed)
            if item is not None:
                items.append(item)
        items_by_req[req.id] = items
    out = []
    for req in framework.requirements:
        if org_size is not None and not req.applies_to(org_size):
            continue
        items = list(items_by_req[req.id])
        for child in framework.children(req.id):
            items.extend(i for i in items_by_req[child.id] if i not in items)
        out.append(RequirementCoverage(req, framework.top_group(req).title, combine(i.status for i in items), items))
    return out


def summarize(rows: Iterable[RequirementCoverage]) -> Mapping[Status, int]:
    counts: dict[Status, int] = dict.fromkeys(STATUSES, 0)
    for row in rows:
        counts[row.status] += 1
    return counts
