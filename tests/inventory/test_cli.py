"""The inventory commands as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import EXAMPLES


def test_import_list_show_export(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert rg("--db", sqlite_url, "init").code == 0
    r = rg("--db", sqlite_url, "inventory", "import", EXAMPLES / "northwind-inventory.yaml")
    assert r.code == 0, r.err
    assert "40 assets created" in r.out
    r = rg("--db", sqlite_url, "inventory", "list", "--site", "NWH-OIC", "--class", "modality", "--json")
    rows = json.loads(r.out)
    assert {a["name"] for a in rows} == {"OIC-CT", "OIC-MR", "OIC-US", "OIC-MG", "OIC-DEXA"}
    r = rg("--db", sqlite_url, "inventory", "show", "NWH-MAIN/DICOM-ROUTER", "--json")
    doc = json.loads(r.out)
    assert doc["software"][0] == {"vendor": "OFFIS", "product": "DCMTK", "version": "3.6.6", "cpe": None, "purl": None}
    r = rg("--db", sqlite_url, "inventory", "show", "NOPE")
    assert r.code == 3 and "no asset" in r.err
    out = tmp_path / "inv.json"
    assert rg("--db", sqlite_url, "inventory", "export", out).code == 0
    assert len(json.loads(out.read_text())["assets"]) == 40


def test_bad_file_exit_code_and_message(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rg("--db", sqlite_url, "init")
    bad = tmp_path / "bad.csv"
    bad.write_text("site,site_name,name,class\nMAIN,Main,CT,modality\nMAIN,Main,X,blender\n")
    r = rg("--db", sqlite_url, "inventory", "import", bad)
    assert r.code == 2
    assert "bad.csv, row 2 (line 3), field 'class'" in r.err
    r = rg("--db", sqlite_url, "inventory", "list", "--json")
    assert json.loads(r.out) == []
