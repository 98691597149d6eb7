"""An SBOM-imported component is matched to the advisories written about it.

The asset (an AI product) lists nothing about DCMTK in the inventory; only its SBOM says
DCMTK 3.6.6 is inside. After import, advisory matching finds ICSMA-22-174-01 (DCMTK before
3.6.7) for the asset through that component, and does not once the SBOM says 3.6.7.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from radguard.db.session import Database
from radguard.feeds.importer import read_feeds
from radguard.feeds.matching import lookup, match_assets
from radguard.feeds.store import store_feeds
from radguard.inventory.importer import import_inventory
from radguard.inventory.queries import find_asset
from radguard.inventory.sbom import import_sbom
from tests.conftest import EXAMPLES, FIXTURES

SBOMS = FIXTURES / "vendors"
ADVISORY = "ICSMA-22-174-01"


@pytest.fixture
def northwind_with_advisory(sqlite_db: Database) -> Database:
    with sqlite_db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
        store_feeds(s, read_feeds([SBOMS / "icsma-22-174-01.json"]))
    return sqlite_db


def _matches(db: Database, ref: str) -> list[str]:
    with db.read() as s:
        asset_id = find_asset(s, ref).id
        return [m.match.advisory_id for m in match_assets(s, [asset_id])
                if m.origin == "component" and m.match.status == "affected"]


@pytest.mark.parametrize("sbom", ["ai-triage.spdx.json", "router-appliance.cdx.json", "workstation.cdx.xml"])
def test_sbom_component_matches_icsma_22_174_01(northwind_with_advisory: Database, sbom: str) -> None:
    db = northwind_with_advisory
    assert _matches(db, "NWH-MAIN/AI-TRIAGE") == []  # nothing in the inventory names DCMTK
    with db.transaction() as s:
        import_sbom(s, SBOMS / sbom, "NWH-MAIN/AI-TRIAGE")
    assert _matches(db, "NWH-MAIN/AI-TRIAGE") == [ADVISORY]


def test_fixed_version_in_a_newer_sbom_clears_the_match(northwind_with_advisory: Database, tmp_path: Path) -> None:
    db = northwind_with_advisory
    with db.transaction() as s:
        import_sbom(s, SBOMS / "router-appliance.cdx.json", "NWH-MAIN/AI-TRIAGE")
    doc = json.loads((SBOMS / "router-appliance.cdx.json").read_text())
    doc["components"][0].update(version="3.6.7", cpe="cpe:2.3:a:offis:dcmtk:3.6.7:*:*:*:*:*:*:*",
                                purl="pkg:github/dcmtk/dcmtk@DCMTK-3.6.7")
    newer = tmp_path / "router-3.6.7.cdx.json"
    newer.write_text(json.dumps(doc))
    with db.transaction() as s:
        import_sbom(s, newer, "NWH-MAIN/AI-TRIAGE")
    assert _matches(db, "NWH-MAIN/AI-TRIAGE") == []
    with db.read() as s:  # the advisory itself is still there for the old version
        assert [m.advisory_id for m in lookup(s, "OFFIS", "DCMTK", "3.6.6")] == [ADVISORY]


def test_a_library_bundled_in_two_versions_matches_through_the_old_one(northwind_with_advisory: Database,
                                                                       tmp_path: Path) -> None:
    """DCMTK 3.6.7 and 3.6.6 side by side: the inventory keeps both, and 3.6.6 still matches."""
    db = northwind_with_advisory
    doc = json.loads((SBOMS / "router-appliance.cdx.json").read_text())
    fixed = dict(doc["components"][0], version="3.6.7", cpe="cpe:2.3:a:offis:dcmtk:3.6.7:*:*:*:*:*:*:*",
                 purl="pkg:github/dcmtk/dcmtk@DCMTK-3.6.7")
    fixed.pop("components", None)
    fixed["bom-ref"] = "dcmtk-3.6.7"
    doc["components"].insert(0, fixed)  # listed first: the old key kept only this one
    both = tmp_path / "router-both.cdx.json"
    both.write_text(json.dumps(doc))
    with db.transaction() as s:
        result = import_sbom(s, both, "NWH-MAIN/AI-TRIAGE")
        versions = sorted(c.version or "" for c in find_asset(s, "NWH-MAIN/AI-TRIAGE").components
                          if c.product.lower() == "dcmtk")
    assert versions == ["3.6.6", "3.6.7"]
    assert result.duplicates == [{"vendor": "OFFIS", "product": "DCMTK", "versions": ["3.6.7", "3.6.6"]}]
    assert _matches(db, "NWH-MAIN/AI-TRIAGE") == [ADVISORY]
    with db.transaction() as s:  # re-importing the same document changes nothing
        again = import_sbom(s, both, "NWH-MAIN/AI-TRIAGE")
    assert (again.created, again.updated, again.removed) == (0, 0, 0)
