"""Parsing real CSAF advisories, and refusing malformed ones with the file and JSON path."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from radguard.errors import InputError
from radguard.feeds.csaf import parse_csaf
from radguard.feeds.importer import parse_bytes
from tests.feeds.conftest import CSAF, KEV, NVD


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((CSAF / f"{name}.json").read_text())
    return doc


def test_dcmtk_advisory() -> None:
    adv = parse_csaf(load("icsma-22-174-01"), "icsma-22-174-01.json", "x")
    assert adv.advisory_id == "ICSMA-22-174-01"
    (product,) = adv.products
    assert (product.vendor, product.product, product.version_text) == ("OFFIS", "DCMTK", "< 3.6.7")
    assert ("ofis", "dcmtk") in product.keys
    assert [v.cve_id for v in adv.vulnerabilities] == ["CVE-2022-2119", "CVE-2022-2120", "CVE-2022-2121"]
    assert adv.vulnerabilities[0].cvss_score == 7.5
    assert adv.vulnerabilities[0].product_status == {"CSAFPID-0001": "known_affected"}
    assert "3.6.7" in adv.vulnerabilities[0].remediations[0]["details"]


def test_every_fixture_parses_and_recognises_its_kind() -> None:
    kinds = {p.name: parse_bytes(p.read_bytes(), p.name).kind for p in [*CSAF.glob("*.json"), KEV, NVD]}
    assert kinds[KEV.name] == "kev" and kinds[NVD.name] == "nvd"
    assert sum(1 for k in kinds.values() if k == "csaf") == 13


def test_product_status_categories_are_reduced() -> None:
    doc = load("icsma-22-174-01")
    doc["vulnerabilities"][0]["product_status"] = {"first_fixed": ["CSAFPID-0001"], "last_affected": ["CSAFPID-0001"]}
    adv = parse_csaf(doc, "x.json", "x")
    assert adv.vulnerabilities[0].product_status == {"CSAFPID-0001": "fixed"}


def test_relationships_and_groups() -> None:
    doc = load("icsma-22-174-01")
    doc["product_tree"]["relationships"] = [{
        "category": "installed_on", "product_reference": "CSAFPID-0001", "relates_to_product_reference": "CSAFPID-0001",
        "full_product_name": {"name": "DCMTK on a PACS", "product_id": "REL-1"}}]
    doc["product_tree"]["product_groups"] = [{"group_id": "G1", "product_ids": ["CSAFPID-0001", "REL-1"]}]
    doc["vulnerabilities"][0]["remediations"].append(
        {"category": "mitigation", "details": "isolate", "group_ids": ["G1"]})
    doc["vulnerabilities"][0]["product_status"]["known_affected"].append("REL-1")
    adv = parse_csaf(doc, "x.json", "x")
    rel = next(p for p in adv.products if p.ref == "REL-1")
    assert rel.product == "DCMTK" and rel.version_text == "< 3.6.7"
    assert adv.vulnerabilities[0].remediations[-1]["product_ids"] == ["CSAFPID-0001", "REL-1"]


def _broken(mutate: Any) -> dict[str, Any]:
    doc = copy.deepcopy(load("icsma-22-174-01"))
    mutate(doc)
    return doc


@pytest.mark.parametrize(("mutate", "where"), [
    (lambda d: d["document"]["tracking"].pop("id"), "$.document.tracking.id"),
    (lambda d: d["product_tree"]["branches"][0]["branches"][0].pop("name"),
     "$.product_tree.branches[0].branches[0]"),
    (lambda d: d["vulnerabilities"][1]["product_status"].update(known_affected=["CSAFPID-9"]),
     "$.vulnerabilities[1].product_status.known_affected"),
    (lambda d: d["vulnerabilities"][2].update(cve="not-a-cve"), "$.vulnerabilities[2].cve"),
    (lambda d: d["vulnerabilities"][0]["scores"][0]["cvss_v3"].update(baseScore="high"),
     "$.vulnerabilities[0].scores[0].cvss_v3.baseScore"),
    (lambda d: d["document"].update(csaf_version="1.2"), "$.document.csaf_version"),
])
def test_malformed_advisory_names_file_and_path(mutate: Any, where: str) -> None:
    with pytest.raises(InputError) as err:
        parse_bytes(json.dumps(_broken(mutate)).encode(), "bad-advisory.json")
    assert str(err.value).startswith(f"bad-advisory.json, {where}")


def test_not_json_and_unknown_documents() -> None:
    with pytest.raises(InputError, match=r"x.json, line 1, column 2: not valid JSON"):
        parse_bytes(b"{,}", "x.json")
    with pytest.raises(InputError, match=r"is not a CISA KEV catalog, a CSAF 2\.0 advisory or an NVD"):
        parse_bytes(b'{"hello": 1}', "y.json")
