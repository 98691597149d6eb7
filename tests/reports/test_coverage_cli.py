"""`radguard coverage`: every requirement, a status from mapped checks and answers, the evidence."""

from __future__ import annotations

import json

from radguard.frameworks.coverage import STATUSES


def test_csf2_coverage_after_assessment(rg, northwind_url: str) -> None:  # type: ignore[no-untyped-def]
    r = rg("--db", northwind_url, "coverage", "--framework", "csf2", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    rows = {row["id"]: row for row in doc["requirements"]}
    assert len(rows) == 106 and doc["checklist"].startswith("checklist assessment v2")
    assert {row["status"] for row in rows.values()} <= set(STATUSES)
    assert sum(doc["summary"].values()) == 106
    # Remote access without MFA is open on several assets: PR.AA-05 cannot be met.
    aa05 = rows["PR.AA-05"]
    assert aa05["status"] in ("not met", "partly met")
    failing = [e for e in aa05["evidence"] if e["kind"] == "check" and e["status"] == "not met"]
    assert failing and "open finding" in failing[0]["detail"]
    assert any(e["kind"] == "question" for row in rows.values() for e in row["evidence"])


def test_hipaa_rows_carry_required_or_addressable(rg, northwind_url: str) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(rg("--db", northwind_url, "coverage", "--framework", "hipaa", "--json").out)
    by_id = {row["id"]: row for row in doc["requirements"]}
    assert by_id["164.312(e)(2)(ii)"]["flag"] == "addressable"
    assert by_id["164.308(a)(7)(ii)(A)"]["flag"] == "required"
    assert by_id["164.312(e)(1)"]["kind"] == "standard"
    r = rg("--db", northwind_url, "coverage", "--framework", "hipaa")
    assert r.code == 0 and "164.312(e)(2)(ii) [A]" in r.out


def test_hicp_by_size_and_hph_cpg(rg, northwind_url: str) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads(rg("--db", northwind_url, "coverage", "--framework", "hicp", "--size", "medium", "--json").out)
    assert {row["size"] for row in doc["requirements"]} == {"medium"}
    assert len(doc["requirements"]) == 36
    cpg = json.loads(rg("--db", northwind_url, "coverage", "--framework", "hph-cpg", "--json").out)
    e3 = next(row for row in cpg["requirements"] if row["id"] == "E3")
    assert e3["status"] in ("not met", "partly met")


def test_unknown_framework_is_a_user_error(rg, northwind_url: str) -> None:  # type: ignore[no-untyped-def]
    r = rg("--db", northwind_url, "coverage", "--framework", "iso27001")
    assert r.code == 2 and "csf2, hicp, hph-cpg, hipaa" in r.err


def test_before_any_assessment_everything_is_no_evidence(rg, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    rg("--db", sqlite_url, "init")
    doc = json.loads(rg("--db", sqlite_url, "coverage", "--framework", "hph-cpg", "--json").out)
    assert doc["summary"] == {"met": 0, "partly met": 0, "not met": 0, "no evidence": 20}
