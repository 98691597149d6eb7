"""`radguard demo` run for real, once, as a user would run it: a subprocess with its own home.

The shared run uses ``--keep-running --json``: the summary arrives on stdout while the simulated
network is still up, so the same run also proves the network stays reachable and that Ctrl-C
stops it without leaving a process behind. The assertions then read the demo's own database,
not only its summary, and compare every probe-derived finding with the weaknesses the scenario
seeded: each one found on the right asset, none invented.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from radguard.db.models.evidence import Evidence
from radguard.db.models.findings import Finding
from radguard.db.models.inventory import Asset, Site
from radguard.db.session import open_database
from radguard.demo.scenario import PROBE_CHECKS, build_scenario
from radguard.readiness.roadmap import build_roadmap, top_of_roadmap
from tests.demo.readme import README, SCREENSHOT, readme_mismatches, render_screenshot, screenshot_mismatches

ROOT = Path(__file__).resolve().parents[2]


def demo_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RADGUARD_DB"}
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"), XDG_CACHE_HOME=str(home / ".cache"),
               COLUMNS="120", NO_COLOR="1", PYTHONUNBUFFERED="1")
    return env


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (read from /proc, no psutil needed)."""
    out: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...; comm may contain spaces, so split after the last ')'.
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == pid:
            out.append(int(entry.name))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return state[state.rfind(")") + 2] != "Z"


def wait_gone(pid: int, within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return not alive(pid)


def network_child(demo: subprocess.Popen[str], within: float = 90.0) -> int:
    """The simulated network's process, once the demo has started it."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        for pid in children_of(demo.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"radguard.demo.network" in cmdline:
                return pid
        if demo.poll() is not None:
            raise AssertionError(f"the demo exited ({demo.returncode}) before starting its network")
        time.sleep(0.05)
    raise AssertionError("the demo did not start its network")


@dataclass
class DemoRun:
    out: Path
    summary: dict[str, Any]
    reachable_while_kept: bool
    network_pid: int
    exit_code: int
    stderr: str


def read_json_document(stream: Any) -> dict[str, Any]:
    """Read one indented JSON document (print_json's format) without waiting for EOF."""
    lines: list[str] = []
    for line in stream:
        lines.append(line)
        if line.rstrip("\n") == "}":
            break
    return dict(json.loads("".join(lines)))


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    base = tmp_path_factory.mktemp("demo")
    out = base / "radguard-demo"
    out.mkdir()
    (out / "demo.db").write_bytes(b"not a database: a run must replace it, not reuse it")
    proc = subprocess.Popen(
        [sys.executable, "-m", "radguard.cli.main", "demo", "--out", str(out), "--keep-running", "--json"],
        cwd=base, env=demo_env(base / "home"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        network_pid = network_child(proc)
        assert proc.stdout is not None
        summary = read_json_document(proc.stdout)
        assert proc.stderr is not None
        for line in proc.stderr:  # wait for the invitation to press Ctrl-C
            if "press Ctrl-C" in line:
                break
        first = next(n for n in summary["network"] if n["kind"] == "dicom")
        host, port = first["endpoint"].rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5):
            reachable = True
        proc.send_signal(signal.SIGINT)
        _stdout, stderr = proc.communicate(timeout=60)
        yield DemoRun(out, summary, reachable, network_pid, proc.returncode, stderr)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def probe_findings(out: Path) -> list[tuple[str | None, str, bool | None]]:
    db = open_database(f"sqlite:///{out / 'demo.db'}")
    try:
        with db.read() as session:
            sites = {s.id: s.code for s in session.scalars(select(Site))}
            rows = session.execute(
                select(Finding.check_id, Asset.name, Asset.site_id, Asset.confirmed)
                .outerjoin(Asset, Asset.id == Finding.asset_id)
                .where(Finding.check_id.in_(PROBE_CHECKS), Finding.state == "open")
            ).all()
    finally:
        db.dispose()
    return [(f"{sites[site]}/{name}" if name else None, check, confirmed) for check, name, site, confirmed in rows]


def test_every_seeded_weakness_is_found_on_its_asset(demo_run: DemoRun) -> None:
    expected = build_scenario(check_ports=False).expected()
    found = {(asset, check) for asset, check, _ in probe_findings(demo_run.out)}
    assert expected, "the scenario seeds weaknesses"
    assert {c for _, c in expected} == set(PROBE_CHECKS), "every probe-derived check is exercised"
    assert sorted(expected - found) == []
    # A few by name, so a broken scenario cannot hide behind a broken expectation.
    for asset, check in [("NWH-MAIN/PACS-CORE", "RG-DICOM-ANON-QUERY"), ("NWH-MAIN/VNA", "RG-TLS-WEAK"),
                         ("NWH-MAIN/DICOM-ROUTER", "RG-WEB-NO-AUTH"), ("NWH-OIC/OIC-MINIPACS", "RG-WEB-NO-AUTH"),
                         ("NWH-MAIN/HL7-ENGINE", "RG-HL7-CLEARTEXT"), ("NWH-MAIN/MR-2", "RG-DICOM-ANY-CALLED-AE"),
                         ("NWH-MAIN/TELERAD-GW", "RG-DICOM-ANY-CALLING-AE")]:
        assert (asset, check) in found


def test_nothing_is_invented(demo_run: DemoRun) -> None:
    expected = build_scenario(check_ports=False).expected()
    rows = probe_findings(demo_run.out)
    assert all(asset is not None for asset, _, _ in rows), "every finding is on an inventory asset"
    assert all(confirmed for _, _, confirmed in rows), "no finding on an asset discovery had to invent"
    found = {(asset, check) for asset, check, _ in rows}
    assert sorted(found - expected) == []
    # Well-configured nodes stay clean: strict AE checking and the VNA's TLS port.
    assert not {c for a, c in found if a == "NWH-MAIN/CT-2"} & {"RG-DICOM-ANY-CALLING-AE", "RG-DICOM-ANY-CALLED-AE"}
    assert ("NWH-MAIN/VNA", "RG-DICOM-NO-TLS") not in found
    assert ("NWH-OIC/OIC-WEBVIEWER", "RG-WEB-NO-AUTH") not in found


def test_summary_matches_the_database(demo_run: DemoRun) -> None:
    s = demo_run.summary
    assert s["nodes"]["found"] == s["nodes"]["simulated"] == len(build_scenario(check_ports=False).nodes)
    assert s["nodes"]["new_unconfirmed_assets"] == 0
    assert s["seeded_weaknesses"]["missing"] == [] and s["seeded_weaknesses"]["unexpected"] == []
    db = open_database(f"sqlite:///{demo_run.out / 'demo.db'}")
    try:
        with db.read() as session:
            open_count = len(session.scalars(select(Finding.id).where(Finding.state == "open")).all())
            probes = session.scalars(select(Evidence).where(Evidence.kind == "probe.endpoint")).all()
            assert {p.safety_level for p in probes} == {3}
            assert all(p.host is not None and p.host.startswith("127.") for p in probes)
            roadmap = build_roadmap(session)
    finally:
        db.dispose()
    assert s["findings"]["open"] == sum(s["findings"]["by_severity"].values()) == open_count
    assert 0 < s["readiness"]["score"] < 4
    assert len(s["top_actions"]) == 5
    # The demo's top five are the roadmap's (and so the executive report's and the dashboard's).
    assert [a["id"] for a in s["top_actions"]] == [a["id"] for a in top_of_roadmap(roadmap).actions]
    assert [a["rank"] for a in s["top_actions"]] == [1, 2, 3, 4, 5]
    backup = s["backup"]["counts"]
    assert (backup["missing"], backup["altered"], backup["corrupt"]) == (1, 1, 1)
    assert backup["ok"] == s["backup"]["instances"] - 3
    # The damaged copy restores fast, but it is incomplete: the RTO is never "met" (issue #22).
    assert s["backup"]["rto"] == {"hours": 2.0, "verdict": "incomplete", "words": "not met: copy incomplete"}
    assert s["backup"]["ransom_notes"] == []


def test_readme_quotes_what_the_demo_prints(demo_run: DemoRun) -> None:
    """The README's demo summary is this run's, line for line (only the time and path may differ)."""
    assert readme_mismatches(README.read_text(encoding="utf-8"), demo_run.summary) == []


def test_readme_screenshot_is_page_one_of_the_demo_report(demo_run: DemoRun) -> None:
    """The README's picture is page 1 of this run's executive PDF (pdftoppm at 96 dpi).

    The choice: compare what the picture was rendered from, not its pixels. The PNG carries the
    text of the page it was made from (pdftotext -layout, dates masked: the report is dated the
    day it runs); this run's page 1 must have the same text, and a fresh render the same size.
    Fonts or anti-aliasing cannot flake that, while a changed number, title or chart label fails
    it. ``RADGUARD_DOC_SCREENSHOTS=1`` writes the picture again from this run."""
    pdf = Path(demo_run.summary["reports"]["executive_pdf"])
    if os.environ.get("RADGUARD_DOC_SCREENSHOTS") == "1":
        render_screenshot(pdf, SCREENSHOT)
    assert screenshot_mismatches(pdf) == []


def test_reports_are_written(demo_run: DemoRun) -> None:
    reports = demo_run.summary["reports"]
    executive = Path(reports["executive_html"]).read_text(encoding="utf-8")
    technical = Path(reports["technical_html"]).read_text(encoding="utf-8")
    assert "Northwind" in executive
    assert "RG-DICOM-ANON-QUERY" in technical and "127.20.0.10" in technical
    assert Path(reports["executive_pdf"]).read_bytes().startswith(b"%PDF")


def test_keep_running_then_ctrl_c_leaves_no_process(demo_run: DemoRun) -> None:
    assert demo_run.reachable_while_kept
    assert demo_run.exit_code == 0, demo_run.stderr
    assert "stopping the simulated network" in demo_run.stderr
    assert wait_gone(demo_run.network_pid)
    assert not (demo_run.out / "demo.db-journal").exists()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_interrupted_demo_leaves_no_process(sig: signal.Signals, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "radguard.cli.main", "demo", "--out", str(tmp_path / "out"), "--json"],
        cwd=tmp_path, env=demo_env(tmp_path / "home"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        child = network_child(proc)
        proc.send_signal(sig)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if sig != signal.SIGKILL:
        assert proc.returncode == 130, err
        assert "interrupted" in err
    assert wait_gone(child), f"the simulated network (pid {child}) outlived the demo after {sig.name}"
    assert children_of(proc.pid) == []


@pytest.mark.postgres
def test_db_option_loads_the_demo_into_that_database(pg_server: str, tmp_path: Path, rg: Any) -> None:
    """With --db the demo uses the named database (here PostgreSQL) and creates no demo.db."""
    from tests.support.postgres import create_database

    url = create_database(pg_server)
    result = rg("demo", "--out", str(tmp_path / "out"), "--db", url, "--json")
    assert result.code == 0, result.err
    summary = json.loads(result.out)
    assert summary["seeded_weaknesses"]["found"] == summary["seeded_weaknesses"]["expected"] > 0
    assert summary["seeded_weaknesses"]["unexpected"] == []
    assert summary["database"].startswith("postgresql")
    assert not (tmp_path / "out" / "demo.db").exists()
    db = open_database(url)
    try:
        with db.read() as session:
            open_count = len(session.scalars(select(Finding.id).where(Finding.state == "open")).all())
    finally:
        db.dispose()
    assert open_count == summary["findings"]["open"]
