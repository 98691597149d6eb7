"""VEX: CycloneDX VEX, OpenVEX and CSAF VEX statements close the advisory findings they cover."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from radguard.checks.vex import apply_vex
from radguard.db.models.evidence import Evidence
from radguard.db.models.findings import Finding
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.feeds.vex import read_vex
from radguard.readiness.dashboard import assess
from tests.feeds.test_checks import seed

CVES = ["CVE-2022-2119", "CVE-2022-2120", "CVE-2022-2121"]


def openvex(cves: list[str], status: str = "not_affected") -> dict[str, object]:
    return {"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.test/vex-1", "author": "OFFIS PSIRT",
            "statements": [{"vulnerability": {"name": c}, "products": [{"@id": "pkg:generic/offis/dcmtk@3.6.6"}],
                            "status": status, "justification": "vulnerable_code_not_in_execute_path"} for c in cves]}


def cyclonedx(cves: list[str]) -> dict[str, object]:
    return {"bomFormat": "CycloneDX", "specVersion": "1.5", "metadata": {"authors": [{"name": "Hospital IT"}]},
            "components": [{"bom-ref": "dcmtk", "name": "DCMTK", "publisher": "OFFIS", "version": "3.6.6"}],
            "vulnerabilities": [{"id": c, "analysis": {"state": "resolved", "justification": "code_not_reachable"},
                                 "affects": [{"ref": "dcmtk"}]} for c in cves]}


def csaf(cves: list[str], closing: str = "fixed") -> dict[str, object]:
    tree = {"branches": [{"category": "vendor", "name": "OFFIS", "branches": [
        {"category": "product_name", "name": "DCMTK", "branches": [
            {"category": "product_version", "name": "3.6.6",
             "product": {"product_id": "DCMTK-366", "name": "OFFIS DCMTK 3.6.6"}}]}]}]}
    return {"document": {"category": "csaf_vex", "publisher": {"name": "OFFIS"}}, "product_tree": tree,
            "vulnerabilities": [{"cve": c, "product_status": {closing if i else "known_not_affected": ["DCMTK-366"]},
                                 "flags": [{"label": "vulnerable_code_not_present", "product_ids": ["DCMTK-366"]}]}
                                for i, c in enumerate(cves)]}


def csaf_first_fixed(cves: list[str]) -> dict[str, object]:
    """CSAF VEX beyond known_not_affected: the version is the first one fixed."""
    return csaf(cves, "first_fixed")


def _router(db: Database) -> Finding:
    with db.read() as s:
        finding = s.scalars(select(Finding).where(Finding.check_id == "RG-ADVISORY",
                                                  Finding.key == "ICSMA-22-174-01")).one()
        s.expunge(finding)  # read its loaded columns after the session closes
        return finding


@pytest.mark.parametrize("make", [openvex, cyclonedx, csaf, csaf_first_fixed])
def test_a_statement_covering_every_cve_closes_the_finding(
        feeds_db: Database, tmp_path: Path, make: Callable[[list[str]], dict[str, object]]) -> None:
    seed(feeds_db)
    with feeds_db.transaction() as s:
        assess(s)
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(make(CVES[:2])))
    with feeds_db.read() as s:
        nvd_only = s.scalars(select(Finding.id).where(Finding.key == "CVE-2022-2119")).one()
    with feeds_db.transaction() as s:  # closes the NVD finding for CVE-2022-2119 alone
        assert apply_vex(s, read_vex(partial))["closed"] == [nvd_only]
    assert _router(feeds_db).state == "open"  # one of its CVEs is not covered: the finding stays

    full = tmp_path / "full.json"
    full.write_text(json.dumps(make(CVES)))
    with feeds_db.transaction() as s:
        result = apply_vex(s, read_vex(full))
    finding = _router(feeds_db)
    assert result["closed"] == [finding.id] and finding.state == "false_positive"
    assert finding.decided_by is not None and finding.decided_by.startswith("VEX ")
    assert finding.decision_reason is not None and "CVE-2022-2121" in finding.decision_reason
    with feeds_db.transaction() as s:
        assess(s)  # still observed, but suppressed
    assert _router(feeds_db).state == "false_positive"
    with feeds_db.read() as s:
        assert len(s.scalars(select(Evidence).where(Evidence.kind == "vex.statement")).all()) == 5


def test_other_products_and_versions_are_not_touched(feeds_db: Database, tmp_path: Path) -> None:
    seed(feeds_db)
    with feeds_db.transaction() as s:
        assess(s)
    doc = openvex(CVES)
    doc["statements"][0]["products"] = [{"@id": "pkg:generic/offis/dcmtk@3.6.5"}]  # type: ignore[index]
    path = tmp_path / "vex.json"
    path.write_text(json.dumps(doc))
    with feeds_db.transaction() as s:
        assert apply_vex(s, read_vex(path))["closed"] == []
    path.write_text(json.dumps(openvex(CVES, status="affected")))
    assert read_vex(path) == []
    for status in ("known_affected", "under_investigation", "last_affected"):  # CSAF statuses that clear nothing
        doc = csaf(CVES, status)
        for vuln in doc["vulnerabilities"]:  # type: ignore[attr-defined]
            vuln["product_status"] = {status: ["DCMTK-366"]}
        path.write_text(json.dumps(doc))
        assert read_vex(path) == [], status


@pytest.mark.parametrize(("doc", "message"), [
    ({"bomFormat": "CycloneDX", "vulnerabilities": [{"id": "nope"}]}, r"\$.vulnerabilities\[0\], field 'id'"),
    ({"@context": "https://openvex.dev/ns", "statements": [{"vulnerability": {"name": "CVE-2022-2119"},
      "status": "fixed", "products": [{"@id": "not a purl"}]}]}, r"\$.statements\[0\].products\[0\]"),
    ({"document": {"category": "csaf_vex"}, "product_tree": {}, "vulnerabilities": [
        {"cve": "CVE-2022-2119", "product_status": {"fixed": ["X"]}}]}, "not in the product_tree"),
    ({"hello": "world"}, "not a CycloneDX VEX, OpenVEX or CSAF VEX"),
])
def test_malformed_documents_are_located_and_change_nothing(
        tmp_path: Path, doc: dict[str, object], message: str) -> None:
    path = tmp_path / "vex.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match=message):
        read_vex(path)


def test_cli(rg: Callable[..., object], tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'rg.db'}"
    path = tmp_path / "vex.json"
    path.write_text(json.dumps(openvex(CVES)))
    assert rg("--db", db, "init").code == 0  # type: ignore[attr-defined]
    out = rg("--db", db, "feeds", "vex", path, "--json")
    assert out.code == 0 and '"statements": 3' in out.out.replace('":3', '": 3')  # type: ignore[attr-defined]
