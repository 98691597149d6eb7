"""Storing feeds on both engines: idempotent re-imports, replacement of revised advisories."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import func, select

from radguard.db.models.feeds import Advisory, AdvisoryProduct, CveRecord, FeedImport, KevEntry
from radguard.db.session import Database
from tests.feeds.conftest import CSAF, KEV, NVD, import_paths


def count(db: Database, model: type) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_import_is_idempotent_and_recorded(database: Database) -> None:
    first = import_paths(database, CSAF, KEV, NVD)
    assert first.advisories_added == 13 + 2  # 13 CSAF, 2 NVD CVEs with CPE configurations
    assert first.kev_added == 13 and first.cves_added == 2
    before = {m: count(database, m) for m in (Advisory, AdvisoryProduct, KevEntry, CveRecord, FeedImport)}
    again = import_paths(database, CSAF, KEV, NVD)
    assert again.advisories_added == 0 and again.advisories_unchanged == 15
    assert again.kev_added == again.kev_updated == 0 and again.cves_added == again.cves_updated == 0
    assert {m: count(database, m) for m in before} == before
    with database.read() as s:
        kev = s.scalar(select(FeedImport).where(FeedImport.source == "kev"))
        assert kev is not None and kev.version == "2025.08.25" and kev.records == 13
        assert kev.released_at is not None and kev.released_at.year == 2025
        assert kev.last_imported_at >= kev.imported_at
        eternal = s.scalar(select(KevEntry).where(KevEntry.cve_id == "CVE-2017-0144"))
        assert eternal is not None and eternal.ransomware == "Known"


def test_revised_advisory_replaces_products(database: Database, tmp_path: Path) -> None:
    import_paths(database, CSAF / "icsma-22-174-01.json")
    doc = json.loads((CSAF / "icsma-22-174-01.json").read_text())
    doc["document"]["tracking"]["version"] = "2"
    doc["product_tree"]["branches"][0]["branches"][0]["branches"][0]["name"] = "< 3.6.8"
    revised = tmp_path / "icsma-22-174-01.json"
    revised.write_text(json.dumps(doc))
    summary = import_paths(database, revised)
    assert summary.advisories_updated == 1
    with database.read() as s:
        (adv,) = s.scalars(select(Advisory)).all()
        assert adv.revision == "2"
        assert [p.version_text for p in adv.products] == ["< 3.6.8"]
        assert len(adv.vulnerabilities) == 3
    assert count(database, AdvisoryProduct) == 1


def test_nvd_records_are_recognised_across_pages(database: Database, tmp_path: Path) -> None:
    import_paths(database, NVD)
    page = json.loads(NVD.read_text())
    page["vulnerabilities"] = page["vulnerabilities"][:1]
    page["timestamp"] = "2026-11-02T00:00:00.000"
    other = tmp_path / "page-2.json"
    other.write_text(json.dumps(page))
    summary = import_paths(database, other)
    assert summary.advisories_unchanged == 1 and summary.cves_updated == 0
    assert count(database, FeedImport) == 2


def test_lookup_on_both_engines(database: Database) -> None:
    from radguard.feeds.matching import lookup

    import_paths(database, CSAF / "icsma-22-174-01.json", NVD)
    with database.read() as s:
        assert {m.advisory_id for m in lookup(s, "OFFIS", "DCMTK", "3.6.6")} == {"ICSMA-22-174-01", "CVE-2022-2119"}
        assert lookup(s, "OFFIS", "DCMTK", "3.6.7") == []
