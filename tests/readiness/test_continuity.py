"""Continuity arithmetic on worked examples (these are the examples in docs/response.md)."""

from __future__ import annotations

import json

import pytest

from radguard.db.session import Database
from radguard.readiness.continuity import BufferFacts, continuity, parse_policy, runway
from radguard.response.drills import demonstrated_recovery, load_drills
from radguard.response.services import load_services
from tests.conftest import EXAMPLES
from tests.response.test_services import seed


def facts(hours: float | None = None, studies: int | None = None, rate: float | None = None,
          policy: str | None = "manual purge") -> BufferFacts:
    return BufferFacts("MAIN/CT-1", "CT", hours, studies, policy, rate)


@pytest.mark.parametrize(("text", "kind"), [
    (None, "unknown"), ("unknown", "unknown"), ("", "unknown"),
    ("manual purge by technologist", "manual"),
    ("delete sent studies after 30 days", "after-days"),
    ("delete oldest sent studies at 80% disk", "sent-at-threshold"),
    ("delete oldest studies at 90% disk", "may-delete-unsent"),
    ("vendor defaults", "other"),
])
def test_policy_classification(text: str | None, kind: str) -> None:
    assert parse_policy(text).kind == kind


def test_policy_details_and_risks() -> None:
    assert parse_policy("delete sent studies after 14 days").days == 14
    assert parse_policy("delete oldest sent studies at 85% disk").threshold_percent == 85
    assert parse_policy("manual purge").risk is None
    assert "never archived" in (parse_policy("delete oldest studies at 90% disk").risk or "")


def test_worked_example_hours_limit() -> None:
    # 36 h of buffer, 400 studies at 8 per hour = 50 h: the hours are the limit.
    r = runway(facts(36, 400, 8), outage_hours=48)
    assert (r.hours, r.limited_by, r.status, r.runs_out_at_hour) == (36, "buffer_hours", "runs-out", 36)
    assert runway(facts(36, 400, 8), outage_hours=24).status == "keeps-acquiring"
    assert runway(facts(36, 400, 8), outage_hours=36).status == "keeps-acquiring"  # lasts exactly


def test_worked_example_study_limit() -> None:
    # 400 studies at 20 per hour last 20 h, less than the 36 h the vendor quoted for a normal day.
    r = runway(facts(36, 400, 20), outage_hours=24)
    assert (r.hours, r.limited_by, r.status, r.runs_out_at_hour) == (20, "buffer_studies", "runs-out", 20)
    # 150 studies at 10 per hour, no hour figure: 15 h.
    assert runway(facts(None, 150, 10), outage_hours=12).hours == 15


def test_unknown_buffers_are_reported_not_guessed() -> None:
    r = runway(facts(None, 2000, None), outage_hours=4)
    assert r.status == "unknown" and r.hours is None
    assert any("studies_per_hour" in n for n in r.notes)
    r = runway(facts(None, None, 5, policy=None), outage_hours=4)
    assert r.status == "unknown"
    assert any("no buffer_hours or buffer_studies" in n for n in r.notes)
    assert any("auto-delete policy unknown" in n for n in r.notes)


def test_northwind_services_during_48_hours(database: Database) -> None:
    with database.transaction() as session:
        seed(session)
    with database.read() as session:
        demonstrated = demonstrated_recovery(load_drills(session))
        results = {c.key: c.as_dict() for c in continuity(load_services(session), 48, demonstrated)}
    ct = results["ct-main"]
    by_asset = {m["asset"]: m for m in ct["modalities"]}
    assert by_asset["NWH-MAIN/CT-ED-1"]["runs_out_at_hour"] == 36
    assert by_asset["NWH-MAIN/CT-ED-1"]["policy_kind"] == "sent-at-threshold"
    assert by_asset["NWH-MAIN/CT-2"]["status"] == "keeps-acquiring"
    assert (ct["keep_acquiring"], ct["run_out"], ct["unknown"], ct["first_runs_out_at_hour"]) == (1, 1, 0, 36)
    assert {"asset": "NWH-MAIN/PACS-CORE", "function": "storage"} in ct["unavailable_during_outage"]
    er = results["emergency-reads"]
    assert [m["asset"] for m in er["modalities"]] == ["NWH-MAIN/DX-ED", "NWH-MAIN/CT-ED-1"]  # soonest first
    assert er["modalities"][0]["runway_hours"] == 15 and er["modalities"][0]["limited_by"] == "buffer_studies"
    oic = {m["asset"]: m["status"] for m in results["oic-imaging"]["modalities"]}
    assert oic == {"NWH-OIC/OIC-MR": "keeps-acquiring", "NWH-OIC/OIC-CT": "unknown", "NWH-OIC/OIC-US": "unknown"}
    # RTO versus drills: the functional drill restored in 6.5 h, slower than both 4 h and 2 h targets.
    assert (ct["rto_status"], ct["demonstrated_recovery_hours"]) == ("slower-than-rto", 6.5)
    assert er["rto_status"] == "slower-than-rto" and er["outage_exceeds_rto"] is True
    assert results["mammo-screening"]["rto_status"] == "never-demonstrated"


def test_outage_must_be_positive() -> None:
    with pytest.raises(ValueError):
        continuity([], 0)


def test_continuity_command(rg, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    rg("--db", sqlite_url, "init")
    for cmd, name in (("inventory", "inventory"), ("team", "team"), ("services", "services"), ("drill", "drill")):
        r = rg("--db", sqlite_url, cmd, "import", EXAMPLES / f"northwind-{name}.yaml")
        assert r.code == 0, r.err
    r = rg("--db", sqlite_url, "services", "continuity", "--outage", "24", "--service", "ct-main", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["outage_hours"] == 24 and len(doc["services"]) == 1
    assert {m["asset"]: m["status"] for m in doc["services"][0]["modalities"]} == {
        "NWH-MAIN/CT-ED-1": "keeps-acquiring", "NWH-MAIN/CT-2": "keeps-acquiring"}
    r = rg("--db", sqlite_url, "services", "continuity", "--outage", "48")
    assert r.code == 0 and "runs out at 36 h" in r.out and "RTO 4 h not met" in r.out
    assert rg("--db", sqlite_url, "services", "continuity", "--outage", "4", "--service", "nope").code == 3
