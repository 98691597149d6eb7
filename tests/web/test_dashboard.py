"""The dashboard's card cache: slow cards never block the page, changes invalidate, errors stay local."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from radguard.db.session import Database
from radguard.readiness.checklists.assessments import create_assessment
from radguard.readiness.checklists.loader import load_catalog
from radguard.web.routes._cards import CardCache
from radguard.web.routes.dashboard import CARDS, roadmap_card
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

    def slow_roadmap(session: Session) -> dict[str, Any]:
        release.wait(30)
        return roadmap_card(session)

    app.state.dashboard_cards = CardCache(web_db.sessions, {**CARDS, "roadmap": slow_roadmap})
    app.state.dashboard_wait = 2.0
    c = client_for("viewer")
    page = c.get("/").text
    assert 'id="card-roadmap"' in page and 'hx-get="/dashboard/cards/roadmap"' in page and "Still computing" in page
    assert 'id="assets"' in page  # the fast cards are not held back by the slow one
    release.set()
    fragment = ""
    for _ in range(20):  # what the placeholder's poll does
        fragment = c.get("/dashboard/cards/roadmap").text
        if "Still computing" not in fragment:
            break
    assert 'id="roadmap"' in fragment and "No roadmap actions" in fragment and "hx-get" not in fragment
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
