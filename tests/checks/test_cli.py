"""The checks, assess, findings and attest commands as a user runs them."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from tests.conftest import EXAMPLES


def test_checks_list_and_show(rg) -> None:  # type: ignore[no-untyped-def]
    r = rg("checks", "list", "--json")
    assert r.code == 0, r.err
    rows = json.loads(r.out)
    ids = {c["id"] for c in rows}
    assert {"RG-DICOM-NO-TLS", "RG-AI-NO-BAA"} <= ids and len(rows) >= 40
    one = next(c for c in rows if c["id"] == "RG-REMOTE-NO-MFA")
    assert one["frameworks"]["hph_cpg"] == ["E3"] and one["safeguard_type"] == "technical"
    r = rg("checks", "show", "rg-remote-no-mfa")
    assert r.code == 0 and "multifactor" in r.out
    r = rg("checks", "show", "RG-NOPE")
    assert r.code == 3 and "no check" in r.err


def test_assess_findings_attest_round_trip(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = ("--db", sqlite_url)
    assert rg(*db, "init").code == 0
    assert rg(*db, "inventory", "import", EXAMPLES / "northwind-inventory.yaml").code == 0
    r = rg(*db, "assess", "--json")
    assert r.code == 0, r.err
    first = json.loads(r.out)
    assert first["created"] == first["observations"] > 40 and first["open"] == first["created"]
    r = rg(*db, "assess", "--json")
    assert json.loads(r.out)["created"] == 0

    r = rg(*db, "findings", "list", "--check", "RG-AI-NO-BAA", "--json")
    rows = json.loads(r.out)
    assert [f["asset"]["name"] for f in rows] == ["AI-TRIAGE"]
    fid = rows[0]["id"]

    r = rg(*db, "attest", "record", "baa_signed", "yes", "--asset", "NWH-MAIN/AI-TRIAGE", "--by", "Privacy officer",
           "--evidence", "https://contracts.example/42", "--expires", "2099-12-31", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["value"] == "yes"
    r = rg(*db, "attest", "list", "--json")
    assert [a["asset"] for a in json.loads(r.out)] == ["NWH-MAIN/AI-TRIAGE"]

    r = rg(*db, "assess", "--json")
    assert json.loads(r.out)["mitigated"] == 1
    r = rg(*db, "findings", "show", str(fid), "--json")
    shown = json.loads(r.out)
    assert shown["state"] == "mitigated" and shown["history"][-1]["to"] == "mitigated"

    r = rg(*db, "findings", "list", "--state", "open", "--severity", "critical", "--json")
    crit = json.loads(r.out)
    assert crit and {f["severity"] for f in crit} == {"critical"}
    target = crit[0]["id"]
    in_200_days = (date.today() + timedelta(days=200)).isoformat()  # within the 365-day maximum term
    r = rg(*db, "findings", "accept", str(target), "--reason", "vendor fix in Q1", "--by", "CISO", "--until",
           in_200_days)
    assert r.code == 0 and "risk_accepted" in r.out
    r = rg(*db, "findings", "resolve", str(target), "--reason", "x", "--until", "2099-01-31")
    assert r.code == 2 and "only `findings accept`" in r.err
    r = rg(*db, "findings", "reopen", str(fid), "--reason", "contract lapsed", "--by", "Privacy officer", "--json")
    assert json.loads(r.out)["state"] == "reopened"
    r = rg(*db, "findings", "accept", "999999", "--reason", "x", "--until", "2099-01-31")
    assert r.code == 3
    r = rg(*db, "findings", "list", "--asset", "NWH-MAIN/CT-ED-1")
    assert r.code == 0 and "findings" in r.out
    r = rg(*db, "findings", "show", str(target))
    assert r.code == 0 and "risk_accepted" in r.out and "CISO" in r.out


def test_assess_settings_and_sla_option(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    db = ("--db", sqlite_url)
    rg(*db, "init")
    rg(*db, "inventory", "import", EXAMPLES / "northwind-inventory.yaml")
    bad = tmp_path / "settings.yaml"
    bad.write_text("sla: {internal: {urgent: 3}}\n")
    r = rg(*db, "assess", "--settings", bad)
    assert r.code == 2 and "settings.yaml" in r.err and "urgent" in r.err
    r = rg(*db, "assess", "--sla", "nope=3")
    assert r.code == 2 and "SEVERITY=DAYS" in r.err
    r = rg(*db, "assess", "--sla", "critical=1")
    assert r.code == 0 and "Open findings" in r.out
