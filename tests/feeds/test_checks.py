"""RG-KEV and RG-ADVISORY: a positive and a negative case each, and their catalog entries."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import select

from radguard.checks.findings import advisory_detail, finding_record
from radguard.checks.loader import default_catalog
from radguard.checks.registry import CheckContext, load_evaluators
from radguard.checks.snapshot import load_snapshot
from radguard.checks.spec import CheckSpec
from radguard.db.models.findings import Finding
from radguard.db.models.inventory import Asset, Site, SoftwareComponent
from radguard.db.session import Database
from radguard.feeds.matching import match_assets
from radguard.readiness.dashboard import assess

CATALOG = Path(__file__).resolve().parents[2] / "src" / "radguard" / "checks" / "catalog" / "advisories.yaml"


def seed(db: Database) -> dict[str, int]:
    with db.transaction() as s:
        site = Site(code="S", name="Site")
        portal = Asset(site=site, name="PORTAL", asset_class="pacs", network_zone="corporate",
                       remote_access="always-on")
        portal.components.append(SoftwareComponent(vendor="Philips", product="IntelliSpace Portal", version="8.0.2"))
        router = Asset(site=site, name="ROUTER", asset_class="integration_engine", network_zone="imaging-restricted")
        router.components.append(SoftwareComponent(vendor="OFFIS", product="DCMTK", version="3.6.6"))
        clean = Asset(site=site, name="CLEAN", asset_class="integration_engine", network_zone="imaging-restricted")
        clean.components.append(SoftwareComponent(vendor="OFFIS", product="DCMTK", version="3.6.7"))
        unsure = Asset(site=site, name="UNSURE", asset_class="modality", vendor="Philips",
                       product="HDI 4000 Ultrasound Systems", software_version="2.0")
        s.add_all([portal, router, clean, unsure])
        s.flush()
        return {a.name: a.id for a in (portal, router, clean, unsure)}


def run(db: Database, check: str, settings: dict | None = None) -> list:  # type: ignore[type-arg]
    with db.read() as s:
        return list(load_evaluators()[check](CheckContext(s, settings=settings)))


def test_kev_positive_and_negative(feeds_db: Database) -> None:
    ids = seed(feeds_db)
    obs = run(feeds_db, "RG-KEV")
    assert [(o.asset_id, o.key) for o in obs] == [(ids["PORTAL"], "ICSMA-18-058-02")]
    (o,) = obs
    assert o.exploit == {"kev": True, "ransomware": True}
    assert o.exposure == 0.9  # always-on remote access
    assert o.evidence["component"] == "Philips IntelliSpace Portal 8.0.2"
    assert o.evidence["matched_range"] == "vers:all/*" and "8.0.x" in o.evidence["interpreted_range"]
    assert "CVE-2017-0144" in o.evidence["cves"] and o.evidence["cves"] == o.evidence["kev_cves"]
    assert o.evidence["kev"] is True and o.evidence["ransomware"] is True


def test_advisory_positive_and_negative(feeds_db: Database) -> None:
    ids = seed(feeds_db)
    obs = {(o.asset_id, o.key): o for o in run(feeds_db, "RG-ADVISORY")}
    router = obs[(ids["ROUTER"], "ICSMA-22-174-01")]
    assert router.exploit == {"kev": False, "ransomware": False}
    assert router.exposure == 0.4
    assert router.evidence["version"] == "3.6.6" and router.evidence["matched_range"] == "< 3.6.7"
    assert set(router.evidence["cves"]) == {"CVE-2022-2119", "CVE-2022-2120", "CVE-2022-2121"}
    assert router.evidence["kev_cves"] == []
    assert (ids["PORTAL"], "ICSMA-18-058-02") in obs
    assert not any(a == ids["CLEAN"] for a, _ in obs)  # 3.6.7 is fixed
    assert not any(a == ids["UNSURE"] for a, _ in obs)  # needs review is not a finding by default
    keys = [k for k in obs if k[0] == ids["ROUTER"]]
    assert len(keys) == len(set(keys))  # one observation per (asset, advisory)


def test_needs_review_can_be_opted_in(feeds_db: Database) -> None:
    ids = seed(feeds_db)
    obs = run(feeds_db, "RG-ADVISORY", {"parameters": {"advisories_include_needs_review": True}})
    unsure = [o for o in obs if o.asset_id == ids["UNSURE"]]
    assert unsure and unsure[0].evidence["status"] == "needs_review"


def test_no_feeds_no_observations(sqlite_db: Database) -> None:
    seed(sqlite_db)
    assert run(sqlite_db, "RG-KEV") == [] and run(sqlite_db, "RG-ADVISORY") == []


def test_catalog_entries_validate() -> None:
    doc = yaml.safe_load(CATALOG.read_text())
    specs = [CheckSpec.model_validate(c) for c in doc["checks"]]
    assert [s.id for s in specs] == ["RG-KEV", "RG-ADVISORY"]
    assert set(load_evaluators()) >= {"RG-KEV", "RG-ADVISORY"}


def test_finding_show_adds_the_advisory_detail_from_the_feed(rg, feeds_db: Database) -> None:  # type: ignore[no-untyped-def]
    """Evidence keeps CVE IDs; the detail view adds scores, KEV listing and the vendor's fix."""
    ids = seed(feeds_db)
    with feeds_db.transaction() as s:
        assess(s, catalog=default_catalog())
    with feeds_db.read() as s:
        finding = s.scalar(select(Finding).where(Finding.check_id == "RG-ADVISORY", Finding.asset_id == ids["ROUTER"],
                                                 Finding.key == "ICSMA-22-174-01"))
        assert finding is not None
        plain = finding_record(finding)
        shown = finding_record(finding, events=True)
        evidence = dict(finding.evidence)
    assert "advisory" not in plain and "remediations" not in plain["evidence"]
    detail = shown["advisory"]
    assert detail["advisory_id"] == "ICSMA-22-174-01" and detail["status"] == "affected"
    assert {c["id"] for c in detail["cves"]} == set(evidence["cves"])
    assert all(isinstance(c["cvss"], float) and c["kev"] is False for c in detail["cves"])
    assert any("3.6.7" in r for r in detail["remediations"])
    with feeds_db.read() as s:  # the advisory no longer matches this version: no detail, evidence stays
        assert advisory_detail(s, {**evidence, "version": "3.6.7"}) is None
    r = rg("--db", feeds_db.url, "findings", "show", str(shown["id"]))
    assert r.code == 0, r.err
    assert "advisory: ICSMA-22-174-01 (affected)" in r.out and "CVE-2022-2119 CVSS" in r.out and "fix: " in r.out


def test_matching_from_the_snapshot_equals_matching_from_the_database(feeds_db: Database) -> None:
    seed(feeds_db)
    with feeds_db.read() as s:
        from_db = match_assets(s)
        from_snapshot = match_assets(s, assets=load_snapshot(s))
    assert from_db and from_snapshot == from_db
