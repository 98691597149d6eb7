"""Training and phishing imports (column mapping, errors), metrics by role and site, and the two checks."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

from radguard.checks.registry import CheckContext
from radguard.db.session import Database
from radguard.response.workforce import import_phishing, import_training, parse_mapping, training_metrics
from tests.conftest import FIXTURES

DATA = FIXTURES / "readiness"
AS_OF = datetime(2026, 4, 15, 9, tzinfo=UTC)


def _load(database: Database) -> None:
    with database.transaction() as s:
        mapping = parse_mapping(["Staff Number=person"], ("person", "role", "course", "site", "required",
                                                          "assigned", "due", "completed", "status"))
        result = import_training(s, DATA / "lms-export.csv", mapping, "%m/%d/%Y")
        assert result.as_dict() == {"rows": 9, "created": 9, "updated": 0}
        import_phishing(s, DATA / "phish-campaigns.csv")


def test_training_metrics_by_role_and_site_with_trend(database: Database) -> None:
    _load(database)
    with database.read() as s:
        doc = training_metrics(s, AS_OF.date())
    groups = {(g["role"], g["site"]): g for g in doc["by_role_and_site"]}
    assert groups[("Technologist", "MAIN")] == {
        "role": "Technologist", "site": "MAIN", "assigned": 5, "due": 4, "completed": 2, "overdue": 2,
        "completion": 0.5, "overdue_people": 2}
    assert groups[("Radiologist", "MAIN")]["completion"] == 1.0
    assert groups[("Technologist", "OIC")]["due"] == 1 and groups[("Technologist", "OIC")]["assigned"] == 2
    by_role = {g["role"]: g for g in doc["by_role"]}
    assert by_role["Technologist"]["completion"] == 0.6
    by_site = {g["site"]: g for g in doc["by_site"]}
    assert by_site["MAIN"]["due"] == 6 and by_site["MAIN"]["completed"] == 4
    trend = {t["as_of"]: t["completion"] for t in doc["trend"]}
    assert trend[date(2025, 12, 31)] is None  # nothing assigned yet
    assert trend[date(2026, 3, 31)] == round(5 / 7, 4)


def test_checks_fire_on_low_completion_high_clicks_and_falling_reports(database: Database) -> None:
    from radguard.checks.evaluators.workforce import phishing_risk, training_overdue

    _load(database)
    with database.read() as s:
        ctx = CheckContext(s, AS_OF, {"parameters": {}})
        training = {(o.subject, o.key): o for o in training_overdue(ctx)}
        phishing = {(o.subject, o.key): o for o in phishing_risk(ctx)}
        lenient = CheckContext(s, AS_OF, {"parameters": {"training_completion_min": 0.5,
                                                         "phish_click_rate_max": 0.25, "phish_report_drop": 0.2}})
        assert list(training_overdue(lenient)) == [] and list(phishing_risk(lenient)) == []
    assert set(training) == {("role:Technologist", "MAIN")}
    assert training[("role:Technologist", "MAIN")].evidence["completion"] == 0.5
    assert set(phishing) == {("audience:Technologist", "MAIN"), ("audience:Radiologist", "MAIN")}
    assert phishing[("audience:Technologist", "MAIN")].evidence["reasons"] == ["report rate fell from 30% to 15%"]
    assert phishing[("audience:Radiologist", "MAIN")].evidence["reasons"] == ["click rate 20% above 10%"]
    # No person is named in a finding's evidence.
    for obs in [*training.values(), *phishing.values()]:
        assert "E00" not in json.dumps(obs.evidence)


def test_reimport_updates_and_per_recipient_phishing(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rg("--db", sqlite_url, "init")
    lms = ["--map", "Staff Number=person", "--date-format", "%m/%d/%Y"]
    r = rg("--db", sqlite_url, "training", "import", DATA / "lms-export.csv", *lms, "--json")
    assert json.loads(r.out) == {"rows": 9, "created": 9, "updated": 0}
    r = rg("--db", sqlite_url, "training", "import", DATA / "lms-export.csv", *lms, "--json")
    assert json.loads(r.out) == {"rows": 9, "created": 0, "updated": 9}
    r = rg("--db", sqlite_url, "phishing", "import", DATA / "phish-recipients.csv", "--map", "position=audience",
           "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out) == {"rows": 4, "created": 1, "updated": 0}
    doc = json.loads(rg("--db", sqlite_url, "phishing", "metrics", "--json").out)
    assert doc["campaigns"] == [{"campaign": "Q3 sim", "date": "2026-07-10", "sent": 4, "clicked": 1,
                                 "reported": 2, "click_rate": 0.25, "report_rate": 0.5}]
    r = rg("--db", sqlite_url, "training", "metrics")
    assert r.code == 0 and "Technologist" in r.out


def test_bad_files_name_line_and_column_and_write_nothing(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rg("--db", sqlite_url, "init")
    lms = ["--map", "Staff Number=person", "--date-format", "%m/%d/%Y"]
    bad = tmp_path / "lms.csv"
    lines = (DATA / "lms-export.csv").read_text().splitlines()
    lines[3] = lines[3].replace("03/31/2026", "31/03/2026")
    bad.write_text("\n".join(lines) + "\n")
    r = rg("--db", sqlite_url, "training", "import", bad, *lms)
    assert r.code == 2 and "lms.csv, line 4, field 'Due Date'" in r.err and "%m/%d/%Y" in r.err
    r = rg("--db", sqlite_url, "training", "import", DATA / "lms-export.csv", "--date-format", "%m/%d/%Y")
    assert r.code == 2 and "field 'person': no column for 'person'" in r.err and "--map" in r.err
    r = rg("--db", sqlite_url, "training", "import", DATA / "lms-export.csv", "--map", "Staff Number")
    assert r.code == 2 and "COLUMN=FIELD" in r.err
    phish = tmp_path / "p.csv"
    shutil.copy(DATA / "phish-campaigns.csv", phish)
    phish.write_text(phish.read_text().replace("20,4,9", "20,24,9"))
    r = rg("--db", sqlite_url, "phishing", "import", phish)
    assert r.code == 2 and "line 5, field 'Clicks': is larger than the number sent" in r.err
    assert json.loads(rg("--db", sqlite_url, "training", "metrics", "--json").out)["by_role"] == []
    assert json.loads(rg("--db", sqlite_url, "phishing", "metrics", "--json").out)["campaigns"] == []


def test_latin1_export_is_refused_by_line_and_utf16_export_is_read(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Regression: a Latin-1 or UTF-16 LMS export used to crash with a UnicodeDecodeError traceback."""
    rg("--db", sqlite_url, "init")
    lms = ["--map", "Staff Number=person", "--date-format", "%m/%d/%Y"]
    text = (DATA / "lms-export.csv").read_text(encoding="utf-8")
    latin = tmp_path / "latin1.csv"
    latin.write_bytes(text.replace("Security Basics 2026", "Sécurité 2026", 1).encode("latin-1"))
    r = rg("--db", sqlite_url, "training", "import", latin, *lms)
    assert r.code == 2 and "latin1.csv, line 2: not UTF-8 text; save the file as UTF-8" in r.err, r.err
    assert "Traceback" not in r.err
    phish = tmp_path / "phish.csv"
    phish.write_bytes((DATA / "phish-campaigns.csv").read_text(encoding="utf-8").replace("lure", "leurre é")
                      .encode("cp1252"))
    r = rg("--db", sqlite_url, "phishing", "import", phish)
    assert r.code == 2 and "phish.csv, line 2: not UTF-8 text" in r.err, r.err
    assert json.loads(rg("--db", sqlite_url, "training", "metrics", "--json").out)["by_role"] == []

    wide = tmp_path / "utf16.csv"
    wide.write_text(text, encoding="utf-16")  # Windows LMS exports: UTF-16 with a byte-order mark
    r = rg("--db", sqlite_url, "training", "import", wide, *lms, "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out) == {"rows": 9, "created": 9, "updated": 0}
