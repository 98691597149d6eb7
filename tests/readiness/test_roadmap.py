"""Roadmap ordering on the worked example of docs/roadmap.md, and the command on live data."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

from radguard.db.models.findings import Finding, fingerprint
from radguard.db.session import Database
from radguard.readiness.checklists.assessments import AnswerInput, create_assessment, get_assessment, record_answer
from radguard.readiness.checklists.evidence import FindingRef
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.roadmap import CheckWork, QuestionWork, load_policy, plan

TODAY = date(2026, 1, 1)


def _ref(n: int, check_id: str, risk: int, severity: str, due: str | None) -> FindingRef:
    return FindingRef(id=n, check_id=check_id, title=check_id, severity=severity, risk_score=risk,
                      subject=f"asset-{n}", asset_owner="Imaging IT" if check_id == "RG-NOT-SEGMENTED" else None,
                      due=due)


def worked_example() -> tuple[list[CheckWork], list[QuestionWork]]:
    catalog = load_catalog()
    q = catalog.question
    checks = [
        CheckWork("RG-NOT-SEGMENTED", "Not segmented", "Move devices to imaging segments.", "high", "segmentation",
                  [_ref(1, "RG-NOT-SEGMENTED", 90, "high", "2026-03-15"),
                   _ref(2, "RG-NOT-SEGMENTED", 70, "high", "2026-03-15")]),
        CheckWork("RG-WEB-NO-AUTH", "Web without auth", "Turn on authentication.", "low", "access",
                  [_ref(3, "RG-WEB-NO-AUTH", 80, "critical", "2026-01-15")]),
        CheckWork("RG-ASSET-STALE", "Stale asset", "Review stale assets.", "low", "inventory",
                  [_ref(n, "RG-ASSET-STALE", 10, "low", None) for n in (4, 5, 6)]),
    ]
    questions = [
        QuestionWork(q("INV-01"), 1, 3, "Imaging informatics lead", "inventory"),  # type: ignore[arg-type]
        QuestionWork(q("WRK-03"), 2, 3, "Security awareness manager", "training"),  # type: ignore[arg-type]
        QuestionWork(q("NET-01"), 3, 3, "Network engineering lead", "segmentation",  # type: ignore[arg-type]
                     ["RG-NOT-SEGMENTED"]),
    ]
    return checks, questions


def test_worked_example_order_horizons_and_dependencies() -> None:
    checks, questions = worked_example()
    actions = plan(checks, questions, load_policy(), TODAY, {"inventory": "Imaging informatics lead"})
    policy = load_policy()
    table = [(a.id, policy.horizons[a.horizon].label, a.risk_reduction, a.priority) for a in actions]
    assert table == [
        ("RG-WEB-NO-AUTH", "0-30 days", 80.0, 80.0),
        ("WRK-03", "0-30 days", 15.0, 15.0),
        ("INV-01", "31-90 days", 60.0, 30.0),
        ("RG-ASSET-STALE", "31-90 days", 30.0, 30.0),  # pulled forward from 91-365: segmentation needs it
        ("RG-NOT-SEGMENTED", "31-90 days", 160.0, 40.0),  # highest priority of its horizon, but after inventory
    ]
    seg = actions[-1]
    assert seg.depends_on == ["INV-01", "RG-ASSET-STALE"] and seg.owner == "Imaging IT"
    assert [q["id"] for q in seg.questions] == ["NET-01"]  # fixing it lifts the challenged answer
    assert actions[3].owner == "Imaging informatics lead"
    assert "NET-01" not in {a.id for a in actions}  # answered at target: no checklist action


def test_policy_is_acyclic_and_covers_every_domain_topic() -> None:
    policy = load_policy()
    prereqs = policy.prerequisites()
    assert "inventory" in prereqs["segmentation"] and "inventory" in prereqs["monitoring"]
    assert {"backup", "incident_response", "governance", "inventory"} <= prereqs["recovery"]
    assert {d.topic for d in load_catalog().domains} <= set(policy.topics)


def _finding(n: int, check_id: str, risk: int, state: str = "open") -> Finding:
    return Finding(fingerprint=fingerprint(check_id, None, f"s{n}", ""), check_id=check_id, subject=f"s{n}",
                   title=check_id, severity="high", state=state, risk_score=risk, risk_explanation={}, evidence={},
                   due=date(2026, 1, 20))


def test_roadmap_command_groups_findings_and_shrinks_as_they_close(rg, database: Database) -> None:  # type: ignore[no-untyped-def]
    url = database.url
    with database.transaction() as s:
        aid = create_assessment(s, "Northwind", "small").id
        a = get_assessment(s, aid)
        for qid in [q.id for q in load_catalog().questions_for("small")]:
            record_answer(s, a, AnswerInput(qid, 4))
        record_answer(s, a, AnswerInput("NET-01", 1, owner="Network team"))
        s.add_all([_finding(1, "RG-NOT-SEGMENTED", 70), _finding(2, "RG-NOT-SEGMENTED", 50),
                   _finding(3, "RG-ASSET-STALE", 20), _finding(4, "RG-WEB-NO-AUTH", 90, state="mitigated")])
    r = rg("--db", url, "roadmap", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    ids = [x["id"] for x in doc["actions"]]
    assert ids.index("RG-ASSET-STALE") < ids.index("RG-NOT-SEGMENTED")
    assert ids.index("RG-ASSET-STALE") < ids.index("NET-01")  # inventory before segmentation
    seg = next(x for x in doc["actions"] if x["id"] == "RG-NOT-SEGMENTED")
    assert seg["risk_reduction"] == 120.0 and seg["effort"] == "high" and len(seg["why"]["findings"]) == 2
    assert "RG-WEB-NO-AUTH" not in ids  # mitigated findings are not work
    net = next(x for x in doc["actions"] if x["id"] == "NET-01")
    assert net["owner"] == "Network team" and net["risk_reduction"] == 30.0  # weight 3 × (2 − 1) × 10
    assert doc["summary"]["open_findings"] == 3

    md = rg("--db", url, "roadmap", "--format", "md").out
    assert md.startswith("# Readiness roadmap") and "**RG-NOT-SEGMENTED**" in md
    rows = list(csv.DictReader(io.StringIO(rg("--db", url, "roadmap", "--format", "csv").out)))
    assert [row["id"] for row in rows] == ids

    with database.transaction() as s:
        for f in s.query(Finding).filter_by(check_id="RG-NOT-SEGMENTED"):
            f.state = "mitigated"
    after = json.loads(rg("--db", url, "roadmap", "--json").out)
    assert "RG-NOT-SEGMENTED" not in [x["id"] for x in after["actions"]]
    assert after["summary"]["risk_points"] == doc["summary"]["risk_points"] - 120
