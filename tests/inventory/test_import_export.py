"""Inventory import and export: natural keys, round trips and all-or-nothing errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from radguard.db.models.inventory import AETitle, Asset, DataFlow, Endpoint, Site, SoftwareComponent
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.inventory.exporter import export_inventory
from radguard.inventory.importer import import_inventory
from tests.conftest import EXAMPLES

SAMPLE = EXAMPLES / "northwind-inventory.yaml"


def counts(db: Database) -> dict[str, int]:
    with db.read() as s:
        return {m.__tablename__: s.scalar(select(func.count()).select_from(m)) or 0
                for m in (Site, Asset, Endpoint, AETitle, SoftwareComponent, DataFlow)}


def test_sample_imports_and_reimport_updates(database: Database) -> None:
    with database.transaction() as s:
        r = import_inventory(s, SAMPLE)
    assert r.assets_created == 40 and r.sites_created == 2 and r.flows == 11
    first = counts(database)
    with database.transaction() as s:
        r = import_inventory(s, SAMPLE)
    assert r.assets_created == 0 and r.assets_updated == 40
    assert counts(database) == first
    with database.read() as s:
        classes = set(s.scalars(select(Asset.asset_class)))
    assert classes == {"modality", "pacs", "vna", "ai_application", "cloud_service", "reporting",
                       "workstation", "remote_access", "integration_engine", "network_device", "other"}


@pytest.mark.parametrize("fmt", ["csv", "json", "yaml"])
def test_export_import_round_trip_is_exact(database: Database, tmp_path: Path, fmt: str,
                                           sqlite_url: str) -> None:
    from radguard.db.migrate import upgrade
    from radguard.db.session import open_database

    with database.transaction() as s:
        import_inventory(s, SAMPLE)
    first = tmp_path / f"first.{fmt}"
    with database.read() as s:
        assert export_inventory(s, first) == 40
    other = open_database(sqlite_url)
    upgrade(other)
    with other.transaction() as s:
        import_inventory(s, first)
    second = tmp_path / f"second.{fmt}"
    with other.read() as s:
        export_inventory(s, second)
    assert first.read_bytes() == second.read_bytes()
    if fmt != "csv":  # CSV carries no data flows by design
        assert counts(other) == counts(database)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


HEADER = "site,site_name,name,class,endpoints,criticality,end_of_support\n"
GOOD = "MAIN,Main,CT-1,modality,dicom://10.0.0.1:104,4,2030-01-01\n"


@pytest.mark.parametrize(
    ("name", "text", "where", "field"),
    [
        ("missing.csv", "site,name\nMAIN,CT-1\n", "line 1", "class"),
        ("badclass.csv", HEADER + GOOD + "MAIN,Main,X,toaster,,,\n", "row 2", "class"),
        ("badip.csv", HEADER + GOOD + "MAIN,Main,X,pacs,dicom://10.0.0.300:104,,\n", "row 2", "endpoints"),
        ("badport.csv", HEADER + GOOD + "MAIN,Main,X,pacs,dicom://10.0.0.3:70000,,\n", "row 2", "endpoints"),
        ("baddate.csv", HEADER + GOOD + "MAIN,Main,X,pacs,,,2030-13-45\n", "row 2", "end_of_support"),
        ("dup.csv", HEADER + GOOD + GOOD, "row 2", "name"),
        ("nosite.csv", "site,name,class\nNOWHERE,X,pacs\n", "row 1", "site"),
        ("crit.csv", HEADER + "MAIN,Main,X,pacs,,9,\n", "row 1", "criticality"),
    ],
)
def test_bad_csv_is_refused_with_location_and_nothing_written(
    database: Database, tmp_path: Path, name: str, text: str, where: str, field: str
) -> None:
    before = counts(database)
    path = write(tmp_path, name, text)
    with pytest.raises(InputError) as info, database.transaction() as s:
        import_inventory(s, path)
    msg = str(info.value)
    assert name in msg and where in msg and field in msg, msg
    assert counts(database) == before


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("trunc.json", '{"sites": [{"code": "A", "name": "A"}], "assets": [{"site": "A", "na', "truncated"),
        ("trunc.yaml", "sites:\n  - code: A\n    name: [A\n", "line"),
        ("latin1.csv", b"site,site_name,name,class\nMAIN,Main,Caf\xe9,pacs\n", "UTF-8"),
        ("empty.json", b"", "empty"),
        ("empty.csv", b"", "empty"),
        ("path.json", json.dumps({"sites": [{"code": "A", "name": "A"}],
                                   "assets": [{"site": "A", "name": "P", "class": "pacs"},
                                              {"site": "A", "name": "Q", "class": "pacs",
                                               "endpoints": [{"host": "h", "port": 0, "protocol": "dicom"}]}]}),
         "$.assets[1]"),
        ("unknownsite.yaml", "assets:\n  - {site: B, name: X, class: pacs}\n", "unknown site"),
    ],
)
def test_bad_documents(database: Database, tmp_path: Path, name: str, content: str | bytes, needle: str) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(InputError) as info, database.transaction() as s:
        import_inventory(s, path)
    assert needle in str(info.value) and name in str(info.value)
    assert counts(database)["asset"] == 0


def test_failed_reimport_leaves_previous_data_intact(database: Database, tmp_path: Path) -> None:
    with database.transaction() as s:
        import_inventory(s, SAMPLE)
    before = counts(database)
    with database.read() as s:
        export_inventory(s, tmp_path / "all.csv")
    lines = (tmp_path / "all.csv").read_text().splitlines()
    lines[1] = lines[1].replace("CT-ED-1", "CT-ED-RENAMED", 1)
    lines.append(lines[-1].replace("modality", "spaceship", 1) if "modality" in lines[-1] else lines[-1] + "x")
    bad = write(tmp_path, "bad.csv", "\n".join(lines) + "\n")
    with pytest.raises(InputError), database.transaction() as s:
        import_inventory(s, bad)
    assert counts(database) == before
    with database.read() as s:
        assert s.scalar(select(Asset).where(Asset.name == "CT-ED-RENAMED")) is None


def test_reimport_keeps_discovered_endpoints(database: Database, tmp_path: Path) -> None:
    path = write(tmp_path, "a.csv", HEADER + GOOD)
    with database.transaction() as s:
        import_inventory(s, path)
    with database.transaction() as s:
        asset = s.scalar(select(Asset))
        assert asset is not None
        s.add(Endpoint(asset_id=asset.id, host="10.0.0.1", port=4242, protocol="dicom", source="discovery"))
    with database.transaction() as s:
        import_inventory(s, path)
    with database.read() as s:
        eps = sorted((e.port, e.source) for e in s.scalars(select(Endpoint)))
    assert eps == [(104, "import"), (4242, "discovery")]


def test_json_with_sites_after_assets_streams_and_imports(sqlite_db: Database, tmp_path: Path) -> None:
    doc = ('{"assets": [{"site": "Z", "name": "A1", "class": "pacs"}, {"site": "Z", "name": "A2", "class": "vna"}],'
           ' "data_flows": [{"from": "Z/A1", "to": "Z/A2", "protocol": "dicom"}],'
           ' "sites": [{"code": "Z", "name": "Zed"}]}')
    path = write(tmp_path, "late-sites.json", doc)
    with sqlite_db.transaction() as s:
        r = import_inventory(s, path)
    assert (r.sites_created, r.assets_created, r.flows) == (1, 2, 1)
    bad = write(tmp_path, "late-bad.json", doc.replace('"vna"', '"vnaa"'))
    with pytest.raises(InputError) as info, sqlite_db.transaction() as s:
        import_inventory(s, bad)
    assert "$.assets[1]" in str(info.value) and "class" in str(info.value)


def test_one_library_in_two_versions_is_two_components(database: Database, tmp_path: Path) -> None:
    """Two versions of one product are kept (advisories differ by version); one version twice is refused."""
    two = {"sites": [{"code": "A", "name": "A"}],
           "assets": [{"site": "A", "name": "P", "class": "pacs",
                       "software": [{"vendor": "OFFIS", "product": "DCMTK", "version": "3.6.6"},
                                    {"vendor": "OFFIS", "product": "DCMTK", "version": "3.6.7"}]}]}
    with database.transaction() as s:
        import_inventory(s, write(tmp_path, "two.json", json.dumps(two)))
    assert counts(database)["software_component"] == 2
    two["assets"][0]["software"][1]["version"] = "3.6.6"  # type: ignore[index]
    with pytest.raises(InputError) as info, database.transaction() as s:
        import_inventory(s, write(tmp_path, "twice.json", json.dumps(two)))
    assert "software OFFIS DCMTK 3.6.6 is listed twice" in str(info.value) and "$.assets[0]" in str(info.value)
