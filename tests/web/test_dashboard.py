"""The dashboard's card cache: slow cards never block the page, changes invalidate, errors stay local."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.checks.findings import finding_counts
from radguard.db.models.findings import Finding
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.readiness.checklists.assessments import create_assessment
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.dashboard import assess, stored_cards
from radguard.web.routes._cards import CardCache
from radguard.web.routes.dashboard import CACHED, next_drills
from tests.conftest import EXAMPLES
from tests.web.conftest import csrf_of


def test_slow_card_is_served_later_and_computed_once(web_db: Database) -> None:
    release = threading.Event()
    calls: list[int] = []

    def slow(session: Session) -> int:
        calls.append(1)
        release.wait(30)
        return 42

    cache = CardCache(web_db.sessions, {"slow": slow, "fast": lambda s: "ok"})
    first = cache.get_all(0.5)
    assert "slow" not in first and first["fast"].value == "ok"
    assert "slow" not in cache.get_all(0.1)  # still running: no second computation
    release.set()
    deadline = time.monotonic() + 10
    while "slow" not in cache.get_all(0.0) and time.monotonic() < deadline:
        time.sleep(0.05)  # a view never waits for a computation another view started
    assert cache.get_all(0.0)["slow"].value == 42
    assert len(calls) == 1
    cache.invalidate()
    assert cache.get_all(10)["slow"].value == 42 and len(calls) == 2


def test_failing_card_reports_its_error(web_db: Database) -> None:
    def broken(session: Session) -> Any:
        raise RuntimeError("no such table")

    card = CardCache(web_db.sessions, {"broken": broken}).get_all(10)["broken"]
    assert card.value is None and card.error == "RuntimeError: no such table"


def test_page_shows_placeholders_that_fill_themselves_in(app: FastAPI, web_db: Database,
                                                         client_for: Callable[[str], TestClient]) -> None:
    release = threading.Event()

    def slow_drills(session: Session) -> Any:
        release.wait(30)
        return next_drills(session)

    app.state.dashboard_cards = CardCache(web_db.sessions, {**CACHED, "drills": slow_drills})
    app.state.dashboard_wait = 2.0
    c = client_for("viewer")
    page = c.get("/").text
    assert 'id="card-drills"' in page and 'hx-get="/dashboard/cards/drills"' in page and "Still computing" in page
    assert 'id="assets"' in page  # the fast cards are not held back by the slow one
    assert 'id="roadmap"' in page  # the stored cards are read in the request, never a placeholder
    release.set()
    fragment = ""
    for _ in range(20):  # what the placeholder's poll does
        fragment = c.get("/dashboard/cards/drills").text
        if "Still computing" not in fragment:
            break
    assert 'id="next-drills"' in fragment and "No drill planned" in fragment and "hx-get" not in fragment
    assert "No roadmap yet" in c.get("/dashboard/cards/roadmap").text
    assert c.get("/dashboard/cards/nope").status_code == 404


def test_an_answer_shows_on_the_dashboard_at_once(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    with web_db.transaction() as s:
        aid = create_assessment(s, "Northwind Health", "small", created_by="test").id
    c = client_for("contributor")
    assert "0.0 <small>/ 4</small>" in c.get("/").text
    question = load_catalog().questions_for("small")[0]
    c.post(f"/checklists/{aid}/questions/{question.id}", data={"answer": "4"},
           headers={"HX-Request": "true", "X-CSRF-Token": csrf_of(c)})
    page = c.get("/").text
    assert "0.0 <small>/ 4</small>" not in page and 'id="readiness-score"' in page


def _severity_counts(page: str) -> dict[str, int]:
    return {sev: int(n) for sev, n in re.findall(r'data-severity="(\w+)" data-count="(\d+)"', page)}


def test_stored_cards_match_the_register_and_move_with_a_decision(
        web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    viewer = client_for("viewer")
    page = viewer.get("/").text  # a fresh database: no assessment, the page says so and still works
    assert 'id="no-stored-cards"' in page and "No roadmap yet" in page
    assert viewer.get("/api/v1/dashboard").json()["cards_assessed_at"] is None

    with web_db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
        assess(s)
    with web_db.read() as s:
        counts = finding_counts(s)  # what the CLI summary and the reports count
        first = s.scalars(select(Finding).where(Finding.state == "open").order_by(Finding.id)).first()
        assert first is not None
        fid, severity = first.id, first.severity
    page = viewer.get("/").text
    assert _severity_counts(page) == counts.open_by_severity and counts.open > 0
    api = viewer.get("/api/v1/dashboard").json()
    assert api["findings_open"] == counts.open and api["cards_assessed_at"] is not None
    assert {c["key"]: c["count"] for c in api["findings_by_state"]} == counts.by_state
    assert not api["roadmap_stale"] and api["roadmap_actions"]

    assessor = client_for("assessor")
    r = assessor.post("/findings/decide", data={"ids": str(fid), "action": "false-positive", "reason": "lab device",
                                                "csrf_token": csrf_of(assessor)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    after = _severity_counts(viewer.get("/").text)
    assert after[severity] == counts.open_by_severity[severity] - 1
    assert {k: v for k, v in after.items() if k != severity} == {
        k: v for k, v in counts.open_by_severity.items() if k != severity}
    api = viewer.get("/api/v1/dashboard").json()
    assert api["findings_open"] == counts.open - 1 and api["roadmap_stale"] is True
    with web_db.read() as s:  # the adjusted counts are the register's own
        assert stored_cards(s) is not None
        assert (stored_cards(s).findings["by_state"]  # type: ignore[union-attr]
                == finding_counts(s).by_state)
