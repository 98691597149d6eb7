"""Challenged by evidence, end to end: the assessment engine opens and closes the findings."""

from __future__ import annotations

from datetime import UTC, date, datetime

from radguard.db.models.inventory import Asset, Site
from radguard.db.models.workforce import TrainingRecord
from radguard.db.session import Database
from radguard.readiness.checklists.assessments import AnswerInput, create_assessment, get_assessment, record_answer
from radguard.readiness.checklists.report import score_assessment
from radguard.readiness.dashboard import assess

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def _challenged(database: Database, assessment_id: int) -> dict[str, list[str]]:
    with database.read() as s:
        doc = score_assessment(s, get_assessment(s, assessment_id))
    return {c["question"]: sorted({f["check_id"] for f in c["findings"]}) for c in doc["challenged"]}


def test_engine_findings_challenge_answers_until_resolved(database: Database) -> None:
    with database.transaction() as s:
        site = Site(code="MAIN", name="Main hospital", organization_size="medium")
        s.add(site)
        s.flush()
        s.add(Asset(site_id=site.id, name="CT-1", asset_class="modality", modality_type="CT", criticality=5,
                    network_zone="imaging-modalities", owner="Imaging IT", remote_access="always-on",
                    remote_access_mfa=False))
        for i in range(10):
            s.add(TrainingRecord(record_key=f"p{i}|Annual|2026-03-31", person=f"tech{i}", role="Technologist",
                                 site="MAIN", course="Annual", required=True, due_on=date(2026, 3, 31),
                                 completed=i < 7, completed_on=date(2026, 3, 1) if i < 7 else None))
        aid = create_assessment(s, "Northwind", "medium").id
        a = get_assessment(s, aid)
        record_answer(s, a, AnswerInput("ACC-01", 4))  # "all remote access uses MFA"
        record_answer(s, a, AnswerInput("WRK-01", 3))  # "everyone completes training"
        record_answer(s, a, AnswerInput("NET-01", 1))  # low claims are never challenged
        assess(s, now=NOW)

    challenged = _challenged(database, aid)
    assert "RG-REMOTE-NO-MFA" in challenged["ACC-01"]
    assert challenged["WRK-01"] == ["RG-TRAINING-OVERDUE"]
    assert "NET-01" not in challenged

    with database.transaction() as s:
        ct = s.query(Asset).filter_by(name="CT-1").one()
        ct.remote_access, ct.remote_access_mfa = "on-demand", True
        for r in s.query(TrainingRecord).filter(TrainingRecord.completed.is_(False)).limit(2):
            r.completed, r.completed_on = True, date(2026, 5, 1)  # 9 of 10: at the threshold
        assess(s, now=NOW)

    assert _challenged(database, aid) == {}
