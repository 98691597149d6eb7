"""Scoring arithmetic, size profiles, not-applicable answers, evidence caps and change over versions."""

from __future__ import annotations

from datetime import date

import pytest

from radguard.db.models.findings import Finding, fingerprint
from radguard.db.session import Database
from radguard.readiness.checklists.assessments import AnswerInput, create_assessment, get_assessment, record_answer
from radguard.readiness.checklists.evidence import CHALLENGE_CAP, FindingRef
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.checklists.models import ChecklistCatalog
from radguard.readiness.checklists.report import close_assessment, score_assessment
from radguard.readiness.checklists.scoring import score_answers


def tiny_catalog() -> ChecklistCatalog:
    q = {"guidance": "What good looks like here.", "action": "Do the thing properly.",
         "frameworks": {"csf2": ["PR.AA-05"], "hicp": ["3.M.C"]}}
    return ChecklistCatalog.model_validate({
        "version": "t",
        "domains": [{"key": "a", "title": "A", "description": "d", "topic": "access", "owner": "o"},
                    {"key": "b", "title": "B", "description": "d", "topic": "governance", "owner": "o"}],
        "questions": [
            {**q, "id": "AAA-01", "domain": "a", "text": "First question of domain A.", "weight": 2,
             "sizes": ["small", "large"], "checks": ["RG-X"]},
            {**q, "id": "AAA-02", "domain": "a", "text": "Second question of domain A.", "weight": 1,
             "sizes": ["small", "large"]},
            {**q, "id": "BBB-01", "domain": "b", "text": "Only question of domain B.", "weight": 1,
             "sizes": ["small", "large"], "frameworks": {"csf2": ["GV.OC-01", "GV.RR-01", "RS.MA-01"],
                                                                    "hicp": ["10.M.A"]}},
            {**q, "id": "BBB-02", "domain": "b", "text": "Large organizations only here.", "weight": 3,
             "sizes": ["large"]},
        ],
        "profiles": [{"size": s, "description": "p", "targets": {"a": 3, "b": t}}
                     for s, t in (("small", 2), ("medium", 3), ("large", 4))],
    })


def test_weighted_arithmetic_per_domain_function_and_overall() -> None:
    answers = {"AAA-01": AnswerInput("AAA-01", 4), "AAA-02": AnswerInput("AAA-02", 1),
               "BBB-01": AnswerInput("BBB-01", 2)}
    card = score_answers(tiny_catalog(), "small", answers, {}).as_dict()
    domains = {d["key"]: d for d in card["domains"]}
    assert domains["a"]["score"] == 3.0  # (2×4 + 1×1) / 3
    assert domains["a"]["percent"] == 75.0 and domains["a"]["gap"] == 0.0
    assert domains["b"]["score"] == 2.0 and domains["b"]["target"] == 2 and domains["b"]["gap"] == 0.0
    assert card["overall"]["score"] == 2.75  # (8 + 1 + 2) / 4
    functions = {f["key"]: f for f in card["functions"]}
    assert functions["PR"]["score"] == 3.0 and functions["PR"]["applicable"] == 2
    # BBB-01 maps to two GV subcategories but counts once in Govern, and once in Respond.
    assert functions["GV"]["applicable"] == 1 and functions["GV"]["score"] == 2.0
    assert functions["RS"]["score"] == 2.0 and functions["DE"]["score"] is None


def test_size_profile_selects_questions_and_targets() -> None:
    answers = {"BBB-01": AnswerInput("BBB-01", 2)}
    small = score_answers(tiny_catalog(), "small", answers, {}).as_dict()
    large = score_answers(tiny_catalog(), "large", answers, {}).as_dict()
    b_small = next(d for d in small["domains"] if d["key"] == "b")
    b_large = next(d for d in large["domains"] if d["key"] == "b")
    assert b_small["applicable"] == 1 and b_small["score"] == 2.0 and b_small["gap"] == 0.0
    # Large: BBB-02 (weight 3) applies and is unanswered, so counts 0: (2 + 0) / 4; target 4.
    assert b_large["applicable"] == 2 and b_large["score"] == 0.5 and b_large["gap"] == 3.5
    assert "BBB-02" in large["unanswered"] and "BBB-02" not in small["unanswered"]
    real = load_catalog()
    assert real.profile("small").targets["backup"] == 3 and real.profile("large").targets["backup"] == 4
    assert "NET-05" not in {q.id for q in real.questions_for("small")}


def test_not_applicable_is_left_out_and_unanswered_counts_zero() -> None:
    answers = {"AAA-01": AnswerInput("AAA-01", None, True, "no DICOM here"), "AAA-02": AnswerInput("AAA-02", 2)}
    card = score_answers(tiny_catalog(), "small", answers, {}).as_dict()
    a = next(d for d in card["domains"] if d["key"] == "a")
    assert a["applicable"] == 1 and a["score"] == 2.0
    assert card["unanswered"] == ["BBB-01"]
    assert card["overall"]["score"] == 1.0  # (1×2 + 1×0) / 2


def test_challenged_answer_is_capped_only_when_above_the_cap() -> None:
    finding = FindingRef(id=7, check_id="RG-X", title="t", severity="high", risk_score=60, subject="PACS")
    high = score_answers(tiny_catalog(), "small", {"AAA-01": AnswerInput("AAA-01", 4)}, {"RG-X": [finding]})
    low = score_answers(tiny_catalog(), "small", {"AAA-01": AnswerInput("AAA-01", 1)}, {"RG-X": [finding]})
    doc = high.as_dict()
    assert doc["challenged"] == [{"question": "AAA-01", "domain": "a", "text": "First question of domain A.",
                                  "claimed": 4, "capped_to": CHALLENGE_CAP, "findings": [finding.as_dict()]}]
    assert next(d for d in doc["domains"] if d["key"] == "a")["score"] == round(2 * CHALLENGE_CAP / 3, 2)
    assert low.as_dict()["challenged"] == []


def _finding(check_id: str, state: str = "open", n: int = 1) -> Finding:
    return Finding(fingerprint=fingerprint(check_id, None, "organization", str(n)), check_id=check_id,
                   subject="organization", key=str(n), title=f"{check_id} seen", severity="high", state=state,
                   risk_score=50, risk_explanation={}, evidence={})


def test_findings_in_the_register_challenge_and_versions_compare(database: Database) -> None:
    with database.transaction() as s:
        a1_id = create_assessment(s, "Northwind", "medium", assessed_on=date(2026, 1, 10)).id
        a1 = get_assessment(s, a1_id)
        record_answer(s, a1, AnswerInput("ACC-06", 4, owner="PACS admin"))
        record_answer(s, a1, AnswerInput("GOV-01", 1))
        s.add(_finding("RG-DICOM-ANY-CALLING-AE"))
        s.add(_finding("RG-DICOM-ANON-QUERY", state="mitigated"))
    with database.transaction() as s:
        a1 = get_assessment(s, a1_id)
        doc = score_assessment(s, a1)
        assert [c["question"] for c in doc["challenged"]] == ["ACC-06"]
        assert doc["challenged"][0]["findings"][0]["check_id"] == "RG-DICOM-ANY-CALLING-AE"
        assert doc["previous"] is None and doc["change"] is None
        v1_overall = doc["overall"]["score"]
        close_assessment(s, a1)
    with database.transaction() as s:
        a2 = create_assessment(s, "Northwind", "medium", assessed_on=date(2026, 4, 10))
        a2_id = a2.id
        assert a2.version == 2 and len(a2.answers) == 2  # carried forward
        record_answer(s, a2, AnswerInput("GOV-01", 3))
        for f in s.query(Finding).filter_by(check_id="RG-DICOM-ANY-CALLING-AE"):
            f.state = "mitigated"
    with database.read() as s:
        doc = score_assessment(s, get_assessment(s, a2_id))
        prev = score_assessment(s, get_assessment(s, a1_id))
    assert doc["challenged"] == []
    assert doc["previous"]["version"] == 1 and doc["previous"]["overall"]["score"] == v1_overall
    assert doc["change"]["overall"] == pytest.approx(doc["overall"]["score"] - v1_overall, abs=0.011)
    assert doc["change"]["domains"]["governance"] > 0 and doc["change"]["domains"]["access"] > 0
    # The closed version keeps its snapshot: still challenged, as leadership saw it then.
    assert [c["question"] for c in prev["challenged"]] == ["ACC-06"]
