"""The response team: round trip, gap detection, refusal of bad rosters, the team commands."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from radguard.checks.registry import CheckContext, load_evaluators
from radguard.db.models.response import ResponsePerson
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.response.team import export_team, import_team, load_people, load_roles, team_gaps
from tests.conftest import EXAMPLES

TODAY = date(2026, 11, 21)


def _team(tmp_path: Path, roles: list[dict], people: list[dict]) -> Path:  # type: ignore[type-arg]
    path = tmp_path / "team.yaml"
    path.write_text(yaml.safe_dump({"format": "radguard-team", "version": 1, "roles": roles, "people": people}))
    return path


def _person(name: str, verified: str = "2026-11-01") -> dict[str, str]:
    return {"name": name, "mobile": "+1 555 0000", "contacts_verified_on": verified}


def test_northwind_gaps(database: Database) -> None:
    with database.transaction() as session:
        import_team(session, EXAMPLES / "northwind-team.yaml")
    with database.read() as session:
        gaps = team_gaps(load_roles(session), load_people(session), TODAY)
        found = {(g.kind, g.subject) for g in gaps}
        assert found == {
            ("no-alternate", "role:privacy_legal"),
            ("overloaded", "person:Tom Becker"),
            ("contacts-unverified", "person:Tom Becker"),
        }
        stale = next(g for g in gaps if g.kind == "contacts-unverified")
        assert stale.detail["age_days"] == 215
        # Thresholds are configurable: 4 roles is fine at max 4; 215 days is fine at 365.
        relaxed = team_gaps(load_roles(session), load_people(session), TODAY, max_roles=4, verify_days=365)
        assert {g.kind for g in relaxed} == {"no-alternate"}


def test_gap_kinds_on_a_small_team(sqlite_db: Database, tmp_path: Path) -> None:
    path = _team(tmp_path, [
        {"key": "incident_commander", "alternates": ["Ann"]},
        {"key": "radiologist_lead", "primary": "Ann", "alternates": ["Bob"]},
    ], [_person("Ann"), _person("Bob", "2026-08-01"), {"name": "Cy"}])
    with sqlite_db.transaction() as session:
        import_team(session, path)
    with sqlite_db.read() as session:
        gaps = {(g.kind, g.subject) for g in team_gaps(load_roles(session), load_people(session), TODAY)}
    # Cy holds no role: an unverified contact only matters for people on the team.
    assert gaps == {("no-primary", "role:incident_commander"), ("contacts-unverified", "person:Bob")}
    # 2026-08-23 is exactly 90 days before TODAY: still verified.
    path = _team(tmp_path, [{"key": "incident_commander", "primary": "Bob", "alternates": ["Ann"]}],
                 [_person("Ann"), _person("Bob", "2026-08-23")])
    with sqlite_db.transaction() as session:
        import_team(session, path)
    with sqlite_db.read() as session:
        assert team_gaps(load_roles(session), load_people(session), TODAY) == []


def test_export_round_trip_and_replace(sqlite_db: Database, tmp_path: Path) -> None:
    with sqlite_db.transaction() as session:
        import_team(session, EXAMPLES / "northwind-team.yaml")
    out = tmp_path / "out.yaml"
    with sqlite_db.read() as session:
        assert export_team(session, out) == 9
    exported = yaml.safe_load(out.read_text())
    original = yaml.safe_load((EXAMPLES / "northwind-team.yaml").read_text())
    assert [r["key"] for r in exported["roles"]] == [r["key"] for r in original["roles"]]
    assert exported["roles"][0]["primary"] == "Dana Whitfield"
    assert exported["roles"][0]["title"] == "Incident commander"
    # Re-import of the export changes nothing; a smaller roster removes people who left.
    with sqlite_db.transaction() as session:
        import_team(session, out)
    again = tmp_path / "again.yaml"
    with sqlite_db.read() as session:
        export_team(session, again)
    assert yaml.safe_load(again.read_text()) == exported
    with sqlite_db.transaction() as session:
        import_team(session, _team(tmp_path, [{"key": "incident_commander", "primary": "Ann"}], [_person("Ann")]))
    with sqlite_db.read() as session:
        assert session.scalar(select(func.count()).select_from(ResponsePerson)) == 1
        assert [r.key for r in load_roles(session)] == ["incident_commander"]


@pytest.mark.parametrize(("roles", "people", "expected"), [
    ([{"key": "incident_commander", "primary": "Zed"}], [_person("Ann")],
     "line 8, field 'roles[0].primary': 'Zed' is not in the people list"),
    ([{"key": "incident_commander", "primary": "Ann", "alternates": ["Ann"]}], [_person("Ann")],
     "field 'roles[0].alternates[0]': 'Ann' is named twice"),
    ([{"key": "drone_pilot", "primary": "Ann"}], [_person("Ann")],
     "field 'roles[0].title': 'drone_pilot' is not a standard role"),
    ([{"key": "incident_commander"}, {"key": "incident_commander"}], [],
     "field 'roles[1].key': role 'incident_commander' is listed twice"),
    ([{"key": "incident_commander", "phone": "1"}], [], "field 'roles[0].phone': unknown field"),
])
def test_bad_rosters_are_refused(sqlite_db: Database, tmp_path: Path, roles: list, people: list,  # type: ignore[type-arg]
                                 expected: str) -> None:
    with sqlite_db.transaction() as session:
        import_team(session, EXAMPLES / "northwind-team.yaml")
    with pytest.raises(InputError) as err, sqlite_db.transaction() as session:
        import_team(session, _team(tmp_path, roles, people))
    assert expected in str(err.value), str(err.value)
    with sqlite_db.read() as session:  # the stored team is untouched
        assert len(load_roles(session)) == 9


def test_team_gap_check_positive_and_negative(sqlite_db: Database, tmp_path: Path) -> None:
    check = load_evaluators()["RG-TEAM-GAP"]
    now = datetime(2026, 11, 21, 12, tzinfo=UTC)
    with sqlite_db.read() as session:
        obs = list(check(CheckContext(session, now)))
    assert [(o.subject, o.key) for o in obs] == [("organization", "no-team")]
    with sqlite_db.transaction() as session:
        import_team(session, EXAMPLES / "northwind-team.yaml")
    with sqlite_db.read() as session:
        obs = list(check(CheckContext(session, now)))
        assert {(o.subject, o.key) for o in obs} == {
            ("role:privacy_legal", "no-alternate"), ("person:Tom Becker", "overloaded"),
            ("person:Tom Becker", "contacts-unverified")}
        tuned = list(check(CheckContext(session, now, {"parameters": {"team_max_roles": 5}})))
        assert ("person:Tom Becker", "overloaded") not in {(o.subject, o.key) for o in tuned}
    roster = [{"key": "incident_commander", "primary": "Ann", "alternates": ["Bob"]}]
    with sqlite_db.transaction() as session:
        import_team(session, _team(tmp_path, roster, [_person("Ann"), _person("Bob")]))
    with sqlite_db.read() as session:
        assert list(check(CheckContext(session, now))) == []


def test_team_commands(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert rg("--db", sqlite_url, "init").code == 0
    r = rg("--db", sqlite_url, "team", "import", EXAMPLES / "northwind-team.yaml")
    assert r.code == 0 and "9 roles, 11 people, 17 assignments" in r.out
    r = rg("--db", sqlite_url, "team", "list", "--json")
    doc = json.loads(r.out)
    assert doc["roles"][6] == {"key": "privacy_legal", "title": "Privacy / legal lead",
                               "responsibilities": doc["roles"][6]["responsibilities"],
                               "primary": "Samuel Grant", "alternates": []}
    assert "no-alternate" in {g["kind"] for g in doc["gaps"]}
    r = rg("--db", sqlite_url, "team", "show", "Tom Becker", "--json")
    assert {x["role"] for x in json.loads(r.out)["roles"]} == {
        "imaging_informatics", "technologist_lead", "vendor_liaison", "facilities"}
    r = rg("--db", sqlite_url, "team", "show", "incident_commander")
    assert "Dana Whitfield" in r.out and "+1 555 0199 201" in r.out
    assert rg("--db", sqlite_url, "team", "show", "nobody").code == 3
    out = tmp_path / "t.yaml"
    assert rg("--db", sqlite_url, "team", "export", out).code == 0
    assert len(yaml.safe_load(out.read_text())["people"]) == 11
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: radguard-team\nversion: 1\nroles: [{key: incident_commander, primary: Zed}]\n")
    r = rg("--db", sqlite_url, "team", "import", bad)
    assert r.code == 2 and "roles[0].primary" in r.err and "Zed" in r.err
