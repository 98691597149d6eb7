"""Checklists for site-limited accounts (#20): read-only, with only the findings they may see cited.

Two sites' distinctive rows (``tests.web.site_estate``) and an organisation-wide assessment. An
administrator limited to NWH-MAIN (the highest role, so no role check hides a write) reads the
organisation's assessment and NWH-MAIN's own, not NWH-OIC's; the pages say why they are
read-only and carry no answer, create or close controls; the evidence lists name none of
NWH-OIC's findings; every write is refused (403), changes nothing and is audited. An
unrestricted administrator is the control: it sees NWH-OIC's findings cited, has the controls,
and the same answer is stored.
"""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from radguard.db.models.checklists import ChecklistAnswer
from radguard.db.models.web import AuditEvent, User
from radguard.db.session import Database
from radguard.readiness.checklists.assessments import create_assessment
from radguard.web.accounts import create_api_token
from tests.web.conftest import csrf_of, login
from tests.web.site_estate import leaks, seed_two_sites


@pytest.fixture
def estate(web_db: Database) -> dict[str, str]:
    """The two sites' object IDs and the organisation-wide assessment's ID (under ``org``)."""
    ids = seed_two_sites(web_db)
    with web_db.transaction() as s:
        org = create_assessment(s, "Northwind Health", "medium")
        s.flush()
        return {"org": str(org.id), "main": ids["NWH-MAIN"]["assessment_id"],
                "oic": ids["NWH-OIC"]["assessment_id"], "question": ids["NWH-MAIN"]["question_id"]}


def _client(app: FastAPI, username: str) -> TestClient:
    c = TestClient(app, base_url="https://testserver")
    c.headers["accept"] = "text/html"
    return login(c, username)


def _token(app: FastAPI, db: Database, username: str) -> TestClient:
    with db.transaction() as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None
        secret = create_api_token(s, user, "t")[1]
    return TestClient(app, base_url="https://testserver", headers={"Authorization": f"Bearer {secret}"})


def _domains(html: str) -> list[str]:
    return re.findall(r'href="/checklists/\d+\?domain=([\w-]+)"', html)


def _answers(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(ChecklistAnswer)) or 0)


def _refusals(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent)
                            .where(AuditEvent.action == "scope.refused")) or 0)


def test_a_site_account_reads_checklists_without_other_sites_findings(app: FastAPI, web_db: Database,
                                                                      estate: dict[str, str]) -> None:
    scoped, everyone = _client(app, "mainadmin"), _client(app, "admin")
    listing = scoped.get("/checklists")
    assert listing.status_code == 200 and 'id="checklists-read-only"' in listing.text
    assert 'href="/checklists"' in scoped.get("/").text  # the nav offers them again
    listed = set(re.findall(r'href="/checklists/(\d+)"', listing.text))
    assert listed == {estate["org"], estate["main"]}
    assert set(re.findall(r'href="/checklists/(\d+)"', everyone.get("/checklists").text)) >= {estate["oic"]}
    assert 'action="/checklists"' not in listing.text
    assert scoped.get(f"/checklists/{estate['oic']}").status_code == 404
    page = scoped.get(f"/checklists/{estate['org']}")
    assert page.status_code == 200 and 'id="checklists-read-only"' in page.text
    control = everyone.get(f"/checklists/{estate['org']}").text
    assert 'class="answer"' in control and 'id="close-assessment"' in control  # the controls exist
    cited_oic = False
    for domain in _domains(control):
        mine = scoped.get(f"/checklists/{estate['org']}", params={"domain": domain}).text
        assert 'class="answer"' not in mine and 'id="close-assessment"' not in mine
        assert leaks(mine) == [], (domain, leaks(mine))
        cited_oic |= bool(leaks(everyone.get(f"/checklists/{estate['org']}", params={"domain": domain}).text))
    assert cited_oic  # some question cites NWH-OIC's findings to the control, so the cut could fail
    api = _token(app, web_db, "mainadmin")
    assert {a["id"] for a in api.get("/api/v1/checklists").json()} == {int(estate["org"]), int(estate["main"])}
    assert api.get(f"/api/v1/checklists/{estate['oic']}").status_code == 404
    questions = api.get(f"/api/v1/checklists/{estate['org']}/questions")
    assert questions.status_code == 200 and leaks(questions.text) == []


def test_a_site_accounts_checklist_writes_are_refused_and_audited(app: FastAPI, web_db: Database,
                                                                 estate: dict[str, str]) -> None:
    scoped, everyone = _client(app, "mainadmin"), _client(app, "admin")
    api = _token(app, web_db, "mainadmin")
    answer = f"/checklists/{estate['org']}/questions/{estate['question']}"
    writes = [
        (scoped, "POST", answer, {"answer": "3"}),
        (scoped, "POST", f"/checklists/{estate['main']}/questions/{estate['question']}", {"answer": "3"}),
        (scoped, "POST", f"/checklists/{estate['org']}/close", {}),
        (scoped, "POST", "/checklists", {"organization": "Northwind Health", "size": "medium",
                                         "site_code": "NWH-MAIN"}),
    ]
    before = _answers(web_db)
    for client, method, url, body in writes:
        audited = _refusals(web_db)
        r = client.request(method, url, data={**body, "csrf_token": csrf_of(client)}, follow_redirects=False)
        assert r.status_code == 403, (url, r.status_code)
        assert "organisation" in r.text and _refusals(web_db) == audited + 1, url
    audited = _refusals(web_db)
    r = api.put(f"/api/v1{answer}", json={"answer": 3})
    assert r.status_code == 403 and _refusals(web_db) == audited + 1
    assert _answers(web_db) == before
    # The control: the same answer from an unrestricted administrator is stored.
    r = everyone.post(answer, data={"answer": "3", "csrf_token": csrf_of(everyone)}, follow_redirects=False)
    assert r.status_code == 303 and _answers(web_db) == before + 1
