"""Checklists in the browser: pick an assessment, answer question by question, save as you go.

An account limited to sites reads them (the organisation's assessments and its sites' own,
with only the findings it may see cited as evidence) but may not answer, create or close one:
a self-assessment answers for the organisation's programme (docs/identity.md). The writes keep
``require(..., organisation=True)``, so they answer 403 and are audited as ``scope.refused``.

Answers are validated and stored by ``radguard.readiness.checklists.assessments.record_answer``
and scored by ``live_scorecard`` — the functions behind ``radguard checklist answer`` and
``radguard checklist score`` — so a browser answer and a terminal answer are refused, stored
and challenged by evidence in exactly the same way. Each answer records who gave it, so
several respondents can share one assessment (each answering the domains they know).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from radguard.db.models.checklists import ChecklistAnswer, ChecklistAssessment
from radguard.errors import RadguardError
from radguard.inventory.scope import SiteScope
from radguard.readiness.checklists.assessments import (
    AnswerError,
    AnswerInput,
    answered_count,
    create_assessment,
    get_assessment,
    list_assessments,
    parse_value,
    record_answer,
)
from radguard.readiness.checklists.evidence import CHALLENGE_CAP, FindingRef, open_findings
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.checklists.models import SCALE, SIZES, Question
from radguard.readiness.checklists.report import close_assessment, live_scorecard, score_assessment
from radguard.web.app import render
from radguard.web.audit import record
from radguard.web.routes._forms import http_error, is_htmx
from radguard.web.routes.dashboard import invalidate
from radguard.web.security import Principal, client_ip, db_session, require

router = APIRouter(include_in_schema=False)


@dataclass
class QuestionView:
    """One question as the page shows it: the catalog entry, the stored answer, the evidence."""

    question: Question
    domain_title: str
    value: int | None = None
    not_applicable: bool = False
    na_reason: str | None = None
    owner: str | None = None
    notes: str | None = None
    evidence: list[str] = field(default_factory=list)
    answered_by: str | None = None
    answered_at: datetime | None = None
    effective: int = 0
    # Open findings of the question's checks (shown whether or not they cap the answer).
    against: list[FindingRef] = field(default_factory=list)
    challenged: bool = False

    @property
    def answered(self) -> bool:
        return self.not_applicable or self.value is not None


@dataclass(frozen=True)
class DomainTab:
    key: str
    title: str
    total: int
    answered: int
    challenged: int


def question_views(session: Session, assessment: ChecklistAssessment,
                   only: set[str] | None = None, *, scope: SiteScope = None) -> list[QuestionView]:
    """Each question with its answer and the open findings of its checks.

    :param scope: the caller's sites: only findings it may see are cited (its sites' and the
        organisation-wide ones); the score and the challenge flags stay the organisation's.
    """
    catalog = load_catalog()
    scorecard = live_scorecard(session, assessment)
    rows = {a.question_id: a for a in session.scalars(
        select(ChecklistAnswer).where(ChecklistAnswer.assessment_id == assessment.id))}
    findings = open_findings(session, {c for q in catalog.questions_for(assessment.size) for c in q.checks},
                             scope=scope, organisation_wide=True)
    views = []
    for qs in scorecard.questions:
        q = qs.question
        if only is not None and q.id not in only:
            continue
        row = rows.get(q.id)
        view = QuestionView(question=q, domain_title=catalog.domain(q.domain).title, effective=qs.effective,
                            against=[f for c in q.checks for f in findings.get(c, [])], challenged=qs.challenged)
        if row is not None:
            view.value, view.not_applicable, view.na_reason = row.value, row.not_applicable, row.na_reason
            view.owner, view.notes, view.evidence = row.owner, row.notes, list(row.evidence_links or [])
            view.answered_by, view.answered_at = row.answered_by, row.answered_at
        views.append(view)
    return views


def respondents(session: Session, assessment_id: int) -> list[tuple[str, int]]:
    rows = session.execute(
        select(ChecklistAnswer.answered_by, func.count()).where(ChecklistAnswer.assessment_id == assessment_id)
        .group_by(ChecklistAnswer.answered_by).order_by(func.count().desc())
    ).all()
    return [(who or "unknown", n) for who, n in rows]


def assessment_or_404(session: Session, assessment_id: int, scope: SiteScope = None) -> ChecklistAssessment:
    """The assessment, or the stage's NotFoundError as an HTTP 404 (pages and the JSON API);
    another site's own assessment is not found for a caller limited to other sites."""
    try:
        return get_assessment(session, assessment_id, scope=scope)
    except RadguardError as exc:
        raise http_error(exc) from None


def _can_answer(principal: Principal, assessment: ChecklistAssessment) -> bool:
    return assessment.status == "open" and principal.role != "viewer" and principal.scope is None


@router.get("/checklists")
async def checklists_page(request: Request, principal: Principal = Depends(require("viewer")),
                          session: Session = Depends(db_session)) -> Response:
    catalog = load_catalog()
    rows = []
    for a in reversed(list_assessments(session, scope=principal.scope)):
        rows.append({"a": a, "answered": answered_count(session, a),
                     "applicable": len(catalog.questions_for(a.size)),
                     "respondents": len(respondents(session, a.id))})
    return render(request, "checklists.html", {
        "rows": rows, "sizes": SIZES,
        "can_create": principal.role in ("assessor", "admin") and principal.scope is None,
        "read_only": principal.scope is not None})


@router.post("/checklists")
async def create(request: Request, organization: str = Form(...), size: str = Form(...),
                 site_code: str = Form(""), carry_forward: str = Form(""),
                 principal: Principal = Depends(require("assessor", organisation=True)),
                 session: Session = Depends(db_session)) -> Response:
    try:
        a = create_assessment(session, organization.strip(), size, site_code=site_code.strip(),
                              created_by=principal.name, carry_forward=bool(carry_forward))
    except RadguardError as exc:
        raise http_error(exc) from None
    record(session, principal.name, "checklist.create", target=f"assessment:{a.id}",
           detail={"organization": a.organization, "site": a.site_code, "size": a.size, "version": a.version},
           ip=client_ip(request))
    session.commit()
    invalidate(request)
    return RedirectResponse(f"/checklists/{a.id}", status_code=303)


@router.get("/checklists/{assessment_id}")
async def assessment_page(request: Request, assessment_id: int, domain: str = "",
                          principal: Principal = Depends(require("viewer")),
                          session: Session = Depends(db_session)) -> Response:
    assessment = assessment_or_404(session, assessment_id, principal.scope)
    catalog = load_catalog()
    views = question_views(session, assessment, scope=principal.scope)
    domains: list[DomainTab] = []
    for d in catalog.domains:
        mine = [v for v in views if v.question.domain == d.key]
        if mine:
            domains.append(DomainTab(d.key, d.title, len(mine), sum(v.answered for v in mine),
                                     sum(v.challenged for v in mine)))
    if domain not in {d.key for d in domains}:
        # Open at the first domain that still has unanswered questions: question by question.
        domain = next((d.key for d in domains if d.answered < d.total), domains[0].key if domains else "")
    return render(request, "checklist.html", {
        "a": assessment, "score": score_assessment(session, assessment), "domains": domains, "domain": domain,
        "views": [v for v in views if v.question.domain == domain], "scale": SCALE, "cap": CHALLENGE_CAP,
        "can_answer": _can_answer(principal, assessment), "respondents": respondents(session, assessment.id),
        "can_close": assessment.status == "open" and principal.role in ("assessor", "admin")
        and principal.scope is None,
        "read_only": principal.scope is not None,
    })


def _answer_input(question_id: str, answer: str, na_reason: str, owner: str, notes: str,
                  evidence: str) -> AnswerInput:
    value, na = parse_value(answer)
    if value is None and not na:
        raise AnswerError("answer", f"choose a level 0–4 or not applicable for {question_id}")
    links = [line.strip() for line in evidence.splitlines() if line.strip()]
    return AnswerInput(question_id=question_id, value=value, not_applicable=na, na_reason=na_reason or None,
                       owner=owner or None, notes=notes or None, evidence=links)


@router.post("/checklists/{assessment_id}/questions/{question_id}")
async def answer(request: Request, assessment_id: int, question_id: str, answer: str = Form(""),
                 na_reason: str = Form(""), owner: str = Form(""), notes: str = Form(""), evidence: str = Form(""),
                 principal: Principal = Depends(require("contributor", organisation=True)),
                 session: Session = Depends(db_session)) -> Response:
    assessment = assessment_or_404(session, assessment_id)
    error: str | None = None
    try:
        given = _answer_input(question_id, answer, na_reason, owner, notes, evidence)
        record_answer(session, assessment, given, answered_by=principal.name)
        record(session, principal.name, "checklist.answer", target=f"assessment:{assessment_id}/{question_id}",
               detail={"value": given.value, "not_applicable": given.not_applicable, "owner": given.owner},
               ip=client_ip(request))
        session.commit()
        invalidate(request)
    except RadguardError as exc:
        session.rollback()
        if not is_htmx(request):
            raise http_error(exc) from None
        error = exc.problem if isinstance(exc, AnswerError) else str(exc)
    views = question_views(session, assessment, only={question_id})
    if not views:
        raise HTTPException(status_code=404, detail=f"{question_id} is not a question of this assessment")
    if not is_htmx(request):
        return RedirectResponse(f"/checklists/{assessment_id}?domain={views[0].question.domain}#{question_id}",
                                status_code=303)
    return render(request, "_checklist_question.html", {
        "a": assessment, "v": views[0], "scale": SCALE, "cap": CHALLENGE_CAP, "saved": error is None,
        "error": error, "can_answer": _can_answer(principal, assessment)})


@router.post("/checklists/{assessment_id}/close")
async def close(request: Request, assessment_id: int,
                principal: Principal = Depends(require("assessor", organisation=True)),
                session: Session = Depends(db_session)) -> Response:
    assessment = assessment_or_404(session, assessment_id)
    try:
        snapshot = close_assessment(session, assessment)
    except RadguardError as exc:
        raise http_error(exc) from None
    record(session, principal.name, "checklist.close", target=f"assessment:{assessment_id}",
           detail={"overall": snapshot["overall"]["score"]}, ip=client_ip(request))
    session.commit()
    invalidate(request)
    return RedirectResponse(f"/checklists/{assessment_id}", status_code=303)
