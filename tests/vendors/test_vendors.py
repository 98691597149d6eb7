"""The vendor register: import, re-import, export round trip, and the commands."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from radguard.db.models.vendors import Vendor, VendorContract, VendorProductAsset
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.inventory.importer import import_inventory
from radguard.inventory.vendors import export_vendors, find_vendor, import_vendors, last_review, linked_assets
from tests.conftest import EXAMPLES

VENDORS = EXAMPLES / "northwind-vendors.yaml"


@pytest.fixture
def northwind(database: Database) -> Database:
    with database.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml", None)
    return database


def test_import_links_products_to_inventory_assets(northwind: Database) -> None:
    with northwind.transaction() as s:
        result = import_vendors(s, VENDORS)
    assert result.created == 17 and result.updated == 0 and result.asset_links == 29
    with northwind.read() as s:
        philips = find_vendor(s, "philips")
        assert {f"{a.site.code}/{a.name}" for a in linked_assets(philips)} >= {"NWH-MAIN/PACS-CORE", "NWH-OIC/OIC-US"}
        assert philips.baa_signed is True and philips.remote_access_method == "always-on"
        assert philips.contracts[0].eol_notice_months == 36
        assert last_review(philips) is not None and last_review(philips).isoformat() == "2025-03-14"


def test_reimport_updates_in_place_and_export_round_trips(northwind: Database, tmp_path: Path) -> None:
    with northwind.transaction() as s:
        import_vendors(s, VENDORS)
    out = tmp_path / "vendors.yaml"
    with northwind.read() as s:
        assert export_vendors(s, out) == 17
    with northwind.transaction() as s:
        again = import_vendors(s, out)
    assert again.created == 0 and again.updated == 17
    out2 = tmp_path / "vendors2.yaml"
    with northwind.read() as s:
        export_vendors(s, out2)
        assert s.scalar(select(func.count()).select_from(VendorContract)) == 15
        assert s.scalar(select(func.count()).select_from(VendorProductAsset)) == 29
    assert out.read_text() == out2.read_text()
    # The export says what the example says (dates and all), vendor by vendor.
    original = {v["name"]: v for v in yaml.safe_load(VENDORS.read_text())["vendors"]}
    exported = {v["name"]: v for v in yaml.safe_load(out.read_text())["vendors"]}
    assert exported["GE Healthcare"]["contracts"] == [
        {"reference": "NWH-SVC-GEHC-2022", "signed": "2022-09-01", "expires": "2027-08-31", "patch_days": 90,
         "eol_notice_months": 24, "right_to_audit": False}]
    assert exported["Example Cloud Backup"]["baa"] == {"signed": False}
    assert set(original) == set(exported)


def test_reimport_replaces_a_vendors_terms(northwind: Database, tmp_path: Path) -> None:
    with northwind.transaction() as s:
        import_vendors(s, VENDORS)
    changed = tmp_path / "one.json"
    changed.write_text(json.dumps({"vendors": [{
        "name": "GE HEALTHCARE", "phi_access": True, "baa": {"signed": True},
        "contracts": [{"reference": "NWH-SVC-GEHC-2026", "patch_days": 30, "eol_notice_months": 36,
                       "incident_notification_hours": 24}],
        "products": [{"name": "LOGIQ E10", "assets": ["US-1"]}],
    }]}))
    with northwind.transaction() as s:
        result = import_vendors(s, changed)
    assert result.updated == 1 and result.created == 0
    with northwind.read() as s:
        ge = find_vendor(s, "GE Healthcare")
        assert ge.name == "GE HEALTHCARE"
        assert [c.reference for c in ge.contracts] == ["NWH-SVC-GEHC-2026"]
        assert [p.name for p in ge.products] == ["LOGIQ E10"] and ge.reviews == []
        assert find_vendor(s, "Philips").contracts  # untouched


@pytest.mark.parametrize(("doc", "expected"), [
    ({"vendors": [{"name": "A", "products": [{"name": "P", "assets": ["NWH-MAIN/NOPE"]}]}]},
     "$.vendors[0].products[0].assets[0]: no asset 'NWH-MAIN/NOPE'"),
    ({"vendors": [{"name": "A", "contracts": [{"reference": "C", "patch_days": -3}]}]},
     "$.vendors[0].contracts[0], field 'patch_days': Input should be greater than or equal to 0"),
    ({"vendors": [{"name": "A", "remote_access": {"method": "sometimes"}}]},
     "$.vendors[0].remote_access, field 'method': Input should be 'none', 'brokered', 'on-demand' or 'always-on'"),
    ({"vendors": [{"name": "A"}, {"name": "a"}]}, "$.vendors[1], field 'name': vendor 'a' is listed twice"),
    ({"vendors": [{"name": "A", "contracts": [{"reference": "X"}, {"reference": "X"}]}]},
     "$.vendors[0].contracts: 'X' appears twice"),
    ({"vendors": [{"name": "A", "colour": "red"}]}, "$.vendors[0], field 'colour': Extra inputs are not permitted"),
    ({"format": "something-else", "vendors": []}, "field 'format'"),
])
def test_bad_files_name_the_place_and_change_nothing(northwind: Database, tmp_path: Path, doc: dict,  # type: ignore[type-arg]
                                                     expected: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(InputError) as info, northwind.transaction() as s:
        import_vendors(s, path)
    assert expected in str(info.value)
    with northwind.read() as s:
        assert s.scalar(select(func.count()).select_from(Vendor)) == 0


def test_cli_vendor_commands(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert rg("--db", sqlite_url, "init").code == 0
    assert rg("--db", sqlite_url, "inventory", "import", EXAMPLES / "northwind-inventory.yaml").code == 0
    r = rg("--db", sqlite_url, "vendor", "import", VENDORS)
    assert r.code == 0, r.err
    assert "17 vendors created" in r.out
    r = rg("--db", sqlite_url, "vendor", "list", "--json")
    rows = {v["name"]: v for v in json.loads(r.out)}
    assert rows["Example Cloud Backup"]["baa_signed"] is False
    assert rows["Softneta"]["last_review"] is None and rows["Philips"]["assets"] == 8
    r = rg("--db", sqlite_url, "vendor", "list")
    assert r.code == 0 and "Siemens Healthineers" in r.out and "17 vendors" in r.out
    r = rg("--db", sqlite_url, "vendor", "show", "hyland", "--json")
    doc = json.loads(r.out)
    assert doc["products"] == [{"name": "Acuo VNA", "assets": ["NWH-MAIN/VNA"]}]
    assert doc["last_review"] == "2026-02-18"
    r = rg("--db", sqlite_url, "vendor", "show", "Hyland")
    assert r.code == 0 and "Acuo VNA (NWH-MAIN/VNA)" in r.out
    r = rg("--db", sqlite_url, "vendor", "show", "Nobody")
    assert r.code == 3 and "no vendor 'Nobody'" in r.err
    out = tmp_path / "v.json"
    assert rg("--db", sqlite_url, "vendor", "export", out).code == 0
    assert len(json.loads(out.read_text())["vendors"]) == 17
    bad = tmp_path / "bad.yaml"
    bad.write_text("vendors:\n- name: A\n  products: [{name: P, assets: [NOPE]}]\n")
    r = rg("--db", sqlite_url, "vendor", "import", bad)
    assert r.code == 2 and "$.vendors[0].products[0].assets[0]" in r.err
