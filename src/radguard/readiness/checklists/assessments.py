"""Assessments: creating versioned snapshots, recording answers, closing them.

An answer is validated here (and only here), so the interactive questionnaire, file imports
and the web application all refuse the same mistakes with the same words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from radguard.db.base import utcnow
from radguard.db.models.checklists import ChecklistAnswer, ChecklistAssessment
from radguard.errors import NotFoundError, RadguardError
from radguard.inventory.scope import SiteScope
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.checklists.models import MAX_LEVEL, SIZES, ChecklistCatalog


class AnswerError(RadguardError):
    """An answer that cannot be recorded; the message says which field and what is allowed."""

    exit_code = 2

    def __init__(self, field_name: str, problem: str) -> None:
        self.field = field_name
        self.problem = problem
        super().__init__(f"field '{field_name}': {problem}")


@dataclass
class AnswerInput:
    """One answer as a respondent gives it, before it touches the database."""

    question_id: str
    value: int | None = None
    not_applicable: bool = False
    na_reason: str | None = None
    owner: str | None = None
    notes: str | None = None
    evidence: list[str] = field(default_factory=list)


def parse_value(raw: Any) -> tuple[int | None, bool]:
    """Turn what a person typed (``3``, ``"3"``, ``"na"``, blank) into (level, not applicable).

    Raises :class:`AnswerError` for anything else, so "5", "yes" or "2.5" are never guessed at.
    """
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None, False
    if isinstance(raw, bool):
        raise AnswerError("answer", f"{raw!r} is not a maturity level; use 0–{MAX_LEVEL} or na")
    if isinstance(raw, str):
        text = raw.strip().lower()
        if text in ("na", "n/a", "not applicable"):
            return None, True
        if not text.isdigit():
            raise AnswerError("answer", f"{raw!r} is not a maturity level; use 0–{MAX_LEVEL} or na")
        raw = int(text)
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if not isinstance(raw, int) or not 0 <= raw <= MAX_LEVEL:
        raise AnswerError("answer", f"{raw!r} is out of scale; use 0–{MAX_LEVEL} or na")
    return raw, False


def validate_answer(catalog: ChecklistCatalog, size: str, answer: AnswerInput) -> None:
    question = catalog.question(answer.question_id)
    if question is None:
        raise AnswerError("question", f"unknown question {answer.question_id!r}; "
                                      "`radguard checklist questions` lists the IDs")
    if size not in question.sizes:
        raise AnswerError("question", f"{answer.question_id} does not apply to a {size} organization")
    if answer.not_applicable:
        if answer.value is not None:
            raise AnswerError("answer", "give either a level or na, not both")
        if not (answer.na_reason or "").strip():
            raise AnswerError("na_reason", f"{answer.question_id} is marked not applicable without a reason; "
                                           "say why it does not apply")
    elif answer.value is not None and not 0 <= answer.value <= MAX_LEVEL:
        raise AnswerError("answer", f"{answer.value} is out of scale; use 0–{MAX_LEVEL} or na")
    for link in answer.evidence:
        if not link.strip():
            raise AnswerError("evidence", "an evidence link is empty")


def create_assessment(session: Session, organization: str, size: str, *, site_code: str = "",
                      assessed_on: date | None = None, created_by: str | None = None,
                      carry_forward: bool = True) -> ChecklistAssessment:
    """Start the next version for this organization (and site).

    With ``carry_forward`` the previous version's answers are copied, so respondents update
    what changed instead of starting over; the previous version itself is left untouched.
    """
    if size not in SIZES:
        raise AnswerError("size", f"{size!r} is not an organization size; use small, medium or large")
    if not organization.strip():
        raise AnswerError("organization", "name the organization")
    catalog = load_catalog()
    latest = session.scalar(
        select(ChecklistAssessment)
        .where(ChecklistAssessment.organization == organization, ChecklistAssessment.site_code == site_code)
        .order_by(ChecklistAssessment.version.desc()).limit(1)
    )
    assessment = ChecklistAssessment(
        organization=organization, site_code=site_code, size=size,
        version=(latest.version + 1) if latest else 1, assessed_on=assessed_on or date.today(),
        status="open", catalog_version=catalog.version, created_by=created_by,
    )
    session.add(assessment)
    if latest is not None and carry_forward:
        applicable = {q.id for q in catalog.questions_for(size)}
        for old in latest.answers:
            if old.question_id in applicable:
                assessment.answers.append(ChecklistAnswer(
                    question_id=old.question_id, value=old.value, not_applicable=old.not_applicable,
                    na_reason=old.na_reason, owner=old.owner, notes=old.notes,
                    evidence_links=list(old.evidence_links or []), answered_by=old.answered_by,
                    answered_at=old.answered_at,
                ))
    session.flush()
    _roadmap_changed(session)
    return assessment


def current_assessment(session: Session, *, site: str | None = None,
                       organization: str | None = None) -> ChecklistAssessment | None:
    """The current checklist assessment — the one rule every page, report, API call and command uses.

    Newest ``assessed_on`` first, then highest version, then highest ID. For a site (``site``,
    a site code) the site's own assessments are preferred, else the organization-wide ones
    (``site_code == ""``) stand for it; without a site the organization-wide ones are
    preferred, else any site's. Open and closed assessments both count: an open one is the
    assessment in progress, and what the dashboard, the reports and the roadmap show.

    :param session: the database session.
    :param site: a site code, or None for the organization.
    :param organization: only this organization's assessments (None: any).
    :returns: the assessment, or None when there is none.
    """
    stmt = select(ChecklistAssessment).order_by(
        ChecklistAssessment.assessed_on.desc(), ChecklistAssessment.version.desc(), ChecklistAssessment.id.desc())
    if organization is not None:
        stmt = stmt.where(ChecklistAssessment.organization == organization)
    candidates = list(session.scalars(stmt))
    preferred = [a for a in candidates if a.site_code == (site or "")]
    if site is not None:
        candidates = preferred or [a for a in candidates if a.site_code == ""]
    else:
        candidates = preferred or candidates
    return candidates[0] if candidates else None


def assessment_versions(session: Session, assessment: ChecklistAssessment) -> list[ChecklistAssessment]:
    """Every version of this assessment's organization and site, oldest first (the trend)."""
    return list(session.scalars(
        select(ChecklistAssessment).where(ChecklistAssessment.organization == assessment.organization,
                                          ChecklistAssessment.site_code == assessment.site_code)
        .order_by(ChecklistAssessment.version)))


def _visible(assessment: ChecklistAssessment, scope: SiteScope) -> bool:
    """The organisation's assessments are everyone's to read; a site's own, only its readers'."""
    return scope is None or not assessment.site_code or assessment.site_code in scope


def get_assessment(session: Session, assessment_id: int | None = None, *,
                   scope: SiteScope = None) -> ChecklistAssessment:
    """The assessment with this ID, or the current one (:func:`current_assessment`).

    :param scope: the sites the caller may see (:mod:`radguard.inventory.scope`): another site's
        own assessment is "not found"; the organisation's is found (site accounts read it, the
        web refuses their answers).
    """
    if assessment_id is not None:
        found = session.get(ChecklistAssessment, assessment_id)
        if found is None or not _visible(found, scope):
            raise NotFoundError(f"no checklist assessment {assessment_id}; `radguard checklist assessment list`")
        return found
    latest = current_assessment(session)
    if latest is None:
        raise NotFoundError("no checklist assessment yet; start one with "
                            "`radguard checklist assessment create --org NAME --size medium`")
    return latest


def previous_assessment(session: Session, assessment: ChecklistAssessment) -> ChecklistAssessment | None:
    return session.scalar(
        select(ChecklistAssessment)
        .where(ChecklistAssessment.organization == assessment.organization,
               ChecklistAssessment.site_code == assessment.site_code,
               ChecklistAssessment.version < assessment.version)
        .order_by(ChecklistAssessment.version.desc()).limit(1)
    )


def list_assessments(session: Session, *, scope: SiteScope = None) -> list[ChecklistAssessment]:
    """Every assessment by organisation, site and version.

    :param scope: the sites the caller may see: the organisation's assessments and those
        sites' own (None: all).
    """
    return [a for a in session.scalars(select(ChecklistAssessment).order_by(
        ChecklistAssessment.organization, ChecklistAssessment.site_code, ChecklistAssessment.version))
        if _visible(a, scope)]


def answered_count(session: Session, assessment: ChecklistAssessment) -> int:
    return int(session.scalar(select(func.count()).select_from(ChecklistAnswer).where(
        ChecklistAnswer.assessment_id == assessment.id,
        (ChecklistAnswer.value.is_not(None)) | ChecklistAnswer.not_applicable)) or 0)


def ensure_open(assessment: ChecklistAssessment) -> None:
    if assessment.status != "open":
        raise RadguardError(
            f"assessment {assessment.id} ({assessment.organization} v{assessment.version}) is closed; "
            "its answers are a frozen snapshot. Start the next version with `radguard checklist assessment create`"
        )


def record_answer(session: Session, assessment: ChecklistAssessment, answer: AnswerInput,
                  answered_by: str | None = None) -> ChecklistAnswer:
    """Validate and store one answer, replacing an earlier answer to the same question."""
    ensure_open(assessment)
    validate_answer(load_catalog(), assessment.size, answer)
    row = session.scalar(select(ChecklistAnswer).where(
        ChecklistAnswer.assessment_id == assessment.id, ChecklistAnswer.question_id == answer.question_id))
    if row is None:
        row = ChecklistAnswer(assessment_id=assessment.id, question_id=answer.question_id)
        session.add(row)
    row.value = None if answer.not_applicable else answer.value
    row.not_applicable = answer.not_applicable
    row.na_reason = (answer.na_reason or "").strip() or None if answer.not_applicable else None
    row.owner = (answer.owner or "").strip() or None
    row.notes = (answer.notes or "").strip() or None
    row.evidence_links = [link.strip() for link in answer.evidence]
    row.answered_by = answered_by
    row.answered_at = utcnow()
    session.flush()
    _roadmap_changed(session)
    return row


def answers_of(session: Session, assessment: ChecklistAssessment) -> dict[str, AnswerInput]:
    rows = session.scalars(select(ChecklistAnswer).where(ChecklistAnswer.assessment_id == assessment.id))
    return {
        a.question_id: AnswerInput(question_id=a.question_id, value=a.value, not_applicable=a.not_applicable,
                                   na_reason=a.na_reason, owner=a.owner, notes=a.notes,
                                   evidence=list(a.evidence_links or []))
        for a in rows
    }


def _roadmap_changed(session: Session) -> None:
    """A checklist gap feeds the roadmap: the dashboard's stored ranking is now out of date."""
    from radguard.readiness.dashboard import mark_stale  # it imports the roadmap, which imports us

    mark_stale(session)
