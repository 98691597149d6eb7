"""Roadmap ordering on the worked example of docs/roadmap.md, and the command on live data."""

from __future__ import annotations

import csv
import io
import itertools
import json
import random
from datetime import date
from pathlib import Path

import pytest

from radguard.checks.spec import Effort
from radguard.db.models.findings import Finding, fingerprint
from radguard.db.session import Database
from radguard.errors import ConfigError
from radguard.readiness.checklists.assessments import AnswerInput, create_assessment, get_assessment, record_answer
from radguard.readiness.checklists.evidence import FindingRef
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.roadmap import (
    ENV_CAPACITY,
    POLICY_PATH,
    Action,
    CheckWork,
    QuestionWork,
    load_policy,
    plan,
    resolve_capacity,
)


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
        CheckWork("RG-KEV", "Known exploited vulnerability", "Patch the exploited flaw.", "medium", "vulnerability",
                  [_ref(7, "RG-KEV", 95, "critical", "2026-01-15")]),
    ]
    questions = [
        QuestionWork(q("INV-01"), 1, 3, "Imaging informatics lead", "inventory"),  # type: ignore[arg-type]
        QuestionWork(q("WRK-03"), 2, 3, "Security awareness manager", "training"),  # type: ignore[arg-type]
        QuestionWork(q("NET-01"), 3, 3, "Network engineering lead", "segmentation",  # type: ignore[arg-type]
                     ["RG-NOT-SEGMENTED"]),
    ]
    return checks, questions


def _plan(capacity: float) -> list[Action]:
    checks, questions = worked_example()
    return plan(checks, questions, load_policy(), {"inventory": "Imaging informatics lead"}, capacity)


def test_worked_example_ranking_and_horizons() -> None:
    """The tables of docs/roadmap.md's worked example, at 4 effort points per 30 days."""
    actions = _plan(4)
    labels = [h.label for h in load_policy().horizons]
    table = [(a.id, a.risk_reduction, a.cost, a.priority, a.ranked_priority, a.ranked_for, a.pinned,
              a.cumulative_effort, labels[a.horizon]) for a in actions]
    assert table == [
        ("RG-KEV", 95.0, 2.0, 47.5, 47.5, None, True, 2.0, "0-30 days"),  # pinned: critical and known exploited
        ("RG-WEB-NO-AUTH", 80.0, 1.0, 80.0, 80.0, None, False, 3.0, "0-30 days"),
        ("INV-01", 60.0, 2.0, 30.0, 40.0, "RG-NOT-SEGMENTED", False, 5.0, "31-90 days"),  # 5 > 4: next horizon
        ("RG-ASSET-STALE", 30.0, 1.0, 30.0, 40.0, "RG-NOT-SEGMENTED", False, 6.0, "31-90 days"),
        ("RG-NOT-SEGMENTED", 160.0, 4.0, 40.0, 40.0, None, False, 10.0, "31-90 days"),
        ("WRK-03", 15.0, 1.0, 15.0, 15.0, None, False, 11.0, "31-90 days"),
    ]
    seg = next(a for a in actions if a.id == "RG-NOT-SEGMENTED")
    assert seg.depends_on == ["INV-01", "RG-ASSET-STALE"] and seg.owner == "Imaging IT"
    assert [q["id"] for q in seg.questions] == ["NET-01"]  # fixing it lifts the challenged answer
    assert next(a for a in actions if a.id == "RG-ASSET-STALE").owner == "Imaging informatics lead"
    assert "NET-01" not in {a.id for a in actions}  # answered at target: no checklist action
    kev = actions[0]
    assert kev.depends_on == ["INV-01", "RG-ASSET-STALE"]  # pinned: ahead of its prerequisites, and lifts none


def test_a_change_of_capacity_moves_actions_between_horizons() -> None:
    """Same ranking at any capacity; only where the horizon boundaries fall changes."""
    labels = [h.label for h in load_policy().horizons]

    def horizons(capacity: float) -> dict[str, str]:
        return {a.id: labels[a.horizon] for a in _plan(capacity)}

    assert [a.id for a in _plan(2)] == [a.id for a in _plan(4)] == [a.id for a in _plan(8)]
    assert horizons(8) == {"RG-KEV": "0-30 days", "RG-WEB-NO-AUTH": "0-30 days", "INV-01": "0-30 days",
                           "RG-ASSET-STALE": "0-30 days", "RG-NOT-SEGMENTED": "31-90 days", "WRK-03": "31-90 days"}
    # At 2 points a month the pinned KEV fix alone fills the first 30 days.
    assert horizons(2) == {"RG-KEV": "0-30 days", "RG-WEB-NO-AUTH": "31-90 days", "INV-01": "31-90 days",
                           "RG-ASSET-STALE": "31-90 days", "RG-NOT-SEGMENTED": "91-180 days",
                           "WRK-03": "91-180 days"}
    # Less than the pinned work: it stays in the first horizon, and everything else moves out of it.
    tiny = {a.id: labels[a.horizon] for a in _plan(0.5)}
    assert tiny["RG-KEV"] == "0-30 days" and "0-30 days" not in {v for k, v in tiny.items() if k != "RG-KEV"}
    assert tiny["WRK-03"] == "later"


def _random_work(rng: random.Random) -> tuple[list[CheckWork], list[QuestionWork]]:
    """A random register: checks on random topics with random findings, questions with random answers."""
    policy, catalog = load_policy(), load_catalog()
    topics = sorted(policy.topics)
    efforts: list[Effort] = ["low", "medium", "high"]
    checks = []
    check_ids = [f"RG-X{i:02d}" for i in range(rng.randint(0, 30))] + ["RG-KEV"]
    for n, check_id in enumerate(check_ids):
        refs = [FindingRef(id=n * 100 + k, check_id=check_id, title=check_id,
                           severity=rng.choice(["critical", "high", "medium", "low", "info"]),
                           risk_score=rng.randint(0, 100), subject=f"s{k}") for k in range(rng.randint(0, 6))]
        checks.append(CheckWork(check_id, check_id, "fix", rng.choice(efforts), rng.choice(topics), refs))
    questions = [QuestionWork(q, rng.choice([None, 0, 1, 2, 3, 4]), rng.randint(1, 4), "Owner",
                              catalog.domain(q.domain).topic)
                 for q in rng.sample(catalog.questions, rng.randint(0, min(40, len(catalog.questions))))]
    return checks, questions


def test_ranking_is_the_documented_key_over_the_whole_list() -> None:
    """On random registers: the order is the key of docs/roadmap.md, recomputed here from the fields."""
    policy = load_policy()
    rng = random.Random(15)
    for _ in range(60):
        checks, questions = _random_work(rng)
        actions = plan(checks, questions, policy, {}, rng.choice([1, 3, 10, 25]))
        ids = [a.id for a in actions]
        by_id = {a.id: a for a in actions}
        for a in actions:
            # Pinned: exactly the checks and severities of roadmap.yaml's pin_first.
            assert a.pinned == (a.id in policy.pin_first.checks
                                and any(f.severity in policy.pin_first.severities for f in a.findings))
            # Ranked priority: the action's own, or that of the most urgent unpinned action waiting on it.
            waiting = [b.priority for b in actions if a.id in b.depends_on and not b.pinned]
            assert a.ranked_priority == max([a.priority, *waiting])
            assert a.priority == round(a.risk_reduction / policy.effort_cost[a.effort], 2)
        expected = sorted(actions, key=lambda a: (not a.pinned, -a.ranked_priority,
                                                  len(policy.prerequisites()[a.topic]), -a.priority,
                                                  -a.risk_reduction, a.id))
        assert ids == [a.id for a in expected]
        unpinned = [a for a in actions if not a.pinned]
        assert all(x.ranked_priority >= y.ranked_priority for x, y in itertools.pairwise(unpinned))
        for a in unpinned:  # never before something it depends on
            assert all(ids.index(dep) < ids.index(a.id) for dep in a.depends_on if not by_id[dep].pinned)


def test_horizons_respect_capacity() -> None:
    """Walking down the ranking, each horizon holds at most capacity × days ÷ 30 effort points."""
    policy = load_policy()
    rng = random.Random(1015)
    for _ in range(60):
        checks, questions = _random_work(rng)
        capacity = rng.choice([0.5, 1, 4, 10, 40])
        actions = plan(checks, questions, policy, {}, capacity)
        assert [a.horizon for a in actions] == sorted(a.horizon for a in actions)  # later rank, never earlier
        total = 0.0
        for a in actions:
            total += a.cost
            assert a.cumulative_effort == round(total, 2)
            if a.pinned:
                assert a.horizon == 0
                continue
            days = [h.days for h in policy.horizons]
            # the first horizon whose capacity holds the running total
            assert a.horizon == next(i for i, d in enumerate(days) if d is None or total <= capacity * d / 30)
        for i, h in enumerate(policy.horizons[:-1]):
            assert h.days is not None
            held = sum(a.cost for a in actions if a.horizon <= i)
            pinned = sum(a.cost for a in actions if a.pinned)
            assert held <= max(capacity * h.days / 30, pinned) + 1e-9


def test_capacity_comes_from_the_option_the_environment_or_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    policy = load_policy()
    monkeypatch.delenv(ENV_CAPACITY, raising=False)
    assert resolve_capacity(policy) == policy.capacity_per_30_days == 10
    monkeypatch.setenv(ENV_CAPACITY, "6.5")
    assert resolve_capacity(policy) == 6.5 and resolve_capacity(policy, 3) == 3
    monkeypatch.setenv(ENV_CAPACITY, "lots")
    with pytest.raises(ConfigError, match=r"RADGUARD_ROADMAP_CAPACITY.*'lots'"):
        resolve_capacity(policy)
    monkeypatch.setenv(ENV_CAPACITY, "0")
    with pytest.raises(ConfigError, match="positive"):
        resolve_capacity(policy)


def test_policy_rejects_a_closed_last_horizon(tmp_path: Path) -> None:
    text = POLICY_PATH.read_text(encoding="utf-8").replace('{label: "later", days: null}',
                                                           '{label: "later", days: 365}')
    bad = tmp_path / "roadmap.yaml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"(?s)roadmap\.yaml.*open-ended"):
        load_policy.__wrapped__(bad)


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
    assert "at 10 effort points per 30 days the running effort fills 0-30 days up to 10," in md
    rows = list(csv.DictReader(io.StringIO(rg("--db", url, "roadmap", "--format", "csv").out)))
    assert [row["id"] for row in rows] == ids

    # --capacity moves actions between horizons, never in the ranking.
    slow = json.loads(rg("--db", url, "roadmap", "--json", "--capacity", "1").out)
    assert [x["id"] for x in slow["actions"]] == ids and slow["summary"]["capacity_per_30_days"] == 1
    assert slow["summary"]["by_horizon"]["0-30 days"] < doc["summary"]["by_horizon"]["0-30 days"]
    assert all(x["cumulative_effort"] <= 1 for x in slow["actions"] if x["horizon"] == "0-30 days")
    assert rg("--db", url, "roadmap", "--capacity", "0").code != 0

    with database.transaction() as s:
        for f in s.query(Finding).filter_by(check_id="RG-NOT-SEGMENTED"):
            f.state = "mitigated"
    after = json.loads(rg("--db", url, "roadmap", "--json").out)
    assert "RG-NOT-SEGMENTED" not in [x["id"] for x in after["actions"]]
    assert after["summary"]["risk_points"] == doc["summary"]["risk_points"] - 120
