"""Times typed and read in local time (issue #19): a Berlin-time entry is stored as the right UTC
instant and shown back the same, on the drill, risk-acceptance, attestation and schedule forms."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard.checks.engine import AssessSettings, load_settings
from radguard.checks.sla import SlaPolicy
from radguard.db.models.evidence import Attestation
from radguard.db.models.findings import Finding
from radguard.db.models.response import Drill, DrillEvent
from radguard.db.models.sensors import Schedule
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.inventory.importer import import_inventory
from radguard.readiness.dashboard import assess
from radguard.response.playbooks import load_catalog
from radguard.validate import local_day_end, local_moment, time_zone
from radguard.wording import local_day, moment
from tests.conftest import EXAMPLES
from tests.web.conftest import csrf_of

BERLIN = ZoneInfo("Europe/Berlin")


def test_local_entry_to_utc_and_back() -> None:
    winter = local_moment("2027-02-10T09:05", BERLIN)
    assert winter == datetime(2027, 2, 10, 8, 5, tzinfo=UTC)  # CET, UTC+1
    summer = local_moment("2027-07-10T09:05", BERLIN)
    assert summer == datetime(2027, 7, 10, 7, 5, tzinfo=UTC)  # CEST, UTC+2
    assert moment(winter, BERLIN) == "2027-02-10 09:05 CET"
    assert moment(summer, BERLIN, seconds=True) == "2027-07-10 09:05:00 CEST"
    assert moment(summer) == "2027-07-10 07:05 UTC"
    assert local_moment("2027-07-10T09:05+00:00", BERLIN) == datetime(2027, 7, 10, 9, 5, tzinfo=UTC)
    with pytest.raises(ValueError, match="does not exist in Europe/Berlin"):
        local_moment("2027-03-28T02:30", BERLIN)  # the clocks jump from 02:00 to 03:00
    with pytest.raises(ValueError, match="not a date and time"):
        local_moment("10/07/2027 09:05", BERLIN)
    end = local_day_end("2027-07-31", BERLIN)
    assert end == datetime(2027, 7, 31, 21, 59, tzinfo=UTC) and local_day(end, BERLIN) == "2027-07-31"
    assert local_day(end) == "2027-07-31"
    assert local_day(local_day_end("2027-07-31", ZoneInfo("Pacific/Auckland"))) == "2027-07-31"
    assert local_day(local_day_end("2027-07-31", ZoneInfo("Pacific/Auckland")), BERLIN) == "2027-07-31"
    with pytest.raises(ValueError, match="IANA time zone"):
        time_zone("Mars/Olympus_Mons")


def test_settings_file_names_the_zone_and_refuses_an_unknown_one(tmp_path: object) -> None:
    from pathlib import Path

    good = Path(str(tmp_path)) / "good.yaml"
    good.write_text("timezone: Europe/Berlin\n", encoding="utf-8")
    assert load_settings(good).timezone == "Europe/Berlin"
    bad = Path(str(tmp_path)) / "bad.yaml"
    bad.write_text("sla:\n  max_acceptance_days: 200\ntimezone: Europe/Berln\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.yaml.*line 3.*timezone.*IANA time zone"):
        load_settings(bad)


@pytest.fixture
def berlin(app: FastAPI) -> FastAPI:
    # acceptances up to 400 days: _next_july can be 366 days ahead (on 31 July before a leap year)
    app.state.settings = AssessSettings(timezone="Europe/Berlin", sla=SlaPolicy(max_acceptance_days=400))
    return app


def _next_july(day: int) -> date:
    """A summer day (CEST) less than a year ahead, whatever today is."""
    today = datetime.now(UTC).date()
    this_year = date(today.year, 7, day)
    return this_year if this_year > today else date(today.year + 1, 7, day)


def test_drill_milestone_typed_in_berlin_time(berlin: FastAPI, web_db: Database,
                                              client_for: Callable[[str], TestClient]) -> None:
    with web_db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
    c = client_for("contributor")
    playbook = load_catalog()[0].id
    r = c.post("/readiness/drills", data={"key": "berlin-tabletop", "playbook": playbook, "kind": "tabletop",
                                          "on": "2026-07-10", "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = c.get("/readiness/drills/berlin-tabletop").text
    assert 'type="datetime-local"' in page and "Europe/Berlin time" in page
    r = c.post("/readiness/drills/berlin-tabletop/events", data={"milestone": "detected", "at": "2026-07-10T09:05",
               "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    with web_db.read() as s:
        drill = s.scalar(select(Drill).where(Drill.key == "berlin-tabletop"))
        assert drill is not None
        event = s.scalars(select(DrillEvent).where(DrillEvent.drill_id == drill.id)).one()
        assert event.at == datetime(2026, 7, 10, 7, 5, tzinfo=UTC)
    page = c.get("/readiness/drills/berlin-tabletop").text
    assert "2026-07-10 09:05:00 CEST" in page and "07:05" not in page
    # A time the clocks skip is refused in words, with what was typed kept.
    r = c.post("/readiness/drills/berlin-tabletop/events", data={"milestone": "declared", "at": "2027-03-28T02:30",
               "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 400 and "does not exist in Europe/Berlin" in r.text and 'value="2027-03-28T02:30"' in r.text


def test_acceptance_and_attestation_expiry_are_the_end_of_the_berlin_day(
        berlin: FastAPI, web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    with web_db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
    with web_db.transaction() as s:
        assess(s)
    with web_db.read() as s:
        finding = s.scalars(select(Finding).where(Finding.check_id == "RG-REMOTE-SESSION-UNLOGGED",
                                                  Finding.state == "open")).first()
        assert finding is not None and finding.asset_id is not None
        finding_id, asset_id = finding.id, finding.asset_id
    until = _next_july(31)
    expected = datetime(until.year, 7, 31, 21, 59, tzinfo=UTC)  # 23:59 CEST
    c = client_for("assessor")
    page = c.get(f"/findings/{finding_id}").text
    assert "the end of that day, Europe/Berlin time" in page
    r = c.post("/findings/decide", data={"ids": str(finding_id), "action": "accept", "reason": "vendor fix due",
                                         "until": until.isoformat(), "back": f"/findings/{finding_id}",
                                         "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    with web_db.read() as s:
        row = s.get(Finding, finding_id)
        assert row is not None and row.accepted_until == expected
    assert f"(until {until.isoformat()})" in c.get(f"/findings/{finding_id}").text
    r = c.post(f"/inventory/{asset_id}/attest", data={"subject": "remote_sessions_logged", "value": "yes",
               "expires": until.isoformat(), "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    with web_db.read() as s:
        att = s.scalars(select(Attestation)).one()
        assert att.expires_at == expected
    page = c.get(f"/inventory/{asset_id}").text
    assert f"<td>{until.isoformat()}</td>" in page and "Europe/Berlin time" in page
    # A bad date on the finding page is refused beside the field, keeping what was typed.
    r = c.post("/findings/decide", data={"ids": str(finding_id), "action": "accept", "reason": "x",
                                         "until": "31.07.2027", "back": f"/findings/{finding_id}",
                                         "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 400 and "is not a date" in r.text and 'value="31.07.2027"' in r.text


def test_schedule_first_run_in_the_page_or_its_own_zone(berlin: FastAPI, web_db: Database,
                                                       client_for: Callable[[str], TestClient]) -> None:
    c = client_for("admin")
    page = c.get("/schedules").text
    assert 'name="start" type="datetime-local"' in page and 'name="timezone" value="Europe/Berlin"' in page
    first = _next_july(10)
    for name, zone, expected_hour in (("in-page-zone", "", 7), ("in-tokyo", "Asia/Tokyo", 0)):
        r = c.post("/schedules", data={"name": name, "kind": "feeds", "every_hours": "24", "timezone": zone,
                                       "start": f"{first.isoformat()}T09:05", "csrf_token": csrf_of(c)},
                   follow_redirects=False)
        assert r.status_code == 303, r.text
        with web_db.read() as s:
            row = s.scalars(select(Schedule).where(Schedule.name == name)).one()
            assert row.next_run == datetime(first.year, 7, 10, expected_hour, 5, tzinfo=UTC)
    listing = c.get("/schedules").text
    assert f"{first.isoformat()} 09:05 CEST" in listing  # both shown in the page's zone
    assert f"{first.isoformat()} 02:05 CEST" in listing  # 09:05 in Tokyo
    r = c.post("/schedules", data={"name": "bad", "kind": "feeds", "every_hours": "24", "timezone": "",
                                   "start": "tomorrow", "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 400 and "not a date and time" in r.text and 'value="tomorrow"' in r.text
