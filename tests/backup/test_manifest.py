"""Manifest format, its error messages, DICOMDIR media layouts, and the RPO/RTO arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

import pydicom
import pytest
from pydicom.fileset import FileSet

from radguard.backup.manifest import FORMAT, VERSION
from radguard.backup.timing import project_restore, recovery_point
from tests.backup.archive import make_archive


def test_manifest_lines_and_totals(rg, archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src, made = archive
    (src / "PT00000000" / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00")
    out = tmp_path / "m.jsonl"
    r = rg("backup", "manifest", src, "-o", out, "--workers", "1", "--json")
    assert r.code == 0, r.err
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert lines[0]["format"] == FORMAT and lines[0]["version"] == VERSION and lines[0]["hash"] == "sha256"
    instances = [x for x in lines if x.get("type") == "instance"]
    assert [x["sop"] for x in instances] == sorted(i.sop for i in made)
    assert set(instances[0]) == {"type", "sop", "study", "series", "class", "ts", "size", "sha256", "key"}
    problems = [x for x in lines if x.get("type") == "problem"]
    assert len(problems) == 1 and problems[0]["status"] == "corrupt"
    totals = lines[-1]
    assert totals["type"] == "totals" and totals["instances"] == 24 and totals["studies"] == 4
    assert totals["series"] == 8 and totals["problems"] == {"corrupt": 1}
    assert totals["bytes"] == sum((src / i.rel).stat().st_size for i in made)
    assert json.loads(r.out)["instances"] == 24


@pytest.mark.parametrize(("mangle", "message"), [
    (lambda t: t.rsplit("\n", 2)[0] + "\n", "no totals line: it is incomplete"),
    (lambda t: t.replace(FORMAT, "something-else", 1), "line 1, field 'format'"),
    (lambda t: t.replace('"version": 1', '"version": 99', 1), "version 99 is not supported"),
    (lambda t: t.replace('{"type": "instance"', '{"type": "instance" oops', 1), "line 2: not valid JSON"),
])
def test_damaged_manifest_is_refused_with_its_line(rg, archive, tmp_path: Path, mangle, message) -> None:  # type: ignore[no-untyped-def]
    src, _ = archive
    out = tmp_path / "m.jsonl"
    rg("backup", "manifest", src, "-o", out, "--workers", "1")
    out.write_text(mangle(out.read_text()))
    r = rg("backup", "verify", src, "--manifest", out, "--workers", "1")
    assert r.code == 2
    assert "m.jsonl" in r.err and message in r.err


def test_media_layout_with_dicomdir_and_no_extensions(rg, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A CD/DVD-style file set: DICOMDIR plus PT*/ST*/SE*/IM* files without extensions."""
    src = tmp_path / "made"
    made = make_archive(src, studies=2, series_per_study=1, per_series=2, seed=4)
    fs = FileSet()
    for inst in made:
        fs.add(pydicom.dcmread(src / inst.rel))
    media = tmp_path / "media"
    fs.write(media)
    assert (media / "DICOMDIR").exists()
    out = tmp_path / "m.jsonl"
    r = rg("backup", "manifest", media, "-o", out, "--workers", "1", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["instances"] == 4 and doc["dicomdir"] == 1 and doc["problems"] == {}
    r = rg("backup", "verify", media, "--manifest", out, "--workers", "1", "--json")
    assert r.code == 0 and json.loads(r.out)["counts"]["ok"] == 4


def test_restore_projection_arithmetic() -> None:
    # 1 GB read in 10 s = 100 MB/s; a 360 GB archive takes 3600 s = 1 h.
    p = project_restore(archive_bytes=360_000_000_000, bytes_read=1_000_000_000, elapsed_seconds=10,
                        rto_hours=4, rto_source="--rto")
    assert p.throughput_bytes_per_s == 100_000_000 and p.projected_hours == 1.0 and p.rto_met is True
    assert project_restore(360_000_000_000, 1_000_000_000, 10, 0.5).rto_met is False
    unknown = project_restore(360_000_000_000, 0, 0, 4)
    assert unknown.projected_hours is None and unknown.rto_met is None
    assert project_restore(1, 1, 1, None).rto_source is None


def test_recovery_point_arithmetic() -> None:
    rp = recovery_point("2026-11-20T10:15:00", "2026-11-19T22:15:00", rpo_hours=24)
    assert rp.lag_hours == 12.0 and rp.rpo_met is True
    assert recovery_point("2026-11-20T10:15:00", "2026-11-17T10:15:00", 24).rpo_met is False
    assert recovery_point("2026-11-20T10:15:00", "2026-11-21T00:00:00").lag_hours == 0.0  # never negative
    assert recovery_point("2026-11-20T10:15:00", None, 24).lag_hours is None
