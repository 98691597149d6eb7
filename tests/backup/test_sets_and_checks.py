"""Backup sets in the database (both engines) and the four backup checks, positive and negative."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from radguard.checks.registry import CheckContext, Observation, load_evaluators
from radguard.db.models.backup import BackupSet, BackupVerification
from radguard.db.models.inventory import Asset, Site
from radguard.db.session import Database

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def observe(session: Session, check_id: str) -> dict[str, Observation]:
    session.flush()
    ctx = CheckContext(session, NOW, {})
    out: dict[str, Observation] = {}
    for obs in load_evaluators()[check_id](ctx):
        label = f"asset:{session.get(Asset, obs.asset_id).name}" if obs.asset_id else str(obs.subject)  # type: ignore[union-attr]
        out[label] = obs
    return out


def _site_with_pacs(s: Session) -> Asset:
    site = Site(code="MAIN", name="Main campus")
    pacs = Asset(site=site, name="PACS", asset_class="pacs")
    s.add_all([site, pacs])
    s.flush()
    return pacs


def _set(s: Session, name: str, asset: Asset | None, **kw: object) -> BackupSet:
    defaults: dict[str, object] = {"protects": asset.name if asset else "OLD-ARCHIVE", "location": "x", "kind": "local",
                                   "media": "disk", "offsite": False, "immutable": False, "offline": False,
                                   "encrypted": False}
    defaults.update(kw)
    row = BackupSet(name=name, asset_id=asset.id if asset else None, **defaults)
    s.add(row)
    s.flush()
    return row


def test_321_and_immutability(database: Database) -> None:
    with database.transaction() as s:
        pacs = _site_with_pacs(s)
        found = observe(s, "RG-BACKUP-321")
        assert found["asset:PACS"].summary == "no backup set recorded"
        assert "asset:PACS" in observe(s, "RG-BACKUP-NOT-IMMUTABLE")
        _set(s, "nas", pacs)
        assert observe(s, "RG-BACKUP-321")["asset:PACS"].summary == "2 copies, one medium, no offsite copy"
        _set(s, "cloud", pacs, kind="cloud", media="object", offsite=True)
        assert "asset:PACS" not in observe(s, "RG-BACKUP-321")
        assert "asset:PACS" in observe(s, "RG-BACKUP-NOT-IMMUTABLE")
        cloud = s.query(BackupSet).filter_by(name="cloud").one()
        cloud.immutable = True
        assert observe(s, "RG-BACKUP-NOT-IMMUTABLE") == {}
        # A set protecting an archive that is not in the inventory is judged on its own label.
        _set(s, "legacy-tape", None, kind="tape", media="tape", offline=True)
        legacy = observe(s, "RG-BACKUP-321")["archive:OLD-ARCHIVE"]
        assert legacy.evidence == {"copies": 2, "media": ["disk", "tape"], "offsite_sets": [],
                                   "sets": ["legacy-tape"]}
        assert "archive:OLD-ARCHIVE" not in observe(s, "RG-BACKUP-NOT-IMMUTABLE")


def test_unverified_and_errors(database: Database) -> None:
    with database.transaction() as s:
        pacs = _site_with_pacs(s)
        nas = _set(s, "nas", pacs)
        assert observe(s, "RG-BACKUP-UNVERIFIED")["backup_set:nas"].summary == "never verified"
        assert observe(s, "RG-BACKUP-ERRORS") == {}
        nas.last_verified_at = NOW - timedelta(days=120)
        assert observe(s, "RG-BACKUP-UNVERIFIED")["backup_set:nas"].summary == "last verified 2026-07-24"
        nas.last_verified_at = NOW - timedelta(days=10)
        assert observe(s, "RG-BACKUP-UNVERIFIED") == {}

        def run(at: datetime, counts: dict[str, int]) -> None:
            s.add(BackupVerification(
                backup_set_id=nas.id, started_at=at, finished_at=at, complete=True, expected_instances=10,
                files_checked=10, counts=counts, not_checked={}, bytes_read=3_000_000_000, elapsed_seconds=10,
                throughput_bytes_per_s=3e8, archive_bytes=3_000_000_000, projected_restore_hours=0.003,
                rto_hours=None, rto_met=None, rpo_achieved_hours=None, rpo_hours=None,
                all_ok=all(v == 0 for k, v in counts.items() if k != "ok")))
            s.flush()
            s.expire(nas)

        run(NOW - timedelta(days=20), {"ok": 8, "encrypted": 2, "missing": 0})
        found = observe(s, "RG-BACKUP-ERRORS")["backup_set:nas"]
        assert found.evidence["counts"] == {"encrypted": 2} and found.exposure == 0.9
        run(NOW - timedelta(days=19), {"ok": 8, "missing": 1, "polyglot": 1, "ransom_note": 3})
        found = observe(s, "RG-BACKUP-ERRORS")["backup_set:nas"]
        assert found.exposure == 1.0 and found.summary == "3 ransom note, 1 polyglot, 1 missing"
        run(NOW - timedelta(days=2), {"ok": 10, "missing": 0})
        assert observe(s, "RG-BACKUP-ERRORS") == {}  # only the newest run counts


def test_set_cli_add_import_list_and_verify_records_run(rg, sqlite_url: str, tmp_path: Path, archive) -> None:  # type: ignore[no-untyped-def]
    assert rg("--db", sqlite_url, "init").code == 0
    r = rg("--db", sqlite_url, "backup", "set", "add", "nas", "--protects", "PACS", "--location", "nas01:/pacs",
           "--kind", "local", "--schedule", "nightly")
    assert r.code == 0, r.err
    sets_file = tmp_path / "sets.yaml"
    sets_file.write_text(
        "backup_sets:\n"
        "  - {name: cloud, protects: PACS, location: s3://pacs-copy, kind: cloud, immutable: true}\n"
        "  - {name: tape, protects: PACS, location: vault, kind: tape, offline: true, offsite: true}\n")
    r = rg("--db", sqlite_url, "backup", "set", "import", sets_file)
    assert r.code == 0 and "2 backup sets created" in r.out, r.err
    bad = tmp_path / "bad.yaml"
    bad.write_text("backup_sets:\n  - {name: x, protects: P, location: l, kind: floppy}\n")
    r = rg("--db", sqlite_url, "backup", "set", "import", bad)
    assert r.code == 2 and "bad.yaml, $.backup_sets[0], field 'kind'" in r.err

    src, made = archive
    backup = tmp_path / "backup"
    shutil.copytree(src, backup)
    (backup / made[0].rel).unlink()
    manifest = tmp_path / "m.jsonl"
    rg("backup", "manifest", src, "-o", manifest, "--workers", "1")
    r = rg("--db", sqlite_url, "backup", "verify", src, "--manifest", manifest, "--set", "nas", "--rto", "0.0000001",
           "--workers", "1")
    assert r.code == 0 and "misses the RTO" in " ".join(r.out.split())  # a complete copy, too slow
    # A copy with an instance missing: fast enough, but a restore from it cannot meet any RTO.
    r = rg("--db", sqlite_url, "backup", "verify", backup, "--manifest", manifest, "--set", "nas", "--rto", "1000",
           "--workers", "1")
    assert r.code == 1
    words = " ".join(r.out.split())
    assert "does not meet the RTO of 1000 h: the copy is incomplete (1 missing)" in words
    assert "meets the RTO" not in words
    r = rg("--db", sqlite_url, "backup", "set", "list", "--json")
    sets = {s["name"]: s for s in json.loads(r.out)}
    assert sets["cloud"]["media"] == "object" and sets["cloud"]["offsite"] is True
    assert sets["tape"]["media"] == "tape" and sets["tape"]["offline"] is True
    last = sets["nas"]["last_verification"]
    assert last["all_ok"] is False and last["counts"]["missing"] == 1 and last["rto_met"] is False
    assert last["rto_verdict"] == "incomplete" and last["rto_label"] == "not met: copy incomplete"
    from radguard.db.models.backup import BackupVerification
    from radguard.db.session import open_database

    db = open_database(sqlite_url)
    with db.read() as session:
        stored = [(v.rto_met, v.ransom_notes) for v in
                  session.query(BackupVerification).order_by(BackupVerification.id)]
    db.dispose()
    assert stored == [(False, []), (False, [])]
    assert sets["nas"]["last_verified_at"] is not None
    r = rg("--db", sqlite_url, "backup", "verify", backup, "--manifest", manifest, "--set", "nope")
    assert r.code == 3 and "no backup set named 'nope'" in r.err


def test_rto_from_imaging_services(rg, sqlite_url: str, tmp_path: Path, archive) -> None:  # type: ignore[no-untyped-def]
    """With no --rto, the tightest RTO of the services that depend on the archive applies."""
    from radguard.db.models.response import ImagingService, ServiceDependency
    from radguard.db.session import open_database

    rg("--db", sqlite_url, "init")
    db = open_database(sqlite_url)
    with db.transaction() as s:
        pacs = _site_with_pacs(s)
        s.add(ImagingService(key="ed-ct", name="ED CT reads", rto_hours=2, rpo_hours=1,
                             dependencies=[ServiceDependency(asset_id=pacs.id, function="storage")]))
        s.add(ImagingService(key="outpatient", name="Outpatient", rto_hours=48, rpo_hours=24,
                             dependencies=[ServiceDependency(asset_id=pacs.id, function="storage")]))
    db.dispose()
    rg("--db", sqlite_url, "backup", "set", "add", "nas", "--protects", "MAIN/PACS", "--location", "l",
       "--kind", "local")
    src, _ = archive
    manifest = tmp_path / "m.jsonl"
    rg("backup", "manifest", src, "-o", manifest, "--workers", "1")
    r = rg("--db", sqlite_url, "backup", "verify", src, "--manifest", manifest, "--set", "nas", "--json",
           "--workers", "1")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["restore"]["rto_hours"] == 2 and report["restore"]["rto_source"] == "service:ed-ct"
    assert report["restore"]["rto_met"] is True
    assert report["rpo"]["rpo_hours"] == 1 and report["rpo"]["lag_hours"] == 0


def test_set_import_refuses_non_utf8_yaml_by_line(rg, sqlite_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Regression: a Latin-1 sets file used to crash with a UnicodeDecodeError traceback."""
    assert rg("--db", sqlite_url, "init").code == 0
    bad = tmp_path / "sets.yaml"
    bad.write_bytes("backup_sets:\n  - {name: nas, protects: PACS, location: 'bâtiment B', kind: local}\n"
                    .encode("latin-1"))
    r = rg("--db", sqlite_url, "backup", "set", "import", bad)
    assert r.code == 2 and "sets.yaml, line 2: not UTF-8 text; save the file as UTF-8" in r.err, r.err
    assert "Traceback" not in r.err
    broken = tmp_path / "broken.yaml"
    broken.write_text("backup_sets:\n  - {name: nas, protects: PACS\n")
    r = rg("--db", sqlite_url, "backup", "set", "import", broken)
    assert r.code == 2 and "broken.yaml, line 3, column 1: not valid YAML" in r.err, r.err
    assert json.loads(rg("--db", sqlite_url, "backup", "set", "list", "--json").out) == []


def test_report_names_ransom_notes_first_and_never_says_rto_met_for_an_incomplete_copy(database: Database) -> None:
    """The resilience section of the reports reads the same verdict as the CLI (rto_verdict)."""
    from radguard.reports.scope import Scope
    from radguard.reports.sections.resilience import resilience_section

    with database.transaction() as s:
        pacs = _site_with_pacs(s)
        for name, counts, notes in (("compromised", {"ok": 10, "missing": 1, "ransom_note": 4},
                                     [{"name": "README_FOR_DECRYPT.txt", "files": 4}]),
                                    ("sound", {"ok": 11}, [])):
            bs = _set(s, name, pacs)
            s.add(BackupVerification(
                backup_set_id=bs.id, started_at=NOW, finished_at=NOW, complete=True, expected_instances=11,
                files_checked=11, counts=counts, ransom_notes=notes, not_checked={}, bytes_read=10**9,
                elapsed_seconds=10, throughput_bytes_per_s=1e8, archive_bytes=10**9, projected_restore_hours=0.003,
                rto_hours=4.0, rto_met=True, rpo_achieved_hours=None, rpo_hours=None, all_ok=not notes))
    with database.read() as s:
        rows = {b.name: b for b in resilience_section(Scope(s, now=NOW)).backups}
    bad = rows["compromised"]
    assert bad.result == "RANSOM NOTE found (README_FOR_DECRYPT.txt (4 copies)): copy compromised"
    assert bad.detail.index("4 ransom note") < bad.detail.index("1 missing")
    assert "(not met: copy incomplete)" in bad.detail and "(met)" not in bad.detail
    assert rows["sound"].result == "all checks passed" and "vs RTO 4 h (met)" in rows["sound"].detail
    assert rows["sound"].detail.startswith("11 of 11 instances restorable; restore < 0.1 h")
