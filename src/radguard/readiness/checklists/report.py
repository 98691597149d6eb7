"""Scoring an assessment stored in the database, with the change since the previous version.

An open assessment is scored against the findings open *now*. A closed assessment keeps the
score it had when it was closed (``score_snapshot``), so comparing with a previous version
compares what leadership saw then, not a re-interpretation under today's findings.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from radguard.db.base import utcnow
from radguard.db.models.checklists import ChecklistAssessment
from radguard.readiness.checklists.assessments import answers_of, ensure_open, previous_assessment
from radguard.readiness.checklists.evidence import open_findings
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.checklists.scoring import Scorecard, change_since, score_answers


def header(assessment: ChecklistAssessment) -> dict[str, Any]:
    return {"id": assessment.id, "organization": assessment.organization, "site": assessment.site_code or None,
            "size": assessment.size, "version": assessment.version, "assessed_on": assessment.assessed_on,
            "status": assessment.status, "catalog_version": assessment.catalog_version}


def live_scorecard(session: Session, assessment: ChecklistAssessment) -> Scorecard:
    """Score the stored answers against the findings open now."""
    catalog = load_catalog()
    checks = {c for q in catalog.questions_for(assessment.size) for c in q.checks}
    return score_answers(catalog, assessment.size, answers_of(session, assessment), open_findings(session, checks))


def score_document(session: Session, assessment: ChecklistAssessment) -> dict[str, Any]:
    if assessment.status == "closed" and assessment.score_snapshot:
        return dict(assessment.score_snapshot)
    return live_scorecard(session, assessment).as_dict()


def score_assessment(session: Session, assessment: ChecklistAssessment) -> dict[str, Any]:
    """The document `radguard checklist score --json` prints."""
    current = score_document(session, assessment)
    previous = previous_assessment(session, assessment)
    prev_doc = score_document(session, previous) if previous is not None else None
    return {
        "assessment": header(assessment),
        **current,
        "previous": header(previous) | {"overall": prev_doc["overall"] if prev_doc else None}
        if previous is not None else None,
        "change": change_since(current, prev_doc),
    }


def close_assessment(session: Session, assessment: ChecklistAssessment) -> dict[str, Any]:
    """Freeze the answers and keep the score as it stands now."""
    ensure_open(assessment)
    snapshot = live_scorecard(session, assessment).as_dict()
    assessment.score_snapshot = snapshot
    assessment.status = "closed"
    assessment.closed_at = utcnow()
    session.flush()
    return snapshot
