"""The JSON API: the same resources as the pages, token-authenticated writes, audited."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard.db.models.checklists import ChecklistAnswer
from radguard.db.models.response import Drill
from radguard.db.models.web import AuditEvent, User
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.readiness.checklists.assessments import create_assessment
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.dashboard import assess
from radguard.response.drills import import_drills
from radguard.response.services import import_services
from radguard.response.team import import_team
from radguard.web.accounts import create_api_token
from tests.conftest import EXAMPLES


def token_for(db: Database, username: str) -> str:
    with db.transaction() as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None
        return create_api_token(s, user, "test")[1]


@pytest.fixture
def api(app: FastAPI, web_db: Database) -> Iterator[Callable[[str], TestClient]]:
    clients: list[TestClient] = []

    def make(username: str) -> TestClient:
        c = TestClient(app, base_url="https://testserver",
                       headers={"Authorization": f"Bearer {token_for(web_db, username)}"})
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def northwind(web_db: Database) -> Database:
    with web_db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
        import_team(s, EXAMPLES / "northwind-team.yaml")
        import_services(s, EXAMPLES / "northwind-services.yaml")
        import_drills(s, EXAMPLES / "northwind-drill.yaml")
    with web_db.transaction() as s:
        create_assessment(s, "Northwind Health", "medium", created_by="test")
        assess(s)  # after the checklist: the dashboard's stored roadmap ranks its gaps too
    return web_db


def test_dashboard_json_matches_the_stages(northwind: Database, api: Callable[[str], TestClient]) -> None:
    d = api("viewer").get("/api/v1/dashboard").json()
    assert d["assets_total"] > 20 and d["findings_open"] > 0
    assert sum(c["count"] for c in d["findings_by_layer"]) == d["findings_open"]
    assert {s["key"] for s in d["unproven_services"]} == {"ct-main", "emergency-reads", "mammo-screening",
                                                           "oic-imaging"}
    assert d["readiness"]["assessment_id"] is not None and d["readiness"]["score"] == 0.0
    assert d["roadmap_actions"] and d["roadmap_actions"][0]["rank"] == 1
    # The dashboard's top actions are the head of the one ranking the roadmap endpoint lists.
    ranked = api("viewer").get("/api/v1/roadmap").json()["actions"]
    assert [a["id"] for a in d["roadmap_actions"]] == [a["id"] for a in ranked[:5]]
    assert all(a["cumulative_effort"] < b["cumulative_effort"] for a, b in itertools.pairwise(ranked))


def test_answer_a_question_through_the_api(northwind: Database, api: Callable[[str], TestClient]) -> None:
    c = api("contributor")
    aid = c.get("/api/v1/checklists").json()[0]["id"]
    qid = load_catalog().questions_for("medium")[0].id
    r = c.put(f"/api/v1/checklists/{aid}/questions/{qid}", json={"answer": 2, "owner": "CISO"})
    assert r.status_code == 200 and r.json()["value"] == 2 and r.json()["answered_by"] == "contributor"
    r = c.put(f"/api/v1/checklists/{aid}/questions/{qid}", json={"not_applicable": True})
    assert r.status_code == 400 and "reason" in r.json()["detail"]
    r = c.put(f"/api/v1/checklists/{aid}/questions/{qid}", json={"answer": 9})
    assert r.status_code == 422
    r = c.put(f"/api/v1/checklists/{aid}/questions/NO-SUCH-Q", json={"answer": 2})
    assert r.status_code == 404 and "NO-SUCH-Q" in r.json()["detail"]
    assert api("viewer").put(f"/api/v1/checklists/{aid}/questions/{qid}", json={"answer": 1}).status_code == 403
    score = c.get(f"/api/v1/checklists/{aid}").json()
    assert score["overall"]["answered"] == 1 and qid not in score["unanswered"]
    with northwind.read() as s:
        row = s.scalar(select(ChecklistAnswer).where(ChecklistAnswer.question_id == qid))
        assert row is not None and row.value == 2
        ev = s.scalar(select(AuditEvent).where(AuditEvent.action == "checklist.answer"))
        assert ev is not None and ev.via == "api" and ev.actor == "contributor"


def test_record_a_drill_milestone_through_the_api(northwind: Database, api: Callable[[str], TestClient]) -> None:
    c = api("contributor")
    key = "2026-03-ransomware-functional"
    before = c.get(f"/api/v1/drills/{key}").json()
    assert before["recovery_hours"] == 6.5 and len(before["timeline"]) == 8
    r = c.post(f"/api/v1/drills/{key}/events",
               json={"milestone": "declared", "at": "2026-03-18T12:39:00Z", "role": "incident_commander"})
    assert r.status_code == 200
    declared = next(m for m in r.json()["timeline"] if m["milestone"] == "declared")
    assert declared["minutes_from_detection"] == 34.0
    r = c.post(f"/api/v1/drills/{key}/events", json={"milestone": "teleported"})
    assert r.status_code == 400 and "unknown milestone" in r.json()["detail"]
    assert c.post("/api/v1/drills/nope/events", json={"milestone": "detected"}).status_code == 404
    with northwind.read() as s:
        drill = s.scalar(select(Drill).where(Drill.key == key))
        assert drill is not None
        assert next(e for e in drill.events if e.milestone == "declared").at.minute == 39


def test_readiness_resources(northwind: Database, api: Callable[[str], TestClient]) -> None:
    c = api("viewer")
    team = c.get("/api/v1/team").json()
    assert team["roles"] and all("message" in g for g in team["gaps"])
    services = c.get("/api/v1/services?outage=12").json()
    assert {s["service"] for s in services} >= {"ct-main"} and all(s["outage_hours"] == 12 for s in services)
    assert c.get("/api/v1/backup-sets").json() == []
    assert c.get("/api/v1/roadmap?limit=3").json()["actions"][0]["rank"] == 1
    assert [d["key"] for d in c.get("/api/v1/drills").json()] == ["2026-03-ransomware-functional",
                                                                 "2026-12-reporting-tabletop"]


def test_session_cookie_writes_to_the_api_need_csrf(northwind: Database,
                                                    client_for: Callable[[str], TestClient]) -> None:
    c = client_for("contributor")
    r = c.post("/api/v1/drills/2026-03-ransomware-functional/events", json={"milestone": "declared"})
    assert r.status_code == 403


def test_the_api_roadmap_is_the_one_roadmap_document(northwind: Database, api: Callable[[str], TestClient],
                                                     client_for: Callable[[str], TestClient], rg: Any) -> None:
    """One shape per object: the API's roadmap is the document /roadmap.json and the CLI give, typed in OpenAPI."""
    c = api("viewer")
    whole = c.get("/api/v1/roadmap", params={"full": "true"})
    assert whole.status_code == 200
    export = client_for("viewer").get("/roadmap.json").json()
    cli = rg("--db", northwind.url, "roadmap", "--json")
    assert cli.code == 0
    assert whole.json() == export == json.loads(cli.out)
    assert export["ranked_at"] is not None and export["stale"] is False and len(export["actions"]) > 5
    # The default is the page's short form: the same document, each action's first five findings.
    short = c.get("/api/v1/roadmap").json()
    assert short["summary"] == export["summary"] and [a["id"] for a in short["actions"]] == \
        [a["id"] for a in export["actions"]]
    assert all(a["why"]["findings"] == e["why"]["findings"][:5] and a["findings_closed"] == e["findings_closed"]
               for a, e in zip(short["actions"], export["actions"], strict=True))
    assert any(a["findings_closed"] > 5 for a in short["actions"])
    limited = c.get("/api/v1/roadmap", params={"limit": 3}).json()
    assert limited["actions"] == short["actions"][:3] and limited["summary"]["actions"] == len(export["actions"])

    schema = c.get("/api/v1/openapi.json").json()
    ok = schema["paths"]["/api/v1/roadmap"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/RoadmapOut"}
    models = schema["components"]["schemas"]
    assert set(models["RoadmapOut"]["properties"]) == set(export)
    assert set(models["RoadmapDocActionOut"]["properties"]) == set(export["actions"][0])
    assert set(models["RoadmapSummaryOut"]["properties"]) == set(export["summary"])
