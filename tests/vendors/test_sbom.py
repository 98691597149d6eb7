"""SBOM ingestion: CycloneDX JSON/XML and SPDX JSON into an asset's software components."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Asset, Site, SoftwareComponent
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.inventory.sbom import import_sbom, read_sbom
from tests.conftest import EXAMPLES, FIXTURES

SBOMS = FIXTURES / "vendors"


def _by_product(doc_components: list) -> dict:  # type: ignore[type-arg]
    return {c.product: c for c in doc_components}


def test_cyclonedx_json_with_nested_components() -> None:
    doc = read_sbom(SBOMS / "router-appliance.cdx.json")
    assert doc.format == "CycloneDX" and doc.spec_version == "1.5"
    assert doc.describes == {"name": "DICOM Router Appliance", "version": "4.2.0",
                             "supplier": "Example Imaging Systems"}
    comps = _by_product(doc.components)
    assert set(comps) == {"DCMTK", "zlib", "openssl", "debian"}  # the data component is skipped
    assert doc.skipped == 1
    dcmtk = comps["DCMTK"]
    assert (dcmtk.vendor, dcmtk.version) == ("OFFIS", "3.6.6")
    assert dcmtk.cpe == "cpe:2.3:a:offis:dcmtk:3.6.6:*:*:*:*:*:*:*"
    assert dcmtk.purl == "pkg:github/dcmtk/dcmtk@DCMTK-3.6.6"  # normalized as the purl spec says
    # No supplier: the vendor comes from the CPE.
    assert comps["openssl"].vendor == "openssl" and comps["zlib"].vendor == "zlib"
    assert comps["openssl"].purl == "pkg:deb/debian/openssl@1.1.1k-1?arch=amd64"


def test_cyclonedx_xml() -> None:
    doc = read_sbom(SBOMS / "workstation.cdx.xml")
    assert doc.format == "CycloneDX" and doc.spec_version == "1.4"
    comps = _by_product(doc.components)
    assert comps["DCMTK"].cpe.startswith("cpe:2.3:a:offis:dcmtk:3.6.6")
    assert comps["VTK"].vendor == "Kitware"  # publisher
    assert comps["libpng"].vendor == "libpng"  # group
    assert doc.describes and doc.describes["name"] == "Diagnostic Viewer"


def test_spdx_json_skips_the_described_product() -> None:
    doc = read_sbom(SBOMS / "ai-triage.spdx.json")
    assert doc.format == "SPDX" and doc.spec_version == "SPDX-2.3"
    assert doc.describes == {"name": "AI Triage", "version": "2.4", "supplier": "Example AI"}
    comps = _by_product(doc.components)
    assert set(comps) == {"DCMTK", "pydicom", "torch"}
    assert comps["DCMTK"].cpe == "cpe:2.3:a:offis:dcmtk:3.6.6:*:*:*:*:*:*:*" and comps["DCMTK"].vendor == "OFFIS"
    assert comps["pydicom"].vendor == "unknown" and comps["pydicom"].purl == "pkg:pypi/pydicom@2.4.4"
    assert comps["torch"].vendor == "PyTorch Foundation"


def test_several_versions_of_one_library_are_kept_and_reported(tmp_path: Path) -> None:
    doc = json.loads((SBOMS / "router-appliance.cdx.json").read_text())
    doc["components"].append({"type": "library", "name": "openssl", "version": "3.0.2",
                              "cpe": "cpe:2.3:a:openssl:openssl:3.0.2:*:*:*:*:*:*:*"})
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(doc))
    doc["components"].append(dict(doc["components"][-1]))  # the same version twice is one component
    path.write_text(json.dumps(doc))
    parsed = read_sbom(path)
    # Both versions are kept (advisories differ by version) and reported for review.
    assert parsed.duplicates == [{"vendor": "openssl", "product": "openssl", "versions": ["1.1.1k", "3.0.2"]}]
    assert sorted(c.version for c in parsed.components if c.product == "openssl") == ["1.1.1k", "3.0.2"]


@pytest.mark.parametrize(("content", "expected"), [
    ('{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"type": "library", "name": "ok"}, '
     '{"type": "gizmo", "name": "bad"}]}', "$.components[1] (bad): not valid CycloneDX"),
    ('{"bomFormat": "CycloneDX",\n "specVersion": 1.5,,}', "line 2, column 21: not valid JSON"),
    ('{"hello": "world"}', "neither CycloneDX (bomFormat) nor SPDX"),
    ('{"spdxVersion": "SPDX-2.3", "packages": []}', "not valid SPDX"),
    ('<?xml version="1.0"?><project xmlns="http://maven.apache.org/POM/4.0.0"/>', "is not a CycloneDX <bom>"),
    ('<?xml version="1.0"?><!DOCTYPE bom [<!ENTITY x "y">]><bom/>', "DOCTYPE or entities is refused"),
    ("SPDXVersion: SPDX-2.3\n", "convert tag-value SPDX"),
    ('{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"type": "library", "name": "x", '
     '"purl": "not-a-purl"}]}', "$.components[0] (x): not valid CycloneDX: PURL string"),
    ('{"spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT", "name": "d", '
     '"documentNamespace": "https://example.com/d", "creationInfo": {"created": "2024-06-01T00:00:00Z", '
     '"creators": ["Tool: t"]}, "packages": [{"SPDXID": "SPDXRef-a", "name": "a", "downloadLocation": "NONE", '
     '"externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", '
     '"referenceLocator": "pkg-nope"}]}]}', "$.packages[0] (a), field 'purl': not a valid package URL"),
])
def test_bad_documents_are_named(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "sbom.json"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        read_sbom(path)
    assert expected in str(info.value)
    assert str(path) in str(info.value)


def _seed(database: Database) -> int:
    with database.transaction() as s:
        site = Site(code="MAIN", name="Main")
        s.add(site)
        s.flush()
        asset = Asset(site_id=site.id, name="ROUTER", asset_class="integration_engine")
        s.add(asset)
        s.flush()
        s.add(SoftwareComponent(asset_id=asset.id, vendor="offis", product="dcmtk", version="3.6.5", source="import"))
        s.add(SoftwareComponent(asset_id=asset.id, vendor="Orthanc", product="Orthanc", version="1.9.7",
                                source="import"))
        return asset.id


def test_import_takes_over_listed_components_and_replaces_previous_sbom(database: Database, tmp_path: Path) -> None:
    asset_id = _seed(database)
    with database.transaction() as s:
        result = import_sbom(s, SBOMS / "router-appliance.cdx.json", "MAIN/ROUTER")
    assert (result.components, result.created, result.updated, result.removed) == (4, 3, 1, 0)
    with database.read() as s:
        stmt = select(SoftwareComponent).where(SoftwareComponent.asset_id == asset_id)
        rows = {c.product: c for c in s.scalars(stmt)}
        assert rows["dcmtk"].version == "3.6.6" and rows["dcmtk"].source == "sbom"  # inventory row taken over
        assert rows["dcmtk"].cpe == "cpe:2.3:a:offis:dcmtk:3.6.6:*:*:*:*:*:*:*"
        assert rows["Orthanc"].source == "import"  # not in the SBOM: left alone
        assert rows["openssl"].purl == "pkg:deb/debian/openssl@1.1.1k-1?arch=amd64"
        ev = s.scalars(select(Evidence).where(Evidence.kind == "doc.sbom")).one()
        assert ev.asset_id == asset_id and ev.source == "router-appliance.cdx.json"
        assert ev.received["format"] == "CycloneDX" and ev.received["components"] == 4
        assert ev.received["with_cpe"] == 3
    # A newer SBOM without zlib: the SBOM-added zlib goes, the same file again adds no evidence.
    newer = json.loads((SBOMS / "router-appliance.cdx.json").read_text())
    newer["components"][0]["components"] = []
    path = tmp_path / "router-v2.cdx.json"
    path.write_text(json.dumps(newer))
    with database.transaction() as s:
        result = import_sbom(s, path, "ROUTER")
    assert (result.created, result.updated, result.removed) == (0, 0, 1)
    with database.transaction() as s:
        import_sbom(s, path, "ROUTER")
    with database.read() as s:
        products = set(s.scalars(select(SoftwareComponent.product).where(SoftwareComponent.asset_id == asset_id)))
        assert products == {"dcmtk", "Orthanc", "openssl", "debian"}
        assert len(s.scalars(select(Evidence).where(Evidence.kind == "doc.sbom")).all()) == 2


def test_bad_sbom_changes_nothing(database: Database, tmp_path: Path) -> None:
    asset_id = _seed(database)
    bad = tmp_path / "bad.json"
    bad.write_text('{"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [{"type": "gizmo", "name": "x"}]}')
    with pytest.raises(InputError), database.transaction() as s:
        import_sbom(s, bad, "ROUTER")
    with database.read() as s:
        assert len(s.scalars(select(SoftwareComponent).where(SoftwareComponent.asset_id == asset_id)).all()) == 2
        assert s.scalars(select(Evidence)).all() == []


def test_cli_sbom_import(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert rg("--db", sqlite_url, "init").code == 0
    assert rg("--db", sqlite_url, "inventory", "import", EXAMPLES / "northwind-inventory.yaml").code == 0
    src = tmp_path / "ai.json"
    shutil.copy(SBOMS / "ai-triage.spdx.json", src)
    r = rg("--db", sqlite_url, "sbom", "import", src, "--asset", "NWH-MAIN/DICOM-ROUTER", "--json")
    assert r.code == 0, r.err
    summary = json.loads(r.out)
    assert summary["format"] == "SPDX" and summary["components"] == 3
    r = rg("--db", sqlite_url, "inventory", "show", "NWH-MAIN/DICOM-ROUTER", "--json")
    software = {c["product"]: c for c in json.loads(r.out)["software"]}
    assert software["DCMTK"]["cpe"] == "cpe:2.3:a:offis:dcmtk:3.6.6:*:*:*:*:*:*:*"
    assert software["pydicom"]["purl"] == "pkg:pypi/pydicom@2.4.4"
    r = rg("--db", sqlite_url, "sbom", "import", SBOMS / "workstation.cdx.xml", "--asset", "NWH-MAIN/READ-WS-1")
    assert r.code == 0 and "CycloneDX SBOM" in r.out and "3 components" in r.out
    bad = tmp_path / "x.txt"
    bad.write_text("hello")
    r = rg("--db", sqlite_url, "sbom", "import", bad, "--asset", "NWH-MAIN/READ-WS-1")
    assert r.code == 2 and "x.txt" in r.err


@pytest.mark.parametrize(("component", "where"), [
    ({"type": "library", "name": 42}, "$.components[1].name"),
    ({"type": "library", "name": "zlib", "version": 1.3}, "$.components[1].version"),
    ({"type": "library", "name": "zlib", "group": ["a"]}, "$.components[1].group"),
    ({"type": "library", "name": "zlib", "supplier": {"name": 7}}, "$.components[1].supplier.name"),
    ({"type": "library", "name": "zlib", "components": [{"type": "library", "name": True}]},
     "$.components[1].components[0].name"),
])
def test_non_text_component_fields_are_named(rg, sqlite_url: str, tmp_path: Path,  # type: ignore[no-untyped-def]
                                             component: dict[str, object], where: str) -> None:
    """Regression: a CycloneDX component whose name is a number used to crash with AttributeError."""
    path = tmp_path / "sbom.json"
    path.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5",
                                "components": [{"type": "library", "name": "ok"}, component]}))
    with pytest.raises(InputError) as info:
        read_sbom(path)
    assert str(info.value).startswith(f"{path}, {where}: must be text")
    assert rg("--db", sqlite_url, "init").code == 0
    r = rg("--db", sqlite_url, "sbom", "import", path, "--asset", "nope")
    assert r.code == 2 and f"{where}: must be text" in r.err and "Traceback" not in r.err, r.err


def test_utf16_and_bom_prefixed_sboms_are_read(tmp_path: Path) -> None:
    text = (SBOMS / "router-appliance.cdx.json").read_text(encoding="utf-8")
    wide = tmp_path / "wide.cdx.json"
    wide.write_text(text, encoding="utf-16")
    bom = tmp_path / "bom.cdx.json"
    bom.write_text(text, encoding="utf-8-sig")
    expected = read_sbom(SBOMS / "router-appliance.cdx.json").components
    assert read_sbom(wide).components == expected
    assert read_sbom(bom).components == expected


def test_sbom_speaks_for_every_version_of_the_products_it_lists(rg, sqlite_url: str,  # type: ignore[no-untyped-def]
                                                                tmp_path: Path) -> None:
    """Review findings: the CLI note for two versions, and no leftover versions, in either order."""
    inventory = tmp_path / "inventory.yaml"
    inventory.write_text("format: radguard-inventory\nversion: 1\nsites: [{code: MAIN, name: Main}]\nassets:\n"
                         "- {site: MAIN, name: ROUTER, class: integration_engine, software: ["
                         "{vendor: OpenSSL, product: openssl, version: 1.1.1}, "
                         "{vendor: OpenSSL, product: openssl, version: 3.0.2}, "
                         "{vendor: zlib, product: zlib, version: '1.2'}]}\n")
    sbom = tmp_path / "router.cdx.json"
    sbom.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "components": [
        {"type": "library", "group": "OpenSSL", "name": "openssl", "version": "3.0.5"},
        {"type": "library", "group": "OpenSSL", "name": "openssl", "version": "3.0.13"}]}))

    def versions() -> list[tuple[str, str]]:
        r = rg("--db", sqlite_url, "inventory", "show", "MAIN/ROUTER", "--json")
        assert r.code == 0, r.err
        return sorted((c["product"], c["version"]) for c in json.loads(r.out)["software"])

    assert rg("--db", sqlite_url, "init").code == 0
    assert rg("--db", sqlite_url, "inventory", "import", inventory).code == 0
    r = rg("--db", sqlite_url, "sbom", "import", sbom, "--asset", "MAIN/ROUTER")
    assert r.code == 0, r.err
    assert "openssl is listed in several versions (3.0.5, 3.0.13)" in r.err and "Traceback" not in r.err
    expected = [("openssl", "3.0.13"), ("openssl", "3.0.5"), ("zlib", "1.2")]
    assert versions() == expected  # 1.1.1 and 3.0.2 are gone: the SBOM speaks for openssl
    assert rg("--db", sqlite_url, "inventory", "import", inventory).code == 0
    assert versions() == expected  # and a later inventory import does not bring them back
