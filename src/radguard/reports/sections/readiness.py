"""Maturity by checklist domain against the target for the organization's size, and its trend.

The scores are the checklist stage's own (``readiness.checklists.report.score_document``: the
weighted mean of the answers, challenged answers capped, a closed assessment's frozen snapshot),
so the report and ``radguard checklist score`` always agree. The trend compares with the
assessment before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from radguard.checks.findings import open_finding_ids
from radguard.readiness.checklists.assessments import previous_assessment
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.checklists.report import score_document
from radguard.reports.observed import latest_checklist
from radguard.reports.scope import Scope
from radguard.wording import subject


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
    unanswered: int = 0
    note: str = ""
    # Said beside the scores when the report covers less than the organisation but the
    # assessment is the organisation's (it cannot be cut to sites: docs/identity.md).
    organisation_wide: str = ""


def _finding_label(f: dict[str, Any]) -> str:
    what = f.get("asset") or (subject(f["subject"]) if f.get("subject") else f.get("title") or "")
    return f"{f.get('check_id', '')} {what}".strip()


def readiness_section(scope: Scope) -> ReadinessSection:
    latest = latest_checklist(scope)
    if latest is None:
        return ReadinessSection(False, note="No checklist assessment recorded: maturity cannot be shown yet.")
    assessment, answers = latest
    session = scope.session
    doc = score_document(session, assessment)
    previous = previous_assessment(session, assessment)
    prev_doc = score_document(session, previous) if previous is not None else None
    prev_domains = {d["key"]: d.get("score") for d in (prev_doc or {}).get("domains", [])}
    domains = [
        DomainScore(d["key"], d["title"], d.get("score"), d.get("target"), prev_domains.get(d["key"]))
        for d in doc.get("domains", [])
    ]
    scored = [d for d in domains if d.score is not None and d.target is not None]
    catalog = load_catalog()
    titles = {d.key: d.title for d in catalog.domains}
    # A report cut to the reader's sites cites only findings it shows (the register's scoped read).
    shown = open_finding_ids(session, site=scope.site, scope=scope.visible) if scope.limited else None
    challenged = {
        c["question"]: [_finding_label(f) for f in c.get("findings", []) if shown is None or f.get("id") in shown][:3]
        for c in doc.get("challenged", [])
    }
    rows = []
    for a in answers:
        q = catalog.question(a.question_id)
        rows.append(
            AnswerRow(
                a.question_id,
                titles.get(q.domain, q.domain) if q else "?",
                q.text if q else a.question_id,
                a.value,
                a.not_applicable,
                a.owner,
                a.notes,
                challenged.get(a.question_id, []),
            )
        )
    return ReadinessSection(
        True,
        label=f"v{assessment.version}, {assessment.assessed_on.isoformat()} ({assessment.status})",
        previous_label=f"v{previous.version}, {previous.assessed_on.isoformat()}" if previous else None,
        size=assessment.size,
        overall=(doc.get("overall") or {}).get("score"),
        overall_target=round(sum(float(d.target or 0) for d in scored) / len(scored), 2) if scored else None,
        overall_previous=((prev_doc or {}).get("overall") or {}).get("score"),
        domains=domains,
        answers=rows,
        unanswered=len(doc.get("unanswered", [])),
        organisation_wide=(_ORGANISATION_WIDE + (_ONLY_SHOWN if scope.limited else "")
                           if not assessment.site_code and (scope.site or scope.limited) else ""),
    )


_ORGANISATION_WIDE = ("Organisation-wide: this self-assessment answers for the whole organisation's programme "
                      "and is not cut to the sites this report covers; its scores also weigh findings of other "
                      "sites.")
_ONLY_SHOWN = " Only findings this report shows are named as challenging an answer."
