"""One roadmap, one order: after a decision, every surface shows the stored ranking and says it is stale.

The page, its CSV and JSON, ``radguard roadmap``, the executive report's roadmap section and
the ticket export all read ``readiness.roadmap_store.current_roadmap``. A decision after the
assessment changes what a live ranking would give (the test checks that it does), so a surface
that ranked on its own would show another order here, or no stale notice.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from radguard import wording
from radguard.checks.findings import transition
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.readiness.dashboard import assess
from radguard.readiness.roadmap import build_roadmap
from radguard.readiness.roadmap_store import current_roadmap
from radguard.reports.build import build_report
from radguard.reports.render import render_html
from tests.conftest import EXAMPLES

ROW = re.compile(r'<tr id="action-\d+" data-action="([^"]+)"')


def _csv_ids(text: str, column: str) -> list[str]:
    return [r[column] for r in csv.DictReader(io.StringIO(text))]


def test_after_a_decision_every_surface_shows_the_stored_order_and_the_same_stale_notice(
        web_db: Database, client_for: Callable[[str], TestClient], rg: Any, tmp_path: Path) -> None:
    with web_db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
    with web_db.transaction() as s:
        assess(s)
    with web_db.read() as s:
        before = current_roadmap(s, full=True)
    assert before.ranked_at is not None and not before.stale
    top = next(a for a in before.doc["actions"] if a["kind"] == "finding")
    with web_db.transaction() as s:  # every finding of the top finding action resolved: it leaves a live ranking
        for f in top["why"]["findings"]:
            transition(s, f["id"], "resolve", by="tester", reason="patched")
    with web_db.read() as s:
        view = current_roadmap(s)
        live = [a["id"] for a in build_roadmap(s)["actions"]]
    order = [a["id"] for a in view.doc["actions"]]
    assert view.stale and order == [a["id"] for a in before.doc["actions"]]
    assert top["id"] in order and top["id"] not in live and len(order) > 5  # a live ranking would differ
    note = wording.ranking_note(view.ranked_at, True)
    assert note.startswith("Ranked at ") and note.endswith("decisions since then are not yet reflected.")

    viewer = client_for("viewer")
    page = viewer.get("/roadmap")
    assert page.status_code == 200
    assert ROW.findall(page.text) == order and note in page.text

    assert note in viewer.get("/").text  # the dashboard's roadmap card says it too

    table = viewer.get("/roadmap.csv")
    assert _csv_ids(table.text, "id") == order and table.headers["x-radguard-ranking"] == note
    document = viewer.get("/roadmap.json")
    assert [a["id"] for a in document.json()["actions"]] == order and document.json()["stale"] is True
    assert document.headers["x-radguard-ranking"] == note

    cli = rg("--db", web_db.url, "roadmap", "--format", "csv")
    assert cli.code == 0 and _csv_ids(cli.out, "id") == order and note in cli.err
    cli_json = rg("--db", web_db.url, "roadmap", "--json")
    assert cli_json.code == 0 and json.loads(cli_json.out) == document.json()

    with web_db.read() as s:
        report = build_report(s, "executive")
    assert [i.action_id for i in report.roadmap.items] == order
    assert [i.action_id for i in report.roadmap.top] == order[:5] and report.roadmap.ranking == note
    assert note in render_html(report)

    exported = tmp_path / "roadmap-import-set.csv"
    tickets = rg("--db", web_db.url, "tickets", "servicenow", "--roadmap", "-o", str(exported))
    assert tickets.code == 0, tickets.err
    assert _csv_ids(exported.read_text(encoding="utf-8"), "u_radguard_action_id") == order and note in tickets.err

    # Re-ranked, every surface follows and none says it is stale.
    assert rg("--db", web_db.url, "roadmap", "--re-rank", "--format", "csv").code == 0
    with web_db.read() as s:
        fresh = current_roadmap(s)
        report = build_report(s, "executive")
    assert not fresh.stale and [a["id"] for a in fresh.doc["actions"]] == live
    assert [i.action_id for i in report.roadmap.items] == live and "not yet reflected" not in report.roadmap.ranking
    page = viewer.get("/roadmap").text
    assert ROW.findall(page) == live and "not yet reflected" not in page
    assert wording.ranking_note(fresh.ranked_at, False) in viewer.get("/").text
