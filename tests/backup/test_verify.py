"""Every verification status, each produced by a real damage inflicted on a copy of an archive."""

from __future__ import annotations

import json
import os
import random
import shutil
from pathlib import Path

import pydicom

from radguard.backup.run import build_manifest
from radguard.backup.scan import ScanOptions
from tests.backup.archive import Instance, make_archive

DEFLATED = "image_dfl.dcm"


def _pick(made: list[Instance], study_index: int, exclude: set[str]) -> Instance:
    """An instance of the given study whose pixels are plain bytes (not inside a deflate stream)."""
    for inst in made:
        if inst.rel.startswith(f"PT00{study_index:06d}/") and inst.template != DEFLATED and inst.sop not in exclude:
            exclude.add(inst.sop)
            return inst
    raise AssertionError("archive too small for the test")


def _damage(backup: Path, made: list[Instance], tmp_path: Path) -> dict[str, Instance]:
    used: set[str] = set()
    victims = {name: _pick(made, i % 3, used) for i, name in
               enumerate(["deleted", "truncated", "flipped", "rewritten", "locked", "zeroed", "polyglot"])}
    (backup / victims["deleted"].rel).unlink()
    path = backup / victims["truncated"].rel
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 200])
    path = backup / victims["flipped"].rel
    data = bytearray(path.read_bytes())
    data[-40] ^= 0xFF  # Pixel Data is the last element of every template
    path.write_bytes(bytes(data))
    path = backup / victims["rewritten"].rel
    ds = pydicom.dcmread(path)
    ds.InstitutionName = "Rewritten Hospital"
    ds.save_as(path)
    path = backup / victims["locked"].rel
    path.unlink()
    path.with_name(path.name + ".locked").write_bytes(random.Random(7).randbytes(len(data)))
    (backup / victims["zeroed"].rel).write_bytes(b"")
    path = backup / victims["polyglot"].rel  # CVE-2019-11687: a PE header in the preamble
    path.write_bytes(b"MZ\x90\x00" + path.read_bytes()[4:])
    (backup / "PT00000000" / "README_FOR_DECRYPT.txt").write_text(
        "All your files are encrypted. Pay to get them back.\n")
    (backup / "PT00000001" / "README_FOR_DECRYPT.txt").write_text(
        "All your files are encrypted. Pay to get them back.\n")
    # Move a whole patient folder elsewhere: found by UID, so still ok.
    (backup / "moved").mkdir()
    shutil.move(str(backup / "PT00000003"), str(backup / "moved" / "PT00000003"))
    # One unrelated instance that the source never had.
    other = make_archive(tmp_path / "other", studies=1, series_per_study=1, per_series=1, seed=9)
    shutil.copy(tmp_path / "other" / other[0].rel, backup / "moved" / "stray.dcm")
    victims["extra"] = other[0]
    return victims


def test_every_status_from_real_damage(rg, archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src, made = archive
    manifest = tmp_path / "archive.radguard-manifest.jsonl"
    r = rg("backup", "manifest", src, "-o", manifest, "--workers", "2")
    assert r.code == 0, r.err
    backup = tmp_path / "backup"
    shutil.copytree(src, backup)
    victims = _damage(backup, made, tmp_path)

    r = rg("backup", "verify", backup, "--manifest", manifest, "--json", "--workers", "2", "--rto", "8")
    assert r.code == 1, r.err  # problems found
    report = json.loads(r.out)
    assert report["counts"] == {"ransom_note": 2, "polyglot": 1, "ok": 17, "missing": 1, "extra": 1, "altered": 2,
                                "corrupt": 1, "encrypted": 1, "empty": 1, "unreadable": 0}
    assert next(iter(report)) == "ransom_notes" and next(iter(report["counts"])) == "ransom_note"  # named first
    assert report["ransom_notes"] == [{"name": "README_FOR_DECRYPT.txt", "files": 2}]
    assert [i["status"] for i in report["items"][:3]] == ["ransom_note", "ransom_note", "polyglot"]
    assert report["restore"]["rto_met"] is False and report["restore"]["rto_verdict"] == "incomplete"
    by_sop = {i["sop"]: i for i in report["items"] if i.get("sop")}
    assert by_sop[victims["deleted"].sop]["status"] == "missing"
    assert by_sop[victims["truncated"].sop]["status"] == "corrupt"
    assert "cut short" in by_sop[victims["truncated"].sop]["reason"]
    assert by_sop[victims["flipped"].sop]["status"] == "altered"
    assert by_sop[victims["rewritten"].sop]["status"] == "altered"
    assert by_sop[victims["locked"].sop]["status"] == "encrypted"
    assert ".locked" in by_sop[victims["locked"].sop]["reason"]
    assert by_sop[victims["zeroed"].sop]["status"] == "empty"
    assert by_sop[victims["extra"].sop]["status"] == "extra"
    assert by_sop[victims["polyglot"].sop]["status"] == "polyglot"
    assert "CVE-2019-11687" in by_sop[victims["polyglot"].sop]["reason"]
    notes = [i for i in report["items"] if i["status"] == "ransom_note"]
    assert [n["name"] for n in notes] == ["README_FOR_DECRYPT.txt"] * 2 and all(n["sop"] is None for n in notes)

    human = rg("backup", "verify", backup, "--manifest", manifest, "--workers", "2", "--rto", "8")
    assert human.code == 1
    first = human.out.strip().splitlines()[0]
    assert "RANSOM NOTE in the backup: README_FOR_DECRYPT.txt (2 copies)" in first
    assert "meets the RTO" not in human.out and "every instance is ok" not in human.out
    assert "does not meet the RTO of 8 h: the copy is incomplete (2 ransom note, 1 polyglot, 1 missing" in \
        " ".join(human.out.split())
    moved = [i for i in made if i.rel.startswith("PT00000003/")]
    assert moved and all(i.sop not in by_sop for i in moved)
    assert report["all_ok"] is False
    assert report["expected_instances"] == 24


def test_identical_copy_is_ok_and_exit_zero(rg, archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src, made = archive
    backup = tmp_path / "backup"
    shutil.copytree(src, backup)
    # --against builds the manifest from the source itself.
    r = rg("backup", "verify", backup, "--against", src, "--json", "--workers", "1")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["counts"]["ok"] == len(made) == 24
    assert report["items"] == []
    assert report["not_checked"] == {"directories": 0, "files": 0, "directory_reasons": []}


def test_no_patient_identifiers_anywhere(rg, archive, tmp_path: Path, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    src, made = archive
    manifest = tmp_path / "m.jsonl"
    assert rg("--db", sqlite_url, "init").code == 0
    assert rg("--db", sqlite_url, "backup", "set", "add", "nas", "--protects", "PACS", "--location", "nas01",
              "--kind", "local").code == 0
    outputs = [rg("backup", "manifest", src, "-o", manifest, "--workers", "1")]
    backup = tmp_path / "backup"
    shutil.copytree(src, backup)
    _damage(backup, made, tmp_path)
    outputs.append(rg("--db", sqlite_url, "backup", "verify", backup, "--manifest", manifest, "--set", "nas",
                      "--workers", "1"))
    outputs.append(rg("backup", "verify", backup, "--manifest", manifest, "--json", "--workers", "1"))
    outputs.append(rg("--db", sqlite_url, "backup", "set", "list", "--json"))
    written = [manifest.read_text()] + [o.out + o.err for o in outputs]
    db_dump = "\n".join(_sqlite_dump(sqlite_url))
    newest = max(i.study_date for i in made)
    for text in [*written, db_dump]:
        for inst in made:
            assert inst.patient_name not in text and inst.patient_name.replace("^", " ") not in text
            assert inst.patient_id not in text  # also proves folder names (patient IDs) are not printed
            if inst.study_date != newest:  # only the newest study date, as an aggregate, may appear
                assert inst.study_date not in text
                assert f"{inst.study_date[:4]}-{inst.study_date[4:6]}-{inst.study_date[6:]}" not in text
        assert "19470312" not in text and "1947-03-12" not in text
    assert newest not in db_dump and f"{newest[:4]}-{newest[4:6]}-{newest[6:]}" not in db_dump


def _sqlite_dump(url: str) -> list[str]:
    import sqlite3

    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_paths_only_on_request(rg, archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src, made = archive
    manifest = tmp_path / "m.jsonl"
    rg("backup", "manifest", src, "-o", manifest, "--workers", "1")
    backup = tmp_path / "backup"
    shutil.copytree(src, backup)
    (backup / made[0].rel).write_bytes(b"")
    r = rg("backup", "verify", backup, "--manifest", manifest, "--json", "--paths", "--workers", "1")
    items = json.loads(r.out)["items"]
    assert items == [{"status": "empty", "sop": made[0].sop, "study": made[0].study, "series": made[0].series,
                      "sop_class": items[0]["sop_class"], "expected_size": items[0]["expected_size"],
                      "reason": "zero bytes", "path": made[0].rel}]


def test_rpo_lag_from_newest_studies(rg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The backup lacks the two most recent studies: it is 48 hours behind the source."""
    src = tmp_path / "src"
    made = make_archive(src, studies=5, series_per_study=1, per_series=1, seed=3)
    backup = tmp_path / "backup"
    shutil.copytree(src, backup)
    for inst in made[:2]:  # studies 0 and 1 are the newest (day 0 and day -1)
        (backup / inst.rel).unlink()
    manifest = tmp_path / "m.jsonl"
    rg("backup", "manifest", src, "-o", manifest, "--workers", "1")
    r = rg("backup", "verify", backup, "--manifest", manifest, "--json", "--workers", "1", "--rpo", "24")
    rpo = json.loads(r.out)["rpo"]
    assert rpo["source_newest_study"] == "2026-11-20T10:15:00"
    assert rpo["backup_newest_study"] == "2026-11-18T10:15:00"
    assert rpo["lag_hours"] == 48.0 and rpo["rpo_met"] is False


# root reads everything; dropping the capabilities that bypass file permissions makes them bite.
NO_DAC_OVERRIDE = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--inh-caps", "-all"]


def test_unreadable_directory_and_file_are_reported(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    src, made = archive
    backup = tmp_path / "backup"
    shutil.copytree(src, backup)
    manifest = tmp_path / "m.jsonl"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache2")}
    build_manifest(src, manifest, ScanOptions(workers=1))
    (backup / made[0].rel).chmod(0o000)
    locked_dir = backup / "PT00000001"
    n_locked = sum(1 for i in made if i.rel.startswith("PT00000001/"))
    locked_dir.chmod(0o000)
    try:
        proc = subprocess.run(
            [*NO_DAC_OVERRIDE, sys.executable, "-m", "radguard.cli.main", "backup", "verify", str(backup),
             "--manifest", str(manifest), "--json", "--workers", "2"],
            env=env, capture_output=True, text=True, check=False,
        )
    finally:
        locked_dir.chmod(0o755)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(proc.stdout)
    assert report["not_checked"]["directories"] == 1
    assert report["not_checked"]["files"] == 1
    assert report["counts"]["unreadable"] == 1
    assert report["counts"]["missing"] == n_locked  # what was under the unreadable folder
    assert report["counts"]["ok"] == len(made) - n_locked - 1
    assert any("Permission denied" in r for r in report["not_checked"]["directory_reasons"])
    items = [i for i in report["items"] if i["status"] == "unreadable"]
    assert items[0]["sop"] == made[0].sop and "Permission denied" in items[0]["reason"]


def test_hostile_ransom_note_names_are_shown_safely(rg, archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A note's name is the attacker's: bytes that are not UTF-8, console markup and control characters."""
    src, _ = archive
    manifest = tmp_path / "m.jsonl"
    assert rg("backup", "manifest", src, "-o", manifest, "--workers", "1").code == 0
    backup = tmp_path / "backup"
    shutil.copytree(src, backup)
    name = b"[red]HOW_TO_DECRYPT_\xff\x1b[2J.txt"
    with open(os.path.join(os.fsencode(backup), name), "wb") as fh:
        fh.write(b"pay in bitcoin")
    r = rg("backup", "verify", backup, "--manifest", manifest, "--workers", "1", "--paths")
    assert r.code == 1 and "Traceback" not in r.err
    assert "RANSOM NOTE in the backup: [red]HOW_TO_DECRYPT_\ufffd?[2J.txt" in r.out and "\x1b" not in r.out
    report = json.loads(rg("backup", "verify", backup, "--manifest", manifest, "--workers", "1", "--json").out)
    assert report["ransom_notes"] == [{"name": "[red]HOW_TO_DECRYPT_\ufffd?[2J.txt", "files": 1}]
