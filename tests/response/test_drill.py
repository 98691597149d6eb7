"""Drills: import, measurement against targets, record from the command line, refusals."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from radguard.db.models.response import Drill, DrillAction, DrillEvent
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.response.drills import (
    DrillDoc,
    EventDoc,
    Recording,
    drill_report,
    import_drills,
    load_drill,
    plan_drill,
    record_drill,
    recovery_hours,
)
from tests.conftest import EXAMPLES
from tests.response.test_services import seed

GOOD = {
    "key": "t1", "kind": "functional", "playbook": "ransomware-pacs", "date": "2026-05-01",
    "services": ["ct-main"], "started_at": "2026-05-01T08:00:00Z", "ended_at": "2026-05-01T18:00:00Z",
    "participants": [{"name": "Dana Whitfield", "role": "incident_commander"}],
    "timeline": [
        {"milestone": "detected", "at": "2026-05-01T09:00:00Z"},
        {"milestone": "declared", "at": "2026-05-01T09:20:00Z", "role": "incident_commander"},
        {"milestone": "systems_restored", "at": "2026-05-01T12:30:00Z"},
    ],
    "actions": [{"title": "Print the new call tree", "owner_role": "communications"}],
}


def _file(tmp_path: Path, *drills: dict) -> Path:  # type: ignore[type-arg]
    path = tmp_path / "drills.yaml"
    copies = [json.loads(json.dumps(d)) for d in drills]  # no shared objects, so no YAML aliases
    path.write_text(yaml.safe_dump({"format": "radguard-drills", "version": 1, "drills": copies}, sort_keys=False))
    return path


def test_example_drill_measured_against_targets(database: Database) -> None:
    with database.transaction() as session:
        seed(session)
    with database.read() as session:
        report = drill_report(load_drill(session, "2026-03-ransomware-functional"))
    timeline = {m["milestone"]: m for m in report["timeline"]}
    assert list(timeline) == ["detected", "declared", "escalated", "segment_isolated", "downtime_active",
                              "first_downtime_read", "systems_restored", "back_to_normal"]
    # Detected 08:05, declared 08:40 (-04:00): 35 minutes against the playbook's 30.
    assert (timeline["declared"]["minutes_from_detection"], timeline["declared"]["target_minutes"],
            timeline["declared"]["met"]) == (35, 30, False)
    assert timeline["systems_restored"]["met"] is None  # no fixed target: compared with each service's RTO
    assert report["recovery_hours"] == 6.5
    assert {s["key"]: s["rto_met"] for s in report["services"]} == {"ct-main": False, "emergency-reads": False}
    assert report["targets_missed"] == 5 and report["targets_met"] == 0
    assert [a["status"] for a in report["actions"]] == ["open", "done"]


def test_tabletop_demonstrates_no_recovery(sqlite_db: Database, tmp_path: Path) -> None:
    with sqlite_db.transaction() as session:
        seed(session, drills=False)
        import_drills(session, _file(tmp_path, GOOD, {**GOOD, "key": "t2", "kind": "tabletop"}))
    with sqlite_db.read() as session:
        assert recovery_hours(load_drill(session, "t1")) == 3.5
        assert recovery_hours(load_drill(session, "t2")) is None


@pytest.mark.parametrize(("change", "status"), [
    ({"timeline": [], "started_at": None, "ended_at": None}, "planned"),
    ({"ended_at": None}, "in_progress"),  # milestones but no end: not completed by its first milestone
    ({"ended_at": None, "status": "in_progress"}, "in_progress"),
    ({"ended_at": None, "status": "completed"}, "completed"),  # a file may say the drill was ended
    ({"ended_at": None, "timeline": [*GOOD["timeline"], {"milestone": "back_to_normal",  # type: ignore[list-item]
                                                          "at": "2026-05-01T14:00:00Z"}]}, "completed"),
    ({}, "completed"),  # ended_at given
])
def test_drill_lifecycle(sqlite_db: Database, tmp_path: Path, change: dict, status: str) -> None:  # type: ignore[type-arg]
    with sqlite_db.transaction() as session:
        seed(session, drills=False)
        import_drills(session, _file(tmp_path, {k: v for k, v in {**GOOD, **change}.items() if v is not None}))
    with sqlite_db.read() as session:
        drill = load_drill(session, "t1")
        assert drill.status == status
        # Only a completed functional drill demonstrates its recovery.
        assert (recovery_hours(drill) is not None) == (status == "completed")


def test_recording_moves_a_planned_drill_through_its_lifecycle(sqlite_db: Database) -> None:
    with sqlite_db.transaction() as session:
        seed(session, drills=False)
        plan_drill(session, DrillDoc(key="p1", kind="functional", playbook="ransomware-pacs", date=date(2026, 5, 1),
                                     services=["ct-main"]))
        assert load_drill(session, "p1").status == "planned"
        at = datetime(2026, 5, 1, 9, tzinfo=UTC)
        record_drill(session, "p1", Recording(events=[EventDoc(milestone="detected", at=at)]), at.date())
        assert load_drill(session, "p1").status == "in_progress"
        record_drill(session, "p1", Recording(events=[EventDoc(milestone="systems_restored",
                                                               at=at + timedelta(hours=2))]), at.date())
        assert load_drill(session, "p1").status == "in_progress"
        record_drill(session, "p1", Recording(complete=True), at.date())
        assert load_drill(session, "p1").status == "completed"
        assert recovery_hours(load_drill(session, "p1")) == 2.0
        record_drill(session, "p1", Recording(lessons=["Completed stays completed"]), at.date())
        assert load_drill(session, "p1").status == "completed"


def test_reimport_replaces_the_drill(sqlite_db: Database, tmp_path: Path) -> None:
    with sqlite_db.transaction() as session:
        seed(session, drills=False)
        import_drills(session, _file(tmp_path, GOOD))
    changed = {**GOOD, "timeline": GOOD["timeline"][:2], "actions": [{"title": "Another action here"}] * 2}
    with sqlite_db.transaction() as session:
        result = import_drills(session, _file(tmp_path, changed))
    assert (result.created, result.updated) == (0, 1)
    with sqlite_db.read() as session:
        assert session.scalar(select(func.count()).select_from(DrillEvent)) == 2
        assert session.scalar(select(func.count()).select_from(DrillAction)) == 2


@pytest.mark.parametrize(("change", "field", "problem"), [
    ({"timeline": [{"milestone": "detected", "at": "2026-05-01T09:00:00Z"},
                   {"milestone": "escalated", "at": "2026-05-01T09:30:00Z"},
                   {"milestone": "declared", "at": "2026-05-01T09:40:00Z"}]},
     "drills[1].timeline[1].at", "'escalated' (2026-05-01T09:30:00+00:00) is before 'declared'"),
    ({"timeline": [{"milestone": "detected", "at": "2026-05-01T09:00:00Z", "role": "wizard"}]},
     "drills[1].timeline[0].role", "unknown role 'wizard'"),
    ({"participants": [{"name": "X", "role": "wizard"}]}, "drills[1].participants[0].role", "unknown role"),
    ({"actions": [{"title": "Fix the thing", "owner_role": "wizard"}]}, "drills[1].actions[0].owner_role",
     "unknown role"),
    ({"ended_at": "2026-05-01T07:00:00Z"}, "drills[1].ended_at", "ends (2026-05-01T07:00:00+00:00) before it starts"),
    ({"ended_at": "2026-05-01T11:00:00Z"}, "drills[1].timeline[2].at", "after the drill ended"),
    ({"timeline": [{"milestone": "coffee", "at": "2026-05-01T09:00:00Z"}]}, "drills[1].timeline[0].milestone",
     "unknown milestone 'coffee'"),
    ({"timeline": [{"milestone": "detected", "at": "2026-05-01T09:00:00Z"},
                   {"milestone": "detected", "at": "2026-05-01T09:05:00Z"}]},
     "drills[1].timeline[1].milestone", "appears twice"),
    ({"playbook": "alien-invasion"}, "drills[1].playbook", "no playbook 'alien-invasion'"),
    ({"services": ["ct-main", "bowling"]}, "drills[1].services[1]", "no service 'bowling'"),
    ({"kind": "rehearsal"}, "drills[1].kind", "'rehearsal' is not allowed"),
    ({"timeline": [{"milestone": "detected", "at": "yesterday"}]}, "drills[1].timeline[0].at", "datetime"),
    ({"status": "planned"}, "drills[1].status", "the drill is completed by what is recorded, not planned"),
    ({"status": "planned", "ended_at": None}, "drills[1].status", "is in_progress by what is recorded, not planned"),
])
def test_invalid_drills_are_refused_naming_the_field(sqlite_db: Database, tmp_path: Path, change: dict,  # type: ignore[type-arg]
                                                     field: str, problem: str) -> None:
    with sqlite_db.transaction() as session:
        seed(session, drills=False)
    path = _file(tmp_path, {**GOOD, "key": "ok"}, {**GOOD, **change})
    with pytest.raises(InputError) as err, sqlite_db.transaction() as session:
        import_drills(session, path)
    message = str(err.value)
    assert f"field '{field}'" in message and problem in message, message
    assert f"{path}, line " in message  # the line to open in an editor
    with sqlite_db.read() as session:  # all or nothing: the valid first drill was not kept either
        assert session.scalar(select(func.count()).select_from(Drill)) == 0


def test_plan_record_and_close_from_the_command_line(rg, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    rg("--db", sqlite_url, "init")
    for name in ("inventory", "team", "services"):
        assert rg("--db", sqlite_url, name if name != "inventory" else "inventory", "import",
                  EXAMPLES / f"northwind-{name}.yaml").code == 0
    db = ("--db", sqlite_url)
    r = rg(*db, "drill", "plan", "iso-1", "--playbook", "network-isolation", "--kind", "full-scale",
           "--date", "2026-10-05", "--service", "ct-main")
    assert r.code == 0, r.err
    assert rg(*db, "drill", "plan", "iso-1", "--playbook", "network-isolation", "--date", "2026-10-05").code == 2
    r = rg(*db, "drill", "plan", "iso-2", "--playbook", "network-isolation", "--date", "2026-10-05",
           "--service", "nope")
    assert r.code == 2 and "--service" in r.err and "no service 'nope'" in r.err
    r = rg(*db, "drill", "record", "iso-1",
           "--event", "detected=2026-10-05T10:00:00+02:00@it_security",
           "--event", "declared=2026-10-05T10:10:00+02:00@incident_commander",
           "--event", "segment_isolated=2026-10-05T10:25:00+02:00",
           "--participant", "Marcus Lee=it_security", "--lesson", "The rule set worked first time.",
           "--action", "Add the OIC switch to the rule set|it_security|2026-12-01")
    assert r.code == 0, r.err
    r = rg(*db, "drill", "record", "iso-1", "--event", "systems_restored=2026-10-05T09:00:00+02:00")
    assert r.code == 2 and "--event" in r.err and "is before 'segment_isolated'" in r.err
    r = rg(*db, "drill", "record", "iso-1", "--event", "declared=soon")
    assert r.code == 2 and "not an ISO date-time" in r.err
    r = rg(*db, "drill", "record", "iso-1", "--event", "systems_restored=2026-10-05T13:40:00+02:00", "--done", "1")
    assert r.code == 0, r.err
    # Milestones alone leave the drill in progress (no demonstrated recovery yet) until it is ended.
    assert "status in progress" in r.out
    rep = json.loads(rg(*db, "drill", "report", "iso-1", "--json").out)
    assert rep["status"] == "in_progress" and rep["recovery_hours"] is None
    r = rg(*db, "drill", "record", "iso-1", "--complete")
    assert r.code == 0 and "status completed" in r.out, r.err
    assert rg(*db, "drill", "record", "iso-1", "--done", "7").code == 2
    rep = json.loads(rg(*db, "drill", "report", "iso-1", "--json").out)
    assert rep["status"] == "completed" and rep["recovery_hours"] == 3.67
    assert [(m["milestone"], m["minutes_from_detection"], m["met"]) for m in rep["timeline"]][:3] == [
        ("detected", 0, None), ("declared", 10, True), ("segment_isolated", 25, True)]
    assert rep["actions"][0]["status"] == "done" and rep["actions"][0]["closed_on"]
    assert rep["participants"] == [{"name": "Marcus Lee", "role": "it_security"}]
    listed = json.loads(rg(*db, "drill", "list", "--json").out)
    assert [(d["key"], d["status"], d["open_actions"]) for d in listed] == [("iso-1", "completed", 0)]
    r = rg(*db, "drill", "report")
    assert r.code == 0 and "systems restored 3.67 h after detection" in r.out


def test_import_command_refuses_and_writes_nothing(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rg("--db", sqlite_url, "init")
    for name in ("inventory", "team", "services"):
        rg("--db", sqlite_url, name, "import", EXAMPLES / f"northwind-{name}.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text((EXAMPLES / "northwind-drill.yaml").read_text().replace("2026-03-18T09:25", "2026-03-18T07:25"))
    r = rg("--db", sqlite_url, "drill", "import", bad)
    assert r.code == 2 and "drills[0].timeline[4].at" in r.err and "line 25" in r.err
    assert json.loads(rg("--db", sqlite_url, "drill", "list", "--json").out) == []
    r = rg("--db", sqlite_url, "drill", "import", EXAMPLES / "northwind-drill.yaml", "--json")
    assert json.loads(r.out)["created"] == 2
