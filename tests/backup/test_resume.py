"""A run stopped by Ctrl-C or killed outright resumes where it stopped and gives the same result."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from radguard.backup.run import build_manifest, state_dir, verify_backup
from radguard.backup.scan import BATCH, ScanOptions
from tests.backup.archive import make_archive


def test_ctrl_c_then_resume_gives_the_same_report(archive, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    src, made = archive
    manifest = tmp_path / "m.jsonl"
    build_manifest(src, manifest, ScanOptions(workers=1))
    backup = tmp_path / "backup"
    import shutil

    shutil.copytree(src, backup)
    (backup / made[5].rel).unlink()
    seen: list[int] = []

    def interrupt_after_first_batch(done: int, _bytes: int) -> None:
        seen.append(done)
        raise KeyboardInterrupt

    # BATCH is 64 files, so use a tiny batch to stop part-way through this 24-file archive.
    import radguard.backup.scan as scan_module

    original = scan_module.BATCH
    scan_module.BATCH = 5
    try:
        with pytest.raises(KeyboardInterrupt):
            verify_backup(backup, manifest, ScanOptions(workers=1), progress=interrupt_after_first_batch)
    finally:
        scan_module.BATCH = original
    assert seen == [5]
    leftovers = list(state_dir().glob("verify-*.radguard-state.sqlite"))
    assert len(leftovers) == 1  # the side file survived the interruption

    run = verify_backup(backup, manifest, ScanOptions(workers=1))
    try:
        assert run.report.resumed_from == 5
        assert run.report.files_checked == len(made) - 1
        assert run.report.counts["ok"] == len(made) - 1 and run.report.counts["missing"] == 1
    finally:
        run.close()
    assert not list(state_dir().glob("verify-*.radguard-state.sqlite*"))  # removed once reported


# The child dies by SIGKILL right after its first batch is committed to the side file: a hook
# installed in the child only (ScanState.add wrapped), so nothing test-only lives in radguard and
# the kill point does not depend on how fast the machine is.
SCRIPT = """
import os
import signal
import sys
from pathlib import Path
from radguard.backup.run import build_manifest
from radguard.backup.scan import ScanOptions
from radguard.backup.state import ScanState

commit_batch = ScanState.add

def commit_then_die(self, *args, **kwargs):
    commit_batch(self, *args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)

ScanState.add = commit_then_die
build_manifest(Path(sys.argv[1]), Path(sys.argv[2]), ScanOptions(workers=1, deep=True))
"""


def test_kill_9_then_resume(tmp_path: Path, rg) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "src"
    made = make_archive(src, studies=30, series_per_study=2, per_series=10, seed=5)  # 600 files
    out = tmp_path / "m.jsonl"
    env = {**os.environ, "XDG_CACHE_HOME": os.environ["XDG_CACHE_HOME"]}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(src), str(out)], env=env, check=False)
    assert proc.returncode == -signal.SIGKILL
    [side] = state_dir().glob("manifest-*.radguard-state.sqlite")
    with sqlite3.connect(f"file:{side}?mode=ro", uri=True) as conn:
        assert conn.execute("SELECT count(*) FROM files").fetchone()[0] == BATCH  # exactly one batch survived
    assert not out.exists()  # nothing half-written
    r = rg("backup", "manifest", src, "-o", out, "--workers", "2", "--json")
    assert r.code == 0, r.err
    doc = json.loads(r.out)
    assert doc["resumed_from_files"] == BATCH
    assert doc["instances"] == len(made)
    lines = out.read_text().splitlines()
    assert len(lines) == len(made) + 2  # header, one line per instance, totals


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid``, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has stopped; only its parent's reaping is left


@pytest.mark.parametrize("command", ["verify", "manifest"])
def test_workers_die_with_a_parent_killed_by_sigkill(tmp_path: Path, command: str) -> None:
    """#23: workers outlived a `kill -9` of radguard and kept reading the archive."""
    import time

    src = tmp_path / "src"
    made = make_archive(src, studies=1, series_per_study=1, per_series=1, seed=6)
    manifest = tmp_path / "m.jsonl"
    build_manifest(src, manifest, ScanOptions(workers=1))
    big = tmp_path / "big"  # 12,000 files (hard links: no disk space), read with --deep: a long run
    for d in range(24):
        folder = big / f"d{d:02d}"
        folder.mkdir(parents=True)
        for i in range(500):
            os.link(src / made[0].rel, folder / f"IM{i:04d}")
    args = (["backup", "verify", str(big), "--manifest", str(manifest)] if command == "verify"
            else ["backup", "manifest", str(big), "-o", str(tmp_path / "big.jsonl")])
    proc = subprocess.Popen([sys.executable, "-m", "radguard.cli.main", *args, "--workers", "2", "--deep"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            workers = _children(proc.pid)
        assert len(workers) == 2, "the workers never started"
        time.sleep(0.5)  # busy reading
        assert proc.poll() is None, "the run ended before it could be killed: make the archive bigger"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 5
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [w for w in workers if _alive(w)] == []
    finally:  # never leave a process of this test behind, whatever failed
        for pid in [proc.pid, *workers]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
