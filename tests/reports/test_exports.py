"""Exports: OSCAL read back by trestle, and CSV/JSON tables whose columns never drift."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from sqlalchemy import func, select
from trestle.oscal.assessment_results import AssessmentResults
from trestle.oscal.poam import PlanOfActionAndMilestones

from radguard.db.models.findings import OPEN_STATES, Finding
from radguard.db.session import open_database
from radguard.reports.exports.tables import FINDING_COLUMNS, INVENTORY_COLUMNS, ROADMAP_COLUMNS
from tests.reports.northwind import cli

GOLDEN = Path(__file__).parent / "golden"


def _open_findings(url: str) -> int:
    db = open_database(url)
    try:
        with db.read() as session:
            return int(session.scalar(select(func.count()).where(Finding.state.in_(OPEN_STATES))) or 0)
    finally:
        db.dispose()


def test_oscal_documents_load_back_with_trestle(rg, northwind_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "northwind-ar.json"
    r = rg("--db", northwind_url, "export", "oscal", "-o", out)
    assert r.code == 0, r.err
    ar = AssessmentResults.oscal_read(out)
    poam = PlanOfActionAndMilestones.oscal_read(tmp_path / "northwind-ar.poam.json")
    assert ar is not None and poam is not None
    n_open = _open_findings(northwind_url)
    assert n_open > 50
    result = ar.results[0]
    assert len(result.observations or []) == n_open
    assert len(result.risks or []) == n_open
    assert len(poam.poam_items) == n_open
    observation_ids = {o.uuid for o in result.observations or []}
    risk_ids = {k.uuid for k in result.risks or []}
    for item in poam.poam_items:
        assert {o.observation_uuid for o in item.related_observations or []} <= observation_ids
        assert {k.risk_uuid for k in item.related_risks or []} <= risk_ids
    targets = {
        f.target.target_id: f.target.status.state.value
        if hasattr(f.target.status.state, "value")
        else str(f.target.status.state)
        for f in result.findings or []
    }
    assert any(t.startswith("csf2_") for t in targets) and any(t.startswith("hipaa_") for t in targets)
    assert "not-satisfied" in {str(v) for v in targets.values()}
    text = out.read_text()
    assert "NWH-MAIN/CT-ED-1" in text and "Remote access without multifactor authentication" in text

    # Item UUIDs are stable across exports; document UUIDs are new each time.
    again = tmp_path / "again.json"
    assert rg("--db", northwind_url, "export", "oscal", "-o", again, "--poam", tmp_path / "p.json").code == 0
    ar2 = AssessmentResults.oscal_read(again)
    assert ar2 is not None and ar2.uuid != ar.uuid
    assert {o.uuid for o in ar2.results[0].observations or []} == observation_ids


def test_oscal_on_an_empty_register_is_still_valid(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert rg("--db", sqlite_url, "init").code == 0
    out = tmp_path / "ar.json"
    assert rg("--db", sqlite_url, "export", "oscal", "-o", out).code == 0
    ar = AssessmentResults.oscal_read(out)
    poam = PlanOfActionAndMilestones.oscal_read(tmp_path / "ar.poam.json")
    assert ar is not None and not ar.results[0].observations
    assert poam is not None and poam.poam_items[0].title == "No open findings"


def test_csv_columns_match_the_golden_headers(northwind_url: str, tmp_path: Path) -> None:
    for kind, columns in (
        ("findings", FINDING_COLUMNS),
        ("inventory", INVENTORY_COLUMNS),
        ("roadmap", ROADMAP_COLUMNS),
    ):
        golden = (GOLDEN / f"{kind}.header.csv").read_text().strip().split(",")
        assert list(columns) == golden, kind
        out = tmp_path / f"{kind}.csv"
        cli("--db", northwind_url, "export", kind, "--format", "csv", "-o", str(out))
        with out.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        assert rows[0] == golden
        assert len(rows) > 1 and all(len(r) == len(golden) for r in rows)
        js = tmp_path / f"{kind}.json"
        cli("--db", northwind_url, "export", kind, "--format", "json", "-o", str(js))
        doc = json.loads(js.read_text())
        assert doc["format"] == f"radguard-{kind}" and doc["columns"] == golden
        assert len(doc["records"]) == len(rows) - 1
        assert all(list(rec) == golden for rec in doc["records"])


def test_csv_values_are_spreadsheet_safe_and_typed_in_json(northwind_url: str, tmp_path: Path) -> None:
    out = tmp_path / "inventory.csv"
    cli("--db", northwind_url, "export", "inventory", "-o", str(out))
    with out.open(newline="", encoding="utf-8") as fh:
        rows = {r["name"]: r for r in csv.DictReader(fh)}
    ct = rows["CT-ED-1"]
    assert ct["site"] == "NWH-MAIN" and ct["stores_phi"] == "true" and ct["endpoints"] == "dicom://10.20.1.11:104"
    assert int(ct["open_findings"]) > 0 and ct["highest_open_severity"] == "critical"
    js = tmp_path / "findings.json"
    cli("--db", northwind_url, "export", "findings", "-o", str(js))
    rec = json.loads(js.read_text())["records"][0]
    assert isinstance(rec["risk_score"], int) and isinstance(rec["csf2"], list)
    assert isinstance(rec["known_exploited"], bool)


def test_export_errors_name_the_problem(rg, northwind_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = rg("--db", northwind_url, "export", "findings", "-o", tmp_path / "f.xlsx")
    assert r.code == 2 and "use csv or json" in r.err
    r = rg("--db", northwind_url, "export", "inventory", "-o", tmp_path / "nodir" / "i.csv")
    assert r.code == 2 and "does not exist" in r.err
    r = rg("--db", northwind_url, "export", "findings", "--site", "NOPE", "-o", tmp_path / "f.csv")
    assert r.code == 3 and not (tmp_path / "f.csv").exists()
