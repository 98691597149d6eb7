"""Schedules from the web app: create, pause, resume, run now, and the run history page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from radguard.db.session import Database
from radguard.distributed.schedules import history, list_schedules
from radguard.web.audit import recent
from tests.web.conftest import csrf_of


def test_schedules_from_the_web(web_db: Database, client_for: Callable[[str], TestClient], tmp_path: Path) -> None:
    admin = client_for("admin")
    token = csrf_of(admin)
    form = {"csrf_token": token, "name": "monthly-exec", "kind": "report", "every_hours": "720",
            "directory": str(tmp_path), "audience": "executive", "format": "html"}
    assert admin.post("/schedules", data=form, follow_redirects=False).status_code == 303
    bad = admin.post("/schedules", data={**form, "name": "other", "directory": str(tmp_path / "nowhere")})
    assert bad.status_code == 400 and "--report-dir" in bad.text
    assert admin.post("/schedules/monthly-exec/pause", data={"csrf_token": token},
                      follow_redirects=False).status_code == 303
    assert list_schedules(web_db)[0]["paused"] is True
    page = admin.get("/schedules")
    assert "monthly-exec" in page.text and "paused" in page.text and "Resume" in page.text
    run = admin.post("/schedules/monthly-exec/run", data={"csrf_token": token}, follow_redirects=False)
    assert run.status_code == 303 and run.headers["location"] == "/schedules/monthly-exec"
    runs = history(web_db, "monthly-exec")
    assert runs[0]["status"] == "ok" and Path(runs[0]["counts"]["file"]).is_file()
    detail = admin.get("/schedules/monthly-exec")
    assert "ok" in detail.text and runs[0]["counts"]["file"] in detail.text
    assert admin.post("/schedules/monthly-exec/resume", data={"csrf_token": token},
                      follow_redirects=False).status_code == 303
    assert list_schedules(web_db)[0]["paused"] is False
    viewer = client_for("viewer")
    assert "monthly-exec" in viewer.get("/schedules").text and "Run now" not in viewer.get("/schedules").text
    assert viewer.post("/schedules/monthly-exec/run", data={"csrf_token": csrf_of(viewer)}).status_code == 403
    assert admin.get("/schedules/nothing").status_code == 404
    with web_db.read() as s:
        actions = [e.action for e in recent(s, limit=10)]
    assert {"schedule.add", "schedule.pause", "schedule.run", "schedule.resume"} <= set(actions)


def test_monthly_schedule_with_a_window_from_the_web(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    admin = client_for("admin")
    token = csrf_of(admin)
    form = {"csrf_token": token, "name": "assess-month", "kind": "assess", "repeat": "monthly", "every_hours": "",
            "timezone": "Europe/Berlin", "window": "Sat 22:00-Sun 04:00"}
    assert admin.post("/schedules", data=form, follow_redirects=False).status_code == 303
    row = list_schedules(web_db)[0]
    assert row["monthly"] is True and row["timezone"] == "Europe/Berlin" and row["window"] == "Sat 22:00-Sun 04:00"
    assert row["starts"] >= row["next_run"]
    page = admin.get("/schedules").text
    assert "Saturday 22:00 to Sunday 04:00" in page and "monthly on day" in page
    on_last = {**form, "name": "assess-last", "month_day": "last", "window": ""}
    assert admin.post("/schedules", data=on_last, follow_redirects=False).status_code == 303
    assert {r["name"]: r for r in list_schedules(web_db)}["assess-last"]["month_day"] == 31
    assert "monthly on the last day, Europe/Berlin time" in admin.get("/schedules").text
    refused = admin.post("/schedules", data={**on_last, "name": "assess-32", "month_day": "32"})
    assert refused.status_code == 400 and "1 to 31" in refused.text
    detail = admin.get("/schedules/assess-month").text
    assert "maintenance window Saturday 22:00 to Sunday 04:00 (Europe/Berlin)" in detail
    bad = admin.post("/schedules", data={**form, "name": "other", "window": "whenever"})
    assert bad.status_code == 400 and "Sat 22:00-Sun 04:00" in bad.text and "whenever" in bad.text
    assert [r["name"] for r in list_schedules(web_db)] == ["assess-last", "assess-month"]
