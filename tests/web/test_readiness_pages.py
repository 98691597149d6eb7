"""Readiness pages: team gaps, continuity, binder download, drills recorded live, backup runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard.db.models.backup import BackupSet, BackupVerification
from radguard.db.models.response import Drill, DrillEvent
from radguard.db.models.web import AuditEvent
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.response.drills import import_drills
from radguard.response.services import import_services
from radguard.response.team import import_team
from tests.conftest import EXAMPLES
from tests.web.conftest import csrf_of

HX = {"HX-Request": "true"}


@pytest.fixture
def northwind(web_db: Database) -> Database:
    with web_db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
        import_team(s, EXAMPLES / "northwind-team.yaml")
        import_services(s, EXAMPLES / "northwind-services.yaml")
        import_drills(s, EXAMPLES / "northwind-drill.yaml")
    return web_db


def test_empty_pages_say_there_is_no_data(client_for: Callable[[str], TestClient]) -> None:
    c = client_for("viewer")
    assert "No response team recorded" in c.get("/readiness/team").text
    assert "No imaging services recorded" in c.get("/readiness/services").text
    assert "No backup sets recorded" in c.get("/readiness/backup").text
    assert "No drill planned or recorded yet" in c.get("/readiness/drills").text
    dash = c.get("/").text
    for phrase in ("No checklist assessment yet", "No imaging services recorded", "No backup sets recorded",
                   "No drill planned", "No roadmap yet", "No assessment has been run yet"):
        assert phrase in dash, phrase


def test_team_services_and_dashboard_with_northwind(northwind: Database,
                                                    client_for: Callable[[str], TestClient]) -> None:
    c = client_for("viewer")
    team = c.get("/readiness/team").text
    assert "Incident commander" in team or "incident_commander" in team
    services = c.get("/readiness/services?outage=72").text
    # The example drill restored systems in 6.5 h, slower than CT's RTO; mammography was never drilled.
    assert 'id="service-ct-main"' in services
    assert "RTO not met: the best drill (2026-03-ransomware-functional)" in services
    assert "never demonstrated" in services
    dash = c.get("/").text
    assert 'id="rto-unproven"' in dash and "never demonstrated by a drill" in dash and "missed (best drill" in dash
    assert c.get("/readiness/services?outage=0").status_code == 422


def test_binder_download_is_an_audited_attachment(northwind: Database,
                                                  client_for: Callable[[str], TestClient]) -> None:
    c = client_for("viewer")
    r = c.post("/readiness/binder", data={"fmt": "html", "outage": "24", "csrf_token": csrf_of(c)})
    assert r.status_code == 200
    assert r.headers["content-disposition"].startswith('attachment; filename="radguard-binder-')
    assert "Dana Whitfield" in r.text and "<script" not in r.text
    assert c.post("/readiness/binder", data={"fmt": "html"}).status_code == 403  # no CSRF token
    with northwind.read() as s:
        ev = s.scalar(select(AuditEvent).where(AuditEvent.action == "binder.download"))
        assert ev is not None and ev.actor == "viewer" and ev.detail["format"] == "html"


def test_plan_and_record_a_drill_live(northwind: Database, client_for: Callable[[str], TestClient]) -> None:
    c = client_for("contributor")
    r = c.post("/readiness/drills", data={"key": "2027-02-tabletop", "playbook": "ransomware-pacs",
                                          "kind": "functional", "on": "2027-02-10", "services": "ct-main",
                                          "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/readiness/drills/2027-02-tabletop"
    assert "2027-02-tabletop" in c.get("/").text  # next drills card
    token = csrf_of(c)
    r = c.post("/readiness/drills/2027-02-tabletop/events", data={"milestone": "detected",
               "role": "imaging_informatics"}, headers={**HX, "X-CSRF-Token": token})
    assert r.status_code == 200 and "Saved." in r.text and 'data-milestone="detected"' in r.text
    # A first milestone starts the drill; it is not over until someone says so (or back_to_normal).
    assert 'data-status="in_progress"' in r.text and "in progress" in r.text and "The drill is over" in r.text
    r = c.post("/readiness/drills/2027-02-tabletop/events",
               data={"milestone": "declared", "at": "2000-01-01T00:00", "role": "incident_commander"},
               headers={**HX, "X-CSRF-Token": token})
    assert "before" in r.text and 'data-milestone="declared"' not in r.text  # out of order: refused
    r = c.post("/readiness/drills/2027-02-tabletop/events", data={"milestone": "declared", "role": "nobody"},
               headers={**HX, "X-CSRF-Token": token})
    assert "unknown role" in r.text
    r = c.post("/readiness/drills/2027-02-tabletop/record",
               data={"participant": "Dana Whitfield", "participant_role": "incident_commander",
                     "lesson": "Downtime forms were in a locked room", "action_title": "Move the forms to the desk"},
               headers={**HX, "X-CSRF-Token": token})
    assert "Downtime forms were in a locked room" in r.text and "Move the forms to the desk" in r.text
    assert 'data-status="in_progress"' in r.text
    r = c.post("/readiness/drills/2027-02-tabletop/record", data={"complete": "1"},
               headers={**HX, "X-CSRF-Token": token})
    assert 'data-status="completed"' in r.text and "The drill is over" not in r.text
    listing = c.get("/readiness/drills").text
    assert 'data-status="completed"' in listing
    with northwind.read() as s:
        drill = s.scalar(select(Drill).where(Drill.key == "2027-02-tabletop"))
        assert drill is not None
        events = s.scalars(select(DrillEvent).where(DrillEvent.drill_id == drill.id)).all()
        assert [(e.milestone, e.role) for e in events] == [("detected", "imaging_informatics")]
        assert abs(events[0].at - datetime.now(UTC)) < timedelta(minutes=5)
        assert [a.title for a in drill.actions] == ["Move the forms to the desk"]
        audited = s.scalars(select(AuditEvent.action).where(AuditEvent.target == "drill:2027-02-tabletop")).all()
        assert sorted(audited) == ["drill.event", "drill.plan", "drill.record", "drill.record"]
        assert drill.status == "completed" and drill.ended_at is not None


def test_drill_forms_refuse_viewers_and_missing_csrf(northwind: Database,
                                                     client_for: Callable[[str], TestClient]) -> None:
    key = "2026-03-ransomware-functional"
    v = client_for("viewer")
    page = v.get(f"/readiness/drills/{key}").text
    assert "Stroke CT read at the console" in page and 'id="record-event"' not in page
    assert v.post(f"/readiness/drills/{key}/events", data={"milestone": "detected"},
                  headers={"X-CSRF-Token": csrf_of(v)}).status_code == 403
    c = client_for("contributor")
    assert c.post(f"/readiness/drills/{key}/events", data={"milestone": "detected"}, headers=HX).status_code == 403
    assert c.post("/readiness/drills", data={"key": "x", "playbook": "ransomware-pacs", "on": "2027-01-01",
                                             "csrf_token": "forged"}).status_code == 403
    assert c.get("/readiness/drills/no-such-drill").status_code == 404
    r = c.post("/readiness/drills", data={"key": "bad key!", "playbook": "ransomware-pacs", "on": "2027-01-01",
                                          "csrf_token": csrf_of(c)})
    assert r.status_code == 400 and "key" in r.text
    with northwind.read() as s:
        assert s.scalar(select(Drill).where(Drill.key == "x")) is None


def test_backup_sets_and_verification_runs(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    now = datetime.now(UTC)
    with web_db.transaction() as s:
        bs = BackupSet(name="nas-replica", protects="PACS archive", location="NAS in building B", kind="local",
                       media="disk", immutable=False)
        s.add(bs)
        s.flush()
        s.add(BackupVerification(backup_set_id=bs.id, started_at=now - timedelta(hours=1), finished_at=now,
                                 expected_instances=1000, files_checked=998, counts={"ok": 997, "corrupt": 1},
                                 not_checked={}, bytes_read=10**9, elapsed_seconds=3600.0, archive_bytes=10**12,
                                 projected_restore_hours=30.5, rto_hours=24.0, rto_met=False, all_ok=False))
    c = client_for("viewer")
    page = c.get("/readiness/backup").text
    assert "nas-replica" in page and "24 h: not met: copy incomplete" in page
    assert "997 of 1000 instances restorable — 1 corrupt: restore incomplete" in page
    assert "30.5 h" in page
    dash = c.get("/").text
    assert "restore incomplete" in dash and "nas-replica" in dash and "RTO 24 h: not met: copy incomplete" in dash
    assert "997 of 1000 instances restorable — 1 corrupt: restore incomplete" in dash


def test_backup_ransom_note_named_first_and_rto_never_met(web_db: Database,
                                                          client_for: Callable[[str], TestClient]) -> None:
    """A fast run that found a ransom note, stored by an older radguard with rto_met from speed alone:
    the note is named first everywhere, and the RTO is never "met"."""
    now = datetime.now(UTC)
    with web_db.transaction() as s:
        bs = BackupSet(name="nas-replica", protects="PACS archive", location="NAS in building B", kind="local",
                       media="disk", immutable=False)
        s.add(bs)
        s.flush()
        s.add(BackupVerification(backup_set_id=bs.id, started_at=now, finished_at=now + timedelta(minutes=5),
                                 expected_instances=1000, files_checked=1002,
                                 counts={"ok": 999, "corrupt": 1, "ransom_note": 2},
                                 ransom_notes=[{"name": "HOW_TO_DECRYPT.html", "files": 2}],
                                 not_checked={}, bytes_read=10**9, elapsed_seconds=3600.0, archive_bytes=10**12,
                                 projected_restore_hours=2.0, rto_hours=24.0, rto_met=True, all_ok=False))
    c = client_for("viewer")
    page = c.get("/readiness/backup").text
    assert "ransom note: HOW_TO_DECRYPT.html (2 copies)" in page
    assert page.index("HOW_TO_DECRYPT.html") < page.index("1 corrupt")
    assert "h: met" not in page and "24 h: not met: copy incomplete" in page
    dash = c.get("/").text
    assert "ransom note found" in dash and "HOW_TO_DECRYPT.html (2 copies)" in dash
    assert "not met: copy incomplete" in dash and "passed" not in dash.split("last-backup")[1][:400]
    api = c.get("/api/v1/dashboard")
    assert api.status_code == 200, api.text
    last = api.json()["last_verification"]
    assert last["rto_met"] is False and last["rto_verdict"] == "incomplete"
    assert last["ransom_notes"] == [{"name": "HOW_TO_DECRYPT.html", "files": 2}]



def test_backup_recovery_point_from_the_last_backup_and_an_unread_copy_is_never_met(
        web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    """No study-date lag measured: the recovery point is the age of the set's last backup at verification.
    A fast run that did not read every file, with every file it read intact, is still not "RTO met"."""
    now = datetime.now(UTC).replace(microsecond=0)
    with web_db.transaction() as s:
        bs = BackupSet(name="tape-weekly", protects="VNA", location="vault", kind="offsite", media="tape",
                       immutable=True, last_success_at=now - timedelta(hours=30))
        s.add(bs)
        s.flush()
        s.add(BackupVerification(backup_set_id=bs.id, started_at=now - timedelta(minutes=3), finished_at=now,
                                 complete=False, expected_instances=20, files_checked=20, counts={"ok": 20},
                                 not_checked={"directories": 1, "files": 0}, bytes_read=10**6, elapsed_seconds=2.0,
                                 archive_bytes=10**6, projected_restore_hours=0.01, rto_hours=4.0, rto_met=True,
                                 rpo_achieved_hours=None, rpo_hours=24.0, all_ok=True))
    with web_db.read() as s:
        from radguard.backup.sets import verification_record
        record = verification_record(s.query(BackupVerification).one())
    assert record["last_backup_at"] == now - timedelta(hours=30)
    assert record["rpo_since_last_backup_hours"] == 30.0
    assert record["rto_verdict"] == "incomplete" and record["rto_met"] is False
    c = client_for("viewer")
    page = c.get("/readiness/backup").text
    assert "about 30 h since the last backup (target 24 h: beyond)" in page
    assert "&lt; 0.1 h" in page and "0.0 h" not in page
    assert "4 h: not met: copy incomplete" in page and "h: met" not in page
    dash = c.get("/").text.split("last-backup")[1][:1500]
    assert "about 30 h since the last backup" in dash and "RTO 4 h: not met" in dash
    api = c.get("/api/v1/dashboard").json()["last_verification"]
    assert api["rpo_since_last_backup_hours"] == 30.0 and api["rto_met"] is False


def test_drill_forms_without_htmx_keep_input_on_error_and_confirm_success(
        northwind: Database, client_for: Callable[[str], TestClient]) -> None:
    """Issue #19: a plain form post (no JavaScript) that is refused re-renders the whole page with the
    error beside the form and what was typed (400); a saved one says so once, after the redirect."""
    c = client_for("contributor")
    r = c.post("/readiness/drills", data={"key": "2027-03-plain", "playbook": "ransomware-pacs",
                                          "kind": "functional", "on": "2027-03-10", "services": "ct-main",
                                          "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303
    r = c.post("/readiness/drills/2027-03-plain/events",
               data={"milestone": "detected", "role": "imaging_informatics", "csrf_token": csrf_of(c)},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/readiness/drills/2027-03-plain?saved=1"
    assert "Saved." in c.get(r.headers["location"]).text
    assert "Saved." not in c.get("/readiness/drills/2027-03-plain").text  # shown once, not on every visit
    r = c.post("/readiness/drills/2027-03-plain/events",
               data={"milestone": "declared", "at": "2000-01-01T00:00", "role": "incident_commander",
                     "note": "typed note kept", "csrf_token": csrf_of(c)})
    assert r.status_code == 400 and "before" in r.text and 'role="alert"' in r.text
    assert "<h1>" in r.text  # the whole page, not a fragment or an error page
    assert 'value="2000-01-01T00:00"' in r.text and 'value="typed note kept"' in r.text
    assert '<option value="declared" selected>' in r.text and "<option selected>incident_commander" in r.text
    r = c.post("/readiness/drills/2027-03-plain/record",
               data={"lesson": "kept lesson", "action_title": "kept action", "action_due": "not-a-date",
                     "csrf_token": csrf_of(c)})
    assert r.status_code == 400 and 'value="kept lesson"' in r.text and 'value="kept action"' in r.text
    with northwind.read() as s:
        drill = s.scalar(select(Drill).where(Drill.key == "2027-03-plain"))
        assert drill is not None and drill.actions == [] and drill.lessons == []
        events = s.scalars(select(DrillEvent).where(DrillEvent.drill_id == drill.id)).all()
        assert [e.milestone for e in events] == ["detected"]
