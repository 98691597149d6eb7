"""Matching: the everyday "is our version affected?" and the whole inventory at once."""

from __future__ import annotations

import json
from pathlib import Path

from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Asset, Site, SoftwareComponent
from radguard.db.session import Database
from radguard.feeds.matching import AdvisoryMatch, lookup, match_assets
from tests.feeds.conftest import CSAF, import_paths


def find(db: Database, vendor: str, product: str, version: str | None) -> dict[str, AdvisoryMatch]:
    with db.read() as s:
        return {m.advisory_id: m for m in lookup(s, vendor, product, version)}


def test_dcmtk_366_is_affected_and_367_is_not(feeds_db: Database) -> None:
    m = find(feeds_db, "OFFIS", "DCMTK", "3.6.6")["ICSMA-22-174-01"]
    assert m.status == "affected"
    assert "< 3.6.7" in m.reason and "3.6.6" in m.reason
    assert [c.id for c in m.cves] == ["CVE-2022-2119", "CVE-2022-2120", "CVE-2022-2121"]
    assert "ICSMA-22-174-01" not in find(feeds_db, "OFFIS", "DCMTK", "3.6.7")
    assert find(feeds_db, "OFFIS", "DCMTK", "3.6.7") == {}  # NVD's CPE range agrees: < 3.6.7
    assert "CVE-2022-2119" in find(feeds_db, "OFFIS e.V.", "OFFIS DCMTK", "3.6.5")


def test_vendor_and_product_must_both_match(feeds_db: Database) -> None:
    assert find(feeds_db, "Siemens", "DCMTK", "3.6.6") == {}
    assert find(feeds_db, "OFFIS", "dcm4che", "3.6.6") == {}
    assert find(feeds_db, "Philips", "Vue", "12.1") == {}  # a product-name prefix is not the product


def test_misspelt_vendor_and_version_in_product_name(feeds_db: Database) -> None:
    m = find(feeds_db, "Philips", "IntelliSpace Portal", "8.0.3")["ICSMA-18-058-02"]
    assert m.status == "affected" and "8.0.x" in m.reason
    assert "ICSMA-18-058-02" not in find(feeds_db, "Philips", "IntelliSpace Portal", "9.0.1")
    assert find(feeds_db, "Philips", "IntelliSpace Portal", None)["ICSMA-18-058-02"].status == "needs_review"


def test_kev_and_ransomware_enrich_every_matched_cve(feeds_db: Database) -> None:
    m = find(feeds_db, "Philips", "IntelliSpace Portal", "7.0.1")["ICSMA-18-058-02"]
    by_id = {c.id: c for c in m.cves}
    assert by_id["CVE-2017-0144"].kev and by_id["CVE-2017-0144"].ransomware == "Known"
    assert not by_id["CVE-2018-5474"].kev and by_id["CVE-2018-5474"].ransomware is None
    assert m.kev and m.ransomware
    ghostcat = find(feeds_db, "Philips", "Vue PACS", "12.2.1")["ICSMA-21-187-01"]
    assert {c.id: c.ransomware for c in ghostcat.cves if c.kev} == {"CVE-2020-1938": "Unknown"}
    assert not ghostcat.ransomware


def test_messy_forms(feeds_db: Database) -> None:
    assert find(feeds_db, "MicroDicom", "DICOM Viewer", "2023.3_Build_9342")["ICSMA-24-060-01"].status == "affected"
    assert "ICSMA-24-060-01" not in find(feeds_db, "MicroDicom", "DICOM Viewer", "2024.1")
    assert find(feeds_db, "GE Healthcare", "Vivid 7", "BT04")["ICSMA-20-343-01"].status == "affected"
    assert "ICSMA-20-343-01" not in find(feeds_db, "GE Healthcare", "Vivid 7", "BT08")
    assert find(feeds_db, "GE", "Signa HDi", "HD23")["ICSMA-20-343-01"].status == "affected"
    assert find(feeds_db, "GE Healthcare", "Image Vault medical imaging software", "3.5")["ICSMA-18-037-02"].status \
        == "affected"
    prose = find(feeds_db, "Philips", "HDI 4000 Ultrasound Systems", "1.0")["ICSMA-19-241-02"]
    assert prose.status == "needs_review" and "Windows 2000" in prose.reason
    dated = find(feeds_db, "Abbott", "Ellipse", "1.0")["ICSMA-18-107-01"]
    assert dated.status == "needs_review" and "date" in dated.reason
    assert find(feeds_db, "Innokas Yhtymä", "VC150", "1.7.14")["ICSMA-21-007-01"].status == "affected"


def test_fixed_and_not_affected_statuses_are_respected(sqlite_db: Database, tmp_path: Path) -> None:
    doc = json.loads((CSAF / "icsma-22-174-01.json").read_text())
    vendor = doc["product_tree"]["branches"][0]["branches"][0]["branches"]
    vendor.append({"category": "product_version", "name": "3.6.6",
                   "product": {"name": "DCMTK 3.6.6 (patched build)", "product_id": "CSAFPID-0002"}})
    vendor.append({"category": "product_version", "name": "3.6.5",
                   "product": {"name": "DCMTK 3.6.5", "product_id": "CSAFPID-0003"}})
    for v in doc["vulnerabilities"]:
        v["product_status"]["fixed"] = ["CSAFPID-0002"]
    doc["vulnerabilities"][0]["product_status"]["known_not_affected"] = ["CSAFPID-0003"]
    path = tmp_path / "revised.json"
    path.write_text(json.dumps(doc))
    import_paths(sqlite_db, path)
    assert find(sqlite_db, "OFFIS", "DCMTK", "3.6.6") == {}
    m = find(sqlite_db, "OFFIS", "DCMTK", "3.6.5")["ICSMA-22-174-01"]
    assert [c.id for c in m.cves] == ["CVE-2022-2120", "CVE-2022-2121"]


def test_match_assets_uses_components_asset_fields_and_latest_discovery(database: Database) -> None:
    import_paths(database, CSAF, )
    with database.transaction() as s:
        site = Site(code="S", name="Site")
        router = Asset(site=site, name="ROUTER", asset_class="integration_engine", network_zone="imaging")
        router.components.append(SoftwareComponent(vendor="OFFIS", product="DCMTK", version="3.6.6"))
        pacs = Asset(site=site, name="PACS", asset_class="pacs", vendor="Philips", product="Vue PACS",
                     software_version="12.2.8.410")
        viewer = Asset(site=site, name="VIEWER", asset_class="workstation")
        patched = Asset(site=site, name="PATCHED", asset_class="integration_engine")
        patched.components.append(SoftwareComponent(vendor="OFFIS", product="DCMTK", version="3.6.7"))
        s.add_all([router, pacs, viewer, patched])
        s.flush()
        s.add(Evidence(kind="probe.endpoint", asset_id=viewer.id, host="127.0.0.1", port=104,
                       received={"dicom": {"product": "DCMTK", "version": "3.6.7"}}))
        s.flush()
        s.add(Evidence(kind="probe.endpoint", asset_id=viewer.id, host="127.0.0.1", port=104,
                       received={"dicom": {"product": "DCMTK", "version": "3.6.4"}}))
        ids = {"router": router.id, "pacs": pacs.id, "viewer": viewer.id, "patched": patched.id}
    with database.read() as s:
        matches = match_assets(s)
        only_router = match_assets(s, [ids["router"]])
    got = {(m.asset_id, m.match.advisory_id): m for m in matches}
    assert got[(ids["router"], "ICSMA-22-174-01")].origin == "component"
    assert got[(ids["pacs"], "ICSMA-21-187-01")].origin == "asset"  # 12.2.8.410 is within 12.2.x.x
    assert (ids["pacs"], "ICSMA-24-200-01") not in got  # but not below 12.2.8.410
    discovered = got[(ids["viewer"], "ICSMA-22-174-01")]
    assert discovered.origin == "discovery" and discovered.endpoint == "127.0.0.1:104"
    assert discovered.match.version == "3.6.4"
    assert "identifies its vendor" in discovered.match.reason
    assert not any(a == ids["patched"] for a, _ in got)
    assert [m.asset_id for m in only_router] == [ids["router"]]
