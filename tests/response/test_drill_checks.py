"""The response checks, called directly and through ``assess``: drill actions become findings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from radguard.checks.loader import Catalog, default_catalog
from radguard.checks.registry import CheckContext, load_evaluators
from radguard.db.models.findings import Finding
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.readiness.dashboard import assess
from radguard.response.drills import Recording, import_drills, record_drill
from tests.response.test_services import seed

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)
RESPONSE_CHECKS = ("RG-DRILL-OVERDUE", "RG-RTO-UNPROVEN", "RG-DRILL-ACTION-OPEN", "RG-TEAM-GAP")


def observe(database: Database, check_id: str, now: datetime = NOW) -> dict[tuple[str | None, str], str | None]:
    with database.read() as session:
        return {(o.subject, o.key): o.summary for o in load_evaluators()[check_id](CheckContext(session, now))}


def test_drill_overdue(sqlite_db: Database, tmp_path: Path) -> None:
    with sqlite_db.transaction() as session:
        seed(session)
    found = observe(sqlite_db, "RG-DRILL-OVERDUE")
    # Ransomware was drilled in March 2026; the tabletop of December is only planned.
    assert set(found) == {(f"playbook:{p}", "") for p in (
        "compromised-modality", "vendor-outage", "reporting-outage", "network-isolation", "image-exfiltration")}
    # A year and a day later the March drill no longer counts.
    later = observe(sqlite_db, "RG-DRILL-OVERDUE", datetime(2027, 3, 19, tzinfo=UTC))
    assert ("playbook:ransomware-pacs", "") in later
    assert "last drilled on 2026-03-18" in (later[("playbook:ransomware-pacs", "")] or "")


def test_drill_overdue_skips_playbooks_without_matching_assets(sqlite_db: Database, tmp_path: Path) -> None:
    inventory = tmp_path / "inv.yaml"
    inventory.write_text("format: radguard-inventory\nversion: 1\nsites:\n- {code: S, name: Small clinic}\n"
                         "assets:\n- {site: S, name: US-1, class: modality, modality_type: US}\n")
    with sqlite_db.transaction() as session:
        import_inventory(session, inventory)
    # Only a modality: no PACS, AI, reporting or network device playbooks apply.
    assert set(observe(sqlite_db, "RG-DRILL-OVERDUE")) == {
        ("playbook:compromised-modality", ""), ("playbook:image-exfiltration", "")}


def test_rto_unproven(sqlite_db: Database, tmp_path: Path) -> None:
    with sqlite_db.transaction() as session:
        seed(session)
    found = observe(sqlite_db, "RG-RTO-UNPROVEN")
    assert set(found) == {("service:ct-main", ""), ("service:emergency-reads", ""),
                          ("service:mammo-screening", ""), ("service:oic-imaging", "")}
    assert "6.5 h" in (found[("service:ct-main", "")] or "")
    assert "never demonstrated" in (found[("service:oic-imaging", "")] or "")
    # A full-scale drill restoring the outpatient center within its 24 h RTO proves it.
    drill = tmp_path / "d.yaml"
    drill.write_text("""format: radguard-drills
version: 1
drills:
- key: oic-full
  kind: full-scale
  playbook: ransomware-pacs
  date: 2026-09-01
  services: [oic-imaging]
  ended_at: 2026-09-01T20:00:00Z
  timeline:
  - {milestone: detected, at: 2026-09-01T07:00:00Z}
  - {milestone: systems_restored, at: 2026-09-01T19:00:00Z}
""")
    with sqlite_db.transaction() as session:
        import_drills(session, drill)
    assert ("service:oic-imaging", "") not in observe(sqlite_db, "RG-RTO-UNPROVEN")


def test_open_drill_actions(sqlite_db: Database) -> None:
    with sqlite_db.transaction() as session:
        seed(session)
    found = observe(sqlite_db, "RG-DRILL-ACTION-OPEN")
    # Action 2 of the March drill is done; action 1 is open and overdue since June.
    assert list(found) == [("drill:2026-03-ransomware-functional", "action-1")]
    assert "overdue since 2026-06-30" in (found[("drill:2026-03-ransomware-functional", "action-1")] or "")
    with sqlite_db.transaction() as session:
        record_drill(session, "2026-03-ransomware-functional", Recording(done=[1]), NOW.date())
    assert observe(sqlite_db, "RG-DRILL-ACTION-OPEN") == {}


def _response_catalog() -> Catalog:
    full = default_catalog()
    return Catalog(entries={cid: full.entries[cid] for cid in RESPONSE_CHECKS})


def test_drill_action_becomes_a_finding_and_closes(database: Database) -> None:
    with database.transaction() as session:
        seed(session)
        result = assess(session, now=NOW, catalog=_response_catalog())
    assert result.observed_by_check["RG-DRILL-ACTION-OPEN"] == 1
    with database.read() as session:
        finding = session.scalar(select(Finding).where(Finding.check_id == "RG-DRILL-ACTION-OPEN"))
        assert finding is not None
        assert (finding.subject, finding.key, finding.state) == (
            "drill:2026-03-ransomware-functional", "action-1", "open")
        assert finding.evidence["owner_role"] == "it_security"
        assert session.scalar(select(Finding).where(Finding.check_id == "RG-RTO-UNPROVEN",
                                                    Finding.subject == "service:ct-main")) is not None
    # Closing the action in a drill record mitigates the finding on the next assessment.
    with database.transaction() as session:
        record_drill(session, "2026-03-ransomware-functional", Recording(done=[1]), NOW.date())
        result = assess(session, now=NOW, catalog=_response_catalog())
    assert result.mitigated == 1
    with database.read() as session:
        finding = session.scalar(select(Finding).where(Finding.check_id == "RG-DRILL-ACTION-OPEN"))
        assert finding is not None and finding.state == "mitigated"


def test_catalog_entries_are_loaded_with_their_evaluators() -> None:
    catalog = default_catalog()
    for cid in RESPONSE_CHECKS:
        assert cid in catalog
        spec = catalog.spec(cid)
        assert spec is not None and spec.evidence_kind == ["readiness"]
