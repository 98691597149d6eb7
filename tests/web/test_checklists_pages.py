"""Checklist pages: answering question by question, evidence challenges, respondents, CSRF, roles."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard.db.models.checklists import ChecklistAnswer, ChecklistAssessment
from radguard.db.models.web import AuditEvent
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.readiness.checklists.assessments import create_assessment
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.dashboard import assess
from tests.conftest import EXAMPLES
from tests.web.conftest import csrf_of

HX = {"HX-Request": "true"}


def _assessment(db: Database) -> int:
    with db.transaction() as s:
        return create_assessment(s, "Northwind Health", "medium", created_by="test").id


def _challengeable_question() -> tuple[str, str]:
    """A medium-profile question that names RG-REMOTE-ALWAYS-ON (open on the Northwind example)."""
    for q in load_catalog().questions_for("medium"):
        if "RG-REMOTE-ALWAYS-ON" in q.checks:
            return q.id, q.domain
    raise AssertionError("the catalog has no question challenged by RG-REMOTE-ALWAYS-ON")


def test_assessor_starts_an_assessment_and_it_is_audited(client_for: Callable[[str], TestClient],
                                                         web_db: Database) -> None:
    c = client_for("assessor")
    page = c.get("/checklists")
    assert "No assessment yet" in page.text and 'id="new-assessment"' in page.text
    r = c.post("/checklists", data={"organization": "Northwind Health", "size": "small", "site_code": "",
                                    "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303
    with web_db.read() as s:
        a = s.scalar(select(ChecklistAssessment))
        assert a is not None and a.size == "small" and a.created_by == "assessor" and a.version == 1
        ev = s.scalar(select(AuditEvent).where(AuditEvent.action == "checklist.create"))
        assert ev is not None and ev.actor == "assessor" and ev.target == f"assessment:{a.id}"
    r = c.post("/checklists", data={"organization": "Northwind Health", "size": "huge", "csrf_token": csrf_of(c)})
    assert r.status_code == 400 and "huge" in r.text


def test_contributor_sees_no_create_form_and_cannot_create(client_for: Callable[[str], TestClient]) -> None:
    c = client_for("contributor")
    assert 'id="new-assessment"' not in c.get("/checklists").text
    r = c.post("/checklists", data={"organization": "X", "size": "small", "csrf_token": csrf_of(c)})
    assert r.status_code == 403


def test_answers_by_several_respondents_are_saved_with_who_answered(
        client_for: Callable[[str], TestClient], web_db: Database) -> None:
    aid = _assessment(web_db)
    catalog = load_catalog()
    q1, q2 = catalog.questions_for("medium")[:2]
    contributor, assessor = client_for("contributor"), client_for("assessor")
    page = contributor.get(f"/checklists/{aid}")
    assert q1.text in page.text and q1.guidance in page.text  # guidance shown inline
    r = contributor.post(f"/checklists/{aid}/questions/{q1.id}",
                         data={"answer": "3", "owner": "CISO", "evidence": "https://wiki/x\n\nhttps://wiki/y"},
                         headers={**HX, "X-CSRF-Token": csrf_of(contributor)})
    assert r.status_code == 200 and "Saved." in r.text and "by contributor" in r.text
    assert r.text.lstrip().startswith('<section class="question')  # a fragment, not a page
    r = assessor.post(f"/checklists/{aid}/questions/{q2.id}", data={"answer": "na", "na_reason": "no such unit"},
                      headers={**HX, "X-CSRF-Token": csrf_of(assessor)})
    assert r.status_code == 200 and "not applicable (no such unit)" in r.text
    with web_db.read() as s:
        rows = {a.question_id: a for a in s.scalars(select(ChecklistAnswer))}
        assert rows[q1.id].value == 3 and rows[q1.id].answered_by == "contributor"
        assert rows[q1.id].evidence_links == ["https://wiki/x", "https://wiki/y"]
        assert rows[q2.id].not_applicable and rows[q2.id].answered_by == "assessor"
        actions = s.scalars(select(AuditEvent.target).where(AuditEvent.action == "checklist.answer")).all()
        assert sorted(actions) == sorted([f"assessment:{aid}/{q1.id}", f"assessment:{aid}/{q2.id}"])
    page = contributor.get(f"/checklists/{aid}").text
    assert "contributor" in page and "assessor" in page and 'id="respondents"' in page


def test_refused_answers_name_the_problem_and_store_nothing(client_for: Callable[[str], TestClient],
                                                           web_db: Database) -> None:
    aid = _assessment(web_db)
    qid = load_catalog().questions_for("medium")[0].id
    c = client_for("contributor")
    r = c.post(f"/checklists/{aid}/questions/{qid}", data={"answer": "na"}, headers={**HX, "X-CSRF-Token": csrf_of(c)})
    assert r.status_code == 200 and "without a reason" in r.text and "Saved." not in r.text
    r = c.post(f"/checklists/{aid}/questions/{qid}", data={"answer": "7"}, headers={"X-CSRF-Token": csrf_of(c)})
    assert r.status_code == 400 and "out of scale" in r.text
    r = c.post(f"/checklists/{aid}/questions/XYZ-99", data={"answer": "2"}, headers={"X-CSRF-Token": csrf_of(c)})
    assert r.status_code == 400 and "unknown question" in r.text
    with web_db.read() as s:
        assert s.scalar(select(ChecklistAnswer)) is None


def test_answer_without_csrf_token_is_refused(client_for: Callable[[str], TestClient], web_db: Database) -> None:
    aid = _assessment(web_db)
    qid = load_catalog().questions_for("medium")[0].id
    c = client_for("contributor")
    assert c.post(f"/checklists/{aid}/questions/{qid}", data={"answer": "2"}, headers=HX).status_code == 403
    r = c.post(f"/checklists/{aid}/questions/{qid}", data={"answer": "2", "csrf_token": "forged"})
    assert r.status_code == 403
    a = client_for("assessor")
    assert a.post(f"/checklists/{aid}/close", data={"csrf_token": "forged"}).status_code == 403
    with web_db.read() as s:
        assert s.scalar(select(ChecklistAnswer)) is None
        assert s.get(ChecklistAssessment, aid).status == "open"  # type: ignore[union-attr]


def test_viewer_reads_but_cannot_answer(client_for: Callable[[str], TestClient], web_db: Database) -> None:
    aid = _assessment(web_db)
    qid = load_catalog().questions_for("medium")[0].id
    c = client_for("viewer")
    page = c.get(f"/checklists/{aid}")
    assert page.status_code == 200 and "Save answer" not in page.text
    r = c.post(f"/checklists/{aid}/questions/{qid}", data={"answer": "2"}, headers={"X-CSRF-Token": csrf_of(c)})
    assert r.status_code == 403


def test_high_answer_is_challenged_by_open_findings(client_for: Callable[[str], TestClient],
                                                    web_db: Database) -> None:
    with web_db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
    with web_db.transaction() as s:
        assess(s)
    aid = _assessment(web_db)
    qid, domain = _challengeable_question()
    c = client_for("contributor")
    page = c.get(f"/checklists/{aid}?domain={domain}").text
    assert "speak against an answer above 1" in page  # shown before answering
    r = c.post(f"/checklists/{aid}/questions/{qid}", data={"answer": "4"}, headers={**HX, "X-CSRF-Token": csrf_of(c)})
    assert "Challenged by evidence" in r.text and "counts as 1" in r.text and "RG-REMOTE-ALWAYS-ON" in r.text
    r = c.post(f"/checklists/{aid}/questions/{qid}", data={"answer": "1"}, headers={**HX, "X-CSRF-Token": csrf_of(c)})
    assert "Challenged by evidence" not in r.text


def test_closing_freezes_the_assessment(client_for: Callable[[str], TestClient], web_db: Database) -> None:
    aid = _assessment(web_db)
    qid = load_catalog().questions_for("medium")[0].id
    a = client_for("assessor")
    r = a.post(f"/checklists/{aid}/close", data={"csrf_token": csrf_of(a)}, follow_redirects=False)
    assert r.status_code == 303
    with web_db.read() as s:
        row = s.get(ChecklistAssessment, aid)
        assert row is not None and row.status == "closed" and row.score_snapshot is not None
    c = client_for("contributor")
    assert "Save answer" not in c.get(f"/checklists/{aid}").text
    r = c.post(f"/checklists/{aid}/questions/{qid}", data={"answer": "2"}, headers={"X-CSRF-Token": csrf_of(c)})
    assert r.status_code == 400 and "closed" in r.text
