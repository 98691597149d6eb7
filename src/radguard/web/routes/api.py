"""The JSON API under /api/v1 (OpenAPI document at /api/v1/openapi.json).

The same resources as the pages, computed by the same functions (the page modules' helpers,
which call the stages), each with a pydantic response model so the OpenAPI document is exact
and schemathesis can hold the server to it. Writes (checklist answers, drill milestones) are
audited with ``via="api"``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from radguard.backup.sets import list_sets, set_record
from radguard.checks.findings import FINDING_SORTS, FindingRecord, finding_model, findings_cursor, service_sites
from radguard.checks.findings import list_findings as query_findings
from radguard.checks.loader import default_catalog
from radguard.db.base import utcnow
from radguard.db.models.checklists import ChecklistAssessment
from radguard.db.models.findings import ALL_STATES
from radguard.db.models.response import Drill
from radguard.discovery.probes import EndpointState, endpoint_states
from radguard.errors import NotFoundError, RadguardError
from radguard.inventory.exporter import asset_record
from radguard.inventory.queries import ASSET_SORTS, SEARCH_COUNT_CAP, find_asset, query_assets
from radguard.readiness.checklists.assessments import (
    AnswerError,
    AnswerInput,
    answered_count,
    list_assessments,
    record_answer,
)
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.checklists.report import score_assessment
from radguard.readiness.roadmap_store import current_roadmap
from radguard.response.drills import EventDoc, Recording, drill_report, load_drill, load_drills, record_drill
from radguard.response.playbooks import MILESTONES
from radguard.response.team import load_people, load_roles, role_record, team_gaps
from radguard.web.audit import recent, record
from radguard.web.routes._forms import http_error
from radguard.web.routes.checklists import QuestionView, assessment_or_404, question_views
from radguard.web.routes.dashboard import CARDS, all_cards, first_wait, invalidate
from radguard.web.routes.readiness import services_continuity
from radguard.web.security import Principal, client_ip, db_session, require


class ErrorOut(BaseModel):
    detail: str


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Document the refusals an operation can answer with, so clients (and schemathesis) know them."""
    text = {400: "Refused; the detail names the field and what is allowed.", 401: "No valid API token.",
            403: "The token's user lacks the role.", 404: "No such resource."}
    return {code: {"model": ErrorOut, "description": text[code]} for code in codes}


router = APIRouter(prefix="/api/v1", tags=["api"], responses=_errors(401, 403))


class Me(BaseModel):
    username: str
    role: str
    full_name: str | None


class AssetSummary(BaseModel):
    id: int
    site: str
    name: str
    asset_class: str
    vendor: str | None
    product: str | None
    software_version: str | None
    criticality: int | None
    confirmed: bool
    risk_score: int = Field(description="The highest risk score of the asset's open findings (0: none).")
    open_findings: int
    last_seen: datetime | None


class AssetList(BaseModel):
    total: int = Field(description="How many assets match; with `more`, the count stopped here.")
    more: bool = Field(False, description=f"A search (`q`) matched more than `total` assets: its count stops "
                                          f"at {SEARCH_COUNT_CAP:,}.")
    page: int
    pages: int
    next_cursor: str | None = Field(None, description="Pass as `after` for the next page (None: last page).")
    items: list[AssetSummary]


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str | None
    via: str
    ip: str | None


@router.get("/me", response_model=Me)
def me(principal: Principal = Depends(require("viewer"))) -> Me:
    return Me(username=principal.username, role=principal.role, full_name=principal.full_name)


@router.get("/assets", response_model=AssetList, responses=_errors(400))
def list_assets(response: Response, q: str = Query("", max_length=200), site: str = Query("", max_length=64),
                asset_class: str = Query("", max_length=32), criticality: int | None = Query(None, ge=1, le=5),
                sort: str = Query("site", pattern="^(" + "|".join(ASSET_SORTS) + ")$",
                                  description="site and class ascending; the others highest first."),
                after: str | None = Query(None, max_length=2000,
                                          description="The next_cursor of the previous page: keyset paging."),
                page: int = Query(1, ge=1, le=1_000_000),
                per_page: int = Query(50, ge=1, le=500), principal: Principal = Depends(require("viewer")),
                session: Session = Depends(db_session)) -> AssetList:
    """The inventory list, filtered and sorted in the database (the same query as `/inventory`).

    A page that has a next one carries its cursor in ``next_cursor`` and the ``X-Next-Cursor``
    header (and a ``Link: <...>; rel="next"``): pass it as ``after`` and the next page seeks in
    the order's index instead of skipping ``(page - 1) * per_page`` rows.
    """
    try:
        r = query_assets(session, q, site, asset_class, page, per_page, sort=sort, after=after,
                         criticality=criticality, scope=principal.scope)
    except RadguardError as exc:
        raise http_error(exc) from None
    if r.next_cursor:
        response.headers["X-Next-Cursor"] = r.next_cursor
        params = {k: v for k, v in {"q": q, "site": site, "asset_class": asset_class, "criticality": criticality,
                                    "sort": sort, "per_page": per_page, "page": r.page + 1,
                                    "after": r.next_cursor}.items() if v}
        response.headers["Link"] = f'</api/v1/assets?{urlencode(params)}>; rel="next"'
    return AssetList(total=r.total, more=r.more, page=r.page, pages=r.pages, next_cursor=r.next_cursor, items=[
        AssetSummary(id=a.id, site=a.site_code, name=a.name, asset_class=a.asset_class, vendor=a.vendor,
                     product=a.product, software_version=a.software_version, criticality=a.criticality,
                     confirmed=a.confirmed, risk_score=a.risk_score, open_findings=a.open_findings,
                     last_seen=a.last_seen) for a in r.rows])


@router.get("/assets/{asset_id}", responses=_errors(404))
def get_asset(asset_id: int = Path(..., ge=1, le=2**63 - 1), principal: Principal = Depends(require("viewer")),
              session: Session = Depends(db_session)) -> dict[str, Any]:
    try:
        asset = find_asset(session, str(asset_id), scope=principal.scope)
    except NotFoundError:
        raise HTTPException(status_code=404, detail="no such asset") from None
    return {"id": asset.id, **asset_record(asset).model_dump(by_alias=True, mode="json")}


@router.get("/findings", response_model=list[FindingRecord], responses=_errors(400, 404))
def list_findings(response: Response,
                  state: str | None = Query(None, pattern="^(" + "|".join(ALL_STATES) + ")$",
                                            description="open also matches reopened (both count as open)."),
                  severity: str | None = None, check: str | None = Query(None, max_length=64),
                  site: str | None = Query(None, max_length=64),
                  sort: str = Query("risk", pattern="^(" + "|".join(FINDING_SORTS) + ")$",
                                    description="Each order is then by risk (highest first), then ID."),
                  after: str | None = Query(None, max_length=2000,
                                            description="The X-Next-Cursor of the previous page: keyset paging."),
                  limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10_000_000),
                  principal: Principal = Depends(require("viewer")),
                  session: Session = Depends(db_session)) -> list[FindingRecord]:
    """Findings, highest risk first: the same query and the same record as `radguard findings list --json`.

    A full page carries the cursor of its last row in the ``X-Next-Cursor`` header (and a
    ``Link: <...>; rel="next"``): pass it as ``after`` for the next page, which then seeks in the
    index instead of skipping ``offset`` rows.
    """
    try:
        rows = query_findings(session, states=[state] if state else [], severities=[severity] if severity else [],
                              check_ids=[check] if check else [], site=site or None, sort=sort, after=after,
                              limit=limit, offset=0 if after else offset, scope=principal.scope)
    except RadguardError as exc:
        raise http_error(exc) from None
    if len(rows) == limit:
        cursor = findings_cursor(rows[-1], sort)
        response.headers["X-Next-Cursor"] = cursor
        params = {k: v for k, v in {"state": state, "severity": severity, "check": check, "site": site,
                                    "sort": sort, "limit": limit, "after": cursor}.items() if v}
        response.headers["Link"] = f'</api/v1/findings?{urlencode(params)}>; rel="next"'
    catalog, services = default_catalog(), service_sites(session)
    return [finding_model(f, catalog, services=services) for f in rows]


@router.get("/endpoints", response_model=list[EndpointState])
def endpoints(principal: Principal = Depends(require("viewer")),
              session: Session = Depends(db_session)) -> list[EndpointState]:
    """Each probed endpoint's state at its newest probe: the same as `radguard inventory endpoints --json`."""
    return endpoint_states(session, scope=principal.scope)


@router.get("/audit", response_model=list[AuditOut])
def audit(request: Request, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0, le=10_000_000),
          principal: Principal = Depends(require("admin")),
          session: Session = Depends(db_session)) -> list[AuditOut]:
    out = [AuditOut(id=e.id, at=e.at, actor=e.actor, action=e.action, target=e.target, via=e.via, ip=e.ip)
           for e in recent(session, limit, offset)]
    record(session, principal.name, "audit.view", detail={"limit": limit, "offset": offset}, ip=client_ip(request),
           via="api")
    session.commit()
    return out


# --- dashboard ----------------------------------------------------------------------------------

class Count(BaseModel):
    key: str
    count: int


class TrendPointOut(BaseModel):
    assessment_id: int
    version: int
    assessed_on: date
    status: str
    score: float | None
    percent: float | None


class ReadinessOut(BaseModel):
    assessment_id: int | None
    label: str | None
    score: float | None
    percent: float | None
    challenged: int
    unanswered: int
    trend: list[TrendPointOut]


class UnprovenService(BaseModel):
    key: str
    name: str
    rto_hours: float
    status: str
    demonstrated_hours: float | None


class VerificationOut(BaseModel):
    set: str
    finished_at: datetime
    all_ok: bool
    complete: bool
    files_checked: int
    expected_instances: int
    counts: dict[str, int]
    projected_restore_hours: float | None
    rto_hours: float | None
    rto_met: bool | None  # True only for a complete copy restored in time (radguard.backup.timing.rto_verdict)
    rto_verdict: str | None  # met, missed, incomplete (the copy lacks data: never met) or unknown
    rpo_achieved_hours: float | None
    ransom_notes: list[dict[str, Any]]  # names of the ransom notes found: the copy is compromised
    last_backup_at: datetime | None = None  # the set's last successful backup
    rpo_since_last_backup_hours: float | None = None  # from it to the end of the verification
    restore_status: str = ""  # "17 of 20 instances restorable — 1 missing, ...: restore incomplete"


class DrillSummary(BaseModel):
    key: str
    title: str
    kind: str
    playbook: str
    date: date
    status: str
    open_actions: int


class RoadmapActionOut(BaseModel):
    rank: int
    id: str
    kind: str
    title: str
    what: str
    risk_reduction: float
    effort: str
    effort_points: float
    priority: float
    ranked_priority: float
    ranked_for: str | None
    pinned: bool
    cumulative_effort: float
    owner: str
    horizon: str
    topic: str
    depends_on: list[str]


class DashboardOut(BaseModel):
    computed_at: datetime
    assets_total: int
    unconfirmed: int
    findings_open: int
    findings_by_severity: list[Count]
    findings_by_state: list[Count]
    findings_by_layer: list[Count]
    readiness: ReadinessOut
    services_total: int
    unproven_services: list[UnprovenService]
    backup_sets: int
    last_verification: VerificationOut | None
    next_drills: list[DrillSummary]
    roadmap_actions: list[RoadmapActionOut]
    # When the assessment that stored the findings and roadmap cards ran (None: no assessment yet),
    # and whether a decision or answer since has made the stored roadmap out of date.
    cards_assessed_at: datetime | None = None
    roadmap_stale: bool = False


def _drill_summary(d: Drill) -> DrillSummary:
    return DrillSummary(key=d.key, title=d.title, kind=d.kind, playbook=d.playbook, date=d.scheduled_on,
                        status=d.status, open_actions=sum(1 for a in d.actions if a.status != "done"))


def _action(a: dict[str, Any]) -> RoadmapActionOut:
    return RoadmapActionOut(**{k: a[k] for k in RoadmapActionOut.model_fields})


@router.get("/dashboard", response_model=DashboardOut,
            responses={503: {"model": ErrorOut, "description": "A card is still being computed; retry later."}})
def dashboard(request: Request, principal: Principal = Depends(require("viewer")),
              session: Session = Depends(db_session)) -> DashboardOut:
    """The dashboard's cards, as the page shows them (`computed_at` says how fresh)."""
    cards = all_cards(request, session, first_wait(request), scope=principal.scope)
    missing = sorted(set(CARDS) - {n for n, c in cards.items() if c.error is None})
    if missing:
        raise HTTPException(status_code=503, detail=f"still computing: {', '.join(missing)}",
                            headers={"Retry-After": "10"})
    r, f, sv, bk = (cards[n].value for n in ("readiness", "findings", "services", "backup"))
    assets, roadmap_, drills_ = cards["assets"].value, cards["roadmap"].value, cards["drills"].value
    return DashboardOut(
        computed_at=min(c.computed_at for c in cards.values()),
        assets_total=assets["total"], unconfirmed=assets["unconfirmed"], findings_open=f["open"],
        findings_by_severity=[Count(key=k, count=n) for k, n in f["by_severity"]],
        findings_by_state=[Count(key=k, count=n) for k, n in f["by_state"].items()],
        findings_by_layer=[Count(key=k, count=n) for k, n in f["by_layer"]],
        readiness=ReadinessOut(assessment_id=r.assessment_id, label=r.label, score=r.score, percent=r.percent,
                               challenged=r.challenged, unanswered=r.unanswered,
                               trend=[TrendPointOut(**vars(p)) for p in r.trend]),
        services_total=sv["total"], unproven_services=[UnprovenService(**u) for u in sv["unproven"]],
        backup_sets=bk["sets"], last_verification=VerificationOut(**bk["last"]) if bk["last"] else None,
        next_drills=[DrillSummary(**d) for d in drills_],
        roadmap_actions=[_action(a) for a in roadmap_["actions"]],
        cards_assessed_at=f.get("assessed_at"), roadmap_stale=bool(roadmap_.get("stale")),
    )


# --- checklists ---------------------------------------------------------------------------------

class AssessmentOut(BaseModel):
    id: int
    organization: str
    site: str | None
    size: str
    version: int
    assessed_on: date
    status: str
    answered: int


class BucketOut(BaseModel):
    key: str
    title: str
    score: float | None
    percent: float | None
    applicable: int
    answered: int
    challenged: int
    target: int | None = None
    gap: float | None = None


class ChallengedOut(BaseModel):
    question: str
    domain: str
    claimed: int | None
    capped_to: int
    check_ids: list[str]


class ScoreOut(BaseModel):
    assessment: AssessmentOut
    overall: BucketOut
    domains: list[BucketOut]
    functions: list[BucketOut]
    challenged: list[ChallengedOut]
    unanswered: list[str]
    change_overall: float | None


class AnswerIn(BaseModel):
    answer: int | None = Field(None, ge=0, le=4, description="Maturity 0–4; leave out when not_applicable.")
    not_applicable: bool = False
    na_reason: str | None = Field(None, max_length=2000)
    owner: str | None = Field(None, max_length=200)
    notes: str | None = Field(None, max_length=5000)
    evidence: list[str] = Field(default_factory=list, max_length=50)


class QuestionOut(BaseModel):
    question_id: str
    domain: str
    text: str
    guidance: str
    value: int | None
    not_applicable: bool
    na_reason: str | None
    owner: str | None
    evidence: list[str]
    answered_by: str | None
    answered_at: datetime | None
    effective: int
    challenged: bool
    open_findings: list[int]


def _assessment_out(session: Session, a: ChecklistAssessment) -> AssessmentOut:
    return AssessmentOut(id=a.id, organization=a.organization, site=a.site_code or None, size=a.size,
                         version=a.version, assessed_on=a.assessed_on, status=a.status,
                         answered=answered_count(session, a))


def _question_out(v: QuestionView) -> QuestionOut:
    return QuestionOut(question_id=v.question.id, domain=v.question.domain, text=v.question.text,
                       guidance=v.question.guidance, value=v.value, not_applicable=v.not_applicable,
                       na_reason=v.na_reason, owner=v.owner, evidence=v.evidence, answered_by=v.answered_by,
                       answered_at=v.answered_at, effective=v.effective, challenged=v.challenged,
                       open_findings=[f.id for f in v.against])


@router.get("/checklists", response_model=list[AssessmentOut])
def checklists(principal: Principal = Depends(require("viewer")),
               session: Session = Depends(db_session)) -> list[AssessmentOut]:
    """The assessments; an account limited to sites gets the organisation's and its sites' own (read-only)."""
    return [_assessment_out(session, a) for a in list_assessments(session, scope=principal.scope)]


@router.get("/checklists/{assessment_id}", response_model=ScoreOut, responses=_errors(404))
def checklist_score(assessment_id: int = Path(..., ge=1, le=2**31 - 1),
                    principal: Principal = Depends(require("viewer")),
                    session: Session = Depends(db_session)) -> ScoreOut:
    a = assessment_or_404(session, assessment_id, principal.scope)
    doc = score_assessment(session, a)
    return ScoreOut(
        assessment=_assessment_out(session, a), overall=BucketOut(**doc["overall"]),
        domains=[BucketOut(**d) for d in doc["domains"]], functions=[BucketOut(**f) for f in doc["functions"]],
        challenged=[ChallengedOut(question=c["question"], domain=c["domain"], claimed=c["claimed"],
                                  capped_to=c["capped_to"], check_ids=sorted({f["check_id"] for f in c["findings"]}))
                    for c in doc["challenged"]],
        unanswered=list(doc["unanswered"]), change_overall=(doc.get("change") or {}).get("overall"),
    )


@router.get("/checklists/{assessment_id}/questions", response_model=list[QuestionOut], responses=_errors(404))
def checklist_questions(assessment_id: int = Path(..., ge=1, le=2**31 - 1),
                        principal: Principal = Depends(require("viewer")),
                        session: Session = Depends(db_session)) -> list[QuestionOut]:
    return [_question_out(v) for v in question_views(session, assessment_or_404(session, assessment_id,
                                                                                 principal.scope),
                                                     scope=principal.scope)]


@router.put("/checklists/{assessment_id}/questions/{question_id}", response_model=QuestionOut,
            responses=_errors(400, 404))
def put_answer(request: Request, body: AnswerIn, assessment_id: int = Path(..., ge=1, le=2**31 - 1),
               question_id: str = Path(..., max_length=32),
               principal: Principal = Depends(require("contributor", organisation=True)),
               session: Session = Depends(db_session)) -> QuestionOut:
    """Answer one question (replacing an earlier answer); the same rules as `radguard checklist answer`."""
    a = assessment_or_404(session, assessment_id)
    if load_catalog().question(question_id) is None:  # a resource in the path that does not exist
        raise HTTPException(status_code=404, detail=f"no question {question_id!r}; GET the assessment lists them")
    given = AnswerInput(question_id=question_id, value=body.answer, not_applicable=body.not_applicable,
                        na_reason=body.na_reason, owner=body.owner, notes=body.notes, evidence=list(body.evidence))
    try:
        if given.value is None and not given.not_applicable:
            raise AnswerError("answer", "give a level 0–4 or not_applicable: true")
        record_answer(session, a, given, answered_by=principal.name)
    except RadguardError as exc:
        raise http_error(exc) from None
    record(session, principal.name, "checklist.answer", target=f"assessment:{assessment_id}/{question_id}",
           detail={"value": given.value, "not_applicable": given.not_applicable}, ip=client_ip(request), via="api")
    session.commit()
    invalidate(request)
    return _question_out(question_views(session, a, only={question_id})[0])


# --- readiness ----------------------------------------------------------------------------------

class RoleOut(BaseModel):
    key: str
    title: str
    primary: str | None
    alternates: list[str]


class GapOut(BaseModel):
    kind: str
    subject: str
    message: str


class TeamOut(BaseModel):
    roles: list[RoleOut]
    gaps: list[GapOut]


class ModalityOut(BaseModel):
    asset: str
    status: str
    runway_hours: float | None
    limited_by: str | None
    runs_out_at_hour: float | None


class ContinuityOut(BaseModel):
    service: str
    name: str
    outage_hours: float
    rto_hours: float
    rpo_hours: float
    rto_status: str
    demonstrated_recovery_hours: float | None
    demonstrated_by: str | None
    modalities: list[ModalityOut]
    downtime_procedures: list[str]


class MilestoneOut(BaseModel):
    milestone: str
    label: str
    at: datetime
    role: str | None
    minutes_from_detection: float
    target_minutes: int | None
    met: bool | None


class DrillOut(DrillSummary):
    recovery_hours: float | None
    timeline: list[MilestoneOut]
    lessons: list[str]


class EventIn(BaseModel):
    milestone: str = Field(..., max_length=32, description="One of: " + ", ".join(MILESTONES))
    at: datetime | None = Field(None, description="When it happened; now when left out (live recording).")
    role: str | None = Field(None, max_length=64)
    note: str | None = Field(None, max_length=2000)


class BackupSetOut(BaseModel):
    name: str
    protects: str
    kind: str
    media: str
    offsite: bool
    immutable: bool
    offline: bool
    encrypted: bool
    last_verified_at: datetime | None
    last_verification_ok: bool | None


# The roadmap document (readiness.roadmap_store.RoadmapView.document): the one shape that
# `radguard roadmap --json`, /roadmap.json and GET /api/v1/roadmap give (tests/web/test_api.py).
class RoadmapFindingOut(BaseModel):
    id: int
    check_id: str
    title: str
    severity: str
    risk_score: int
    subject: str
    due: str | None


class RoadmapQuestionOut(BaseModel):
    id: str
    text: str
    claimed: int | None
    target: int
    challenged: bool


class RoadmapWhyOut(BaseModel):
    findings: list[RoadmapFindingOut]
    questions: list[RoadmapQuestionOut]


class RoadmapDocActionOut(RoadmapActionOut):
    why: RoadmapWhyOut
    findings_closed: int = Field(description="How many open findings the action closes (`why.findings` may list "
                                             "only the first few).")


class RoadmapProgressOut(BaseModel):
    findings_mitigated_last_90_days: int
    risk_points_removed_last_90_days: int
    answers_improved_since_previous_assessment: int | None


class RoadmapSummaryOut(BaseModel):
    actions: int
    risk_points: float
    open_findings: int
    questions_below_target: int
    capacity_per_30_days: float
    horizon_limits: dict[str, float | None]
    by_horizon: dict[str, int]
    pinned: int
    progress: RoadmapProgressOut


class RoadmapAssessmentOut(BaseModel):
    id: int
    organization: str
    site: str | None
    size: str
    version: int
    assessed_on: date
    status: str
    catalog_version: str | None


class RoadmapOut(BaseModel):
    as_of: date
    assessment: RoadmapAssessmentOut | None
    summary: RoadmapSummaryOut
    actions: list[RoadmapDocActionOut]
    # When the stored ranking was made (None: ranked for this request) and whether a decision or
    # checklist answer came after it (`radguard roadmap --re-rank` or the page's button ranks again).
    ranked_at: datetime | None
    stale: bool


@router.get("/team", response_model=TeamOut)
def team(principal: Principal = Depends(require("viewer")), session: Session = Depends(db_session)) -> TeamOut:
    roles, people = load_roles(session), load_people(session)
    return TeamOut(roles=[RoleOut(**{k: v for k, v in role_record(r).items() if k in RoleOut.model_fields})
                          for r in roles],
                   gaps=[GapOut(kind=g.kind, subject=g.subject, message=g.message)
                         for g in team_gaps(roles, people, utcnow().date())])


@router.get("/services", response_model=list[ContinuityOut])
def services(outage: float = Query(72.0, gt=0, le=24 * 90), principal: Principal = Depends(require("viewer")),
             session: Session = Depends(db_session)) -> list[ContinuityOut]:
    out = []
    for r in services_continuity(session, outage, principal.scope):
        d = r.as_dict()
        out.append(ContinuityOut(**{k: d[k] for k in ContinuityOut.model_fields if k != "modalities"},
                                 modalities=[ModalityOut(**{k: m.get(k) for k in ModalityOut.model_fields})
                                             for m in d["modalities"]]))
    return out


def _drill_out(d: Drill) -> DrillOut:
    rep = drill_report(d)
    return DrillOut(**_drill_summary(d).model_dump(), recovery_hours=rep["recovery_hours"],
                    timeline=[MilestoneOut(**m) for m in rep["timeline"]], lessons=rep["lessons"])


@router.get("/drills", response_model=list[DrillSummary])
def drills(principal: Principal = Depends(require("viewer")),
           session: Session = Depends(db_session)) -> list[DrillSummary]:
    return [_drill_summary(d) for d in load_drills(session, scope=principal.scope)]


@router.get("/drills/{key}", response_model=DrillOut, responses=_errors(404))
def drill(key: str = Path(..., max_length=64), principal: Principal = Depends(require("viewer")),
          session: Session = Depends(db_session)) -> DrillOut:
    try:
        return _drill_out(load_drill(session, key, scope=principal.scope))
    except RadguardError as exc:
        raise http_error(exc) from None


@router.post("/drills/{key}/events", response_model=DrillOut,
             responses=_errors(400, 404))
def drill_event(request: Request, body: EventIn, key: str = Path(..., max_length=64),
                principal: Principal = Depends(require("contributor")),
                session: Session = Depends(db_session)) -> DrillOut:
    """Record a milestone (now, unless `at` is given) with the rules of `radguard drill record`."""
    at = body.at or utcnow().replace(microsecond=0)
    try:
        event = EventDoc(milestone=body.milestone, at=at if at.tzinfo else at.replace(tzinfo=UTC), role=body.role,
                         note=body.note)
        record_drill(session, key, Recording(events=[event]), utcnow().date(), scope=principal.scope)
    except RadguardError as exc:
        raise http_error(exc) from None
    record(session, principal.name, "drill.event", target=f"drill:{key}",
           detail={"milestone": body.milestone, "at": event.at.isoformat()}, ip=client_ip(request), via="api")
    session.commit()
    invalidate(request)
    session.expire_all()
    return _drill_out(load_drill(session, key, scope=principal.scope))


@router.get("/backup-sets", response_model=list[BackupSetOut])
def backup_sets(principal: Principal = Depends(require("viewer")),
                session: Session = Depends(db_session)) -> list[BackupSetOut]:
    out = []
    for row in list_sets(session, scope=principal.scope):
        rec = set_record(row)
        last = rec["last_verification"]
        out.append(BackupSetOut(**{k: rec[k] for k in BackupSetOut.model_fields if k != "last_verification_ok"},
                                last_verification_ok=last["all_ok"] if last else None))
    return out


@router.get("/roadmap", response_model=RoadmapOut)
def roadmap(limit: int | None = Query(None, ge=1, description="Only the first LIMIT actions (default: all; "
                                                               "`summary.actions` counts them all)."),
            full: bool = Query(False, description="Every action lists all its findings, as /roadmap.json "
                                                  "(default: the first five, with `findings_closed` the count)."),
            principal: Principal = Depends(require("viewer")),
            session: Session = Depends(db_session)) -> Response:
    """The roadmap document, in the shape `radguard roadmap --json` and `/roadmap.json` give it."""
    doc = current_roadmap(session, today=utcnow().date(), full=full, scope=principal.scope).document()
    if limit is not None:
        doc = {**doc, "actions": doc["actions"][:limit]}
    RoadmapOut.model_validate(doc)  # the documented model holds (a drift fails here, not in a client)
    # Encoded as /roadmap.json encodes it (times as ISO 8601 with their offset), byte for byte the same shape.
    return JSONResponse(jsonable_encoder(doc))
