"""The demo from start to finish: start the simulated network, fill a fresh database, run every
stage through its public functions, write the reports and summarise.

Each stage writes in its own transaction, as the matching command would. The network runs in a
child process that is stopped as soon as discovery is done (or kept until the caller says so),
and always on the way out — also on Ctrl-C or SIGTERM, which
:func:`radguard.cli.common.terminate_as_interrupt` turns into ``KeyboardInterrupt``.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from radguard.checks.sla import SEVERITIES
from radguard.db.base import utcnow
from radguard.db.migrate import upgrade
from radguard.db.session import Database, open_database
from radguard.demo.archive import build_archive
from radguard.demo.network import NetworkError, SimulatedNetwork
from radguard.demo.scenario import DATA, PROBE_CHECKS, SCANNER_AE, Scenario, build_scenario
from radguard.outfiles import write_file

ORGANIZATION = "Northwind Health"
STAGES = ("network", "database", "inventory", "advisories", "vendors and response", "checklist",
          "discovery", "backup", "assessment", "roadmap", "reports")

Step = Callable[[str], None]


@dataclass
class DemoOptions:
    out: Path
    db_url: str | None = None  # None: a fresh SQLite file in ``out`` (recreated every run)
    keep_running: bool = False
    pdf: bool = True  # the executive report as PDF too (the technical one stays HTML: it is long)
    # With keep_running: called at the end with the result while the network still runs; the
    # network stops when it returns (or raises KeyboardInterrupt).
    wait: Callable[[DemoResult], None] | None = None


@dataclass
class DemoResult:
    out: Path
    database: str
    reports: dict[str, str] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def _database(options: DemoOptions) -> tuple[Database, str]:
    if options.db_url:
        db = open_database(options.db_url)
        return db, db.safe_url
    path = options.out / "demo.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    db = open_database(f"sqlite:///{path}")
    return db, str(path)


def _scope_file(out: Path, scenario: Scenario) -> Path:
    now = utcnow()
    doc = {
        "authorized_by": "radguard demo",
        "reason": "simulated Northwind Health network on loopback (radguard demo)",
        "window": {"start": (now - timedelta(hours=1)).isoformat(timespec="seconds"),
                   "end": (now + timedelta(hours=1)).isoformat(timespec="seconds")},
        "targets": scenario.targets(),
        "max_level": 3,
    }
    path = out / "demo-scope.yaml"
    write_file(path, yaml.safe_dump(doc, sort_keys=False))
    return path


def _checklist_answers(db: Database) -> int:
    """A plausible medium-sized organization: mostly 'defined', some gaps, a few strengths.

    Levels come from a hash of the question ID, so every run gives the same answers.
    """
    from radguard.readiness.checklists.assessments import AnswerInput, create_assessment, record_answer
    from radguard.readiness.checklists.loader import load_catalog

    levels = (2, 1, 2, 3, 1, 2, 0, 3, 2, 1)
    catalog = load_catalog()
    with db.transaction() as session:
        assessment = create_assessment(session, ORGANIZATION, "medium", created_by="radguard demo",
                                       carry_forward=False)
        for question in catalog.questions_for("medium"):
            digest = hashlib.sha256(question.id.encode()).digest()[0]
            record_answer(session, assessment, AnswerInput(question_id=question.id, value=levels[digest % len(levels)],
                                                           owner="Imaging Informatics"),
                          answered_by="radguard demo")
        return assessment.id


def _discover(db: Database, scenario: Scenario, scope: Path) -> dict[str, Any]:
    from radguard.discovery.engine import ScanOptions
    from radguard.discovery.run import DiscoveryRequest, execute, plan

    ports = tuple(sorted({node.spec.port for node in scenario.nodes}))
    options = ScanOptions(level=3, timeout=3.0, rate=200.0, concurrency=32, per_host=2, calling_ae=SCANNER_AE)
    request = DiscoveryRequest(targets=scenario.targets(), ports=ports, level=3, scope_file=scope, options=options)
    return execute(db, plan(db, request))


def _backup(db: Database, out: Path) -> dict[str, Any]:
    from radguard.backup.run import build_manifest, verify_backup
    from radguard.backup.scan import ScanOptions
    from radguard.backup.sets import BackupSetSpec, get_set, record_verification, service_targets, upsert_set

    archive = build_archive(out / "dicom")
    state = out / "dicom" / "state"
    state.mkdir(exist_ok=True)
    options = ScanOptions(workers=1)  # no worker processes: nothing to leave behind on Ctrl-C
    manifest = out / "dicom" / "archive.radguard-manifest.jsonl"
    build_manifest(archive.source, manifest, options, restart=True, state_directory=state)
    with db.transaction() as session:
        upsert_set(session, BackupSetSpec(name="pacs-nas-replica", protects="NWH-MAIN/PACS-CORE",
                                          location=str(archive.backup), kind="local", schedule="nightly 02:00",
                                          last_success=utcnow() - timedelta(hours=20)))
    with db.read() as session:
        rto, rpo, source = service_targets(session, get_set(session, "pacs-nas-replica"))
    run = verify_backup(archive.backup, manifest, options, rto_hours=rto, rto_source=source, rpo_hours=rpo,
                        restart=True, state_directory=state)
    try:
        report = run.report
        with db.transaction() as session:
            record_verification(session, get_set(session, "pacs-nas-replica"), report)
        verdict = report.rto  # the one RTO verdict: never "met" for a damaged copy
        return {"instances": archive.instances, "counts": dict(report.counts), "all_ok": report.all_ok,
                "ransom_notes": report.ransom_notes, "damage": archive.damaged,
                "rto": None if verdict is None else {"hours": verdict.rto_hours, "verdict": verdict.state,
                                                     "words": verdict.label()}}
    finally:
        run.close()


def _reports(db: Database, out: Path, pdf: bool) -> dict[str, str]:
    from radguard.reports.build import build_report
    from radguard.reports.render import write_report

    written: dict[str, str] = {}
    with db.read() as session:
        for audience in ("executive", "technical"):
            report = build_report(session, audience)
            html = out / f"{audience}-report.html"
            write_report(report, html, "html")
            written[f"{audience}_html"] = str(html)
            if pdf and audience == "executive":  # the technical PDF takes minutes on 2 cores
                path = out / f"{audience}-report.pdf"
                write_report(report, path, "pdf")
                written[f"{audience}_pdf"] = str(path)
    return written


def probe_findings(db: Database) -> list[dict[str, Any]]:
    """Open findings of the probe-derived checks, with the asset they are on (SITE/NAME)."""
    from radguard.checks.findings import list_findings

    with db.read() as session:
        return [{"check": f.check_id, "severity": f.severity,
                 "asset": f"{f.asset.site.code}/{f.asset.name}" if f.asset is not None else None,
                 "subject": f.subject, "key": f.key,
                 "confirmed_asset": f.asset.confirmed if f.asset is not None else None}
                for f in list_findings(session, states=["open"], check_ids=sorted(PROBE_CHECKS))]


def _mean_target(domains: list[dict[str, Any]]) -> float | None:
    """The size profile's target averaged over scored domains (as the executive report shows it)."""
    targets = [float(d["target"]) for d in domains if d.get("score") is not None and d.get("target") is not None]
    return round(sum(targets) / len(targets), 2) if targets else None


def _summary(db: Database, scenario: Scenario, scan: dict[str, Any], backup: dict[str, Any],
             assessment_id: int) -> dict[str, Any]:
    from radguard.checks.findings import finding_counts
    from radguard.readiness.checklists.assessments import get_assessment
    from radguard.readiness.checklists.report import score_assessment
    from radguard.readiness.roadmap import findings_closed, top_of_roadmap
    from radguard.readiness.roadmap_store import current_roadmap

    with db.read() as session:
        severities = finding_counts(session).open_by_severity  # open includes reopened, as everywhere
        score = score_assessment(session, get_assessment(session, assessment_id))
        # The ranking the assessment stored (for the newest checklist assessment: this one), the
        # one `radguard roadmap` and the roadmap page show.
        roadmap = current_roadmap(session).doc
    open_endpoints = [e for e in scan["endpoints"] if e["state"] == "open"]
    found = probe_findings(db)
    expected = scenario.expected()
    got = {(f["asset"], f["check"]) for f in found if f["asset"]}
    overall = score["overall"]
    return {
        "nodes": {"simulated": len(scenario.nodes), "found": len(open_endpoints),
                  "services": dict(Counter(e["service"] for e in open_endpoints)),
                  "new_unconfirmed_assets": scan["counts"].get("assets_created", 0)},
        "findings": {"open": sum(severities.values()),
                     "by_severity": {s: severities.get(s, 0) for s in SEVERITIES}},
        "seeded_weaknesses": {"expected": len(expected), "found": len(expected & got),
                              "missing": sorted(f"{a} {c}" for a, c in expected - got),
                              "unexpected": sorted(f"{a} {c}" for a, c in got - expected)},
        "readiness": {"score": overall["score"], "percent": overall["percent"], "scale": "0-4",
                      "target": _mean_target(score["domains"])},
        "top_actions": [{"rank": a["rank"], "id": a["id"], "title": a["title"], "what": a["what"],
                         "findings": findings_closed(a), "horizon": a["horizon"], "owner": a["owner"]}
                        for a in top_of_roadmap(roadmap).actions],
        "backup": backup,
        "moved_ports": scenario.moved,
    }


def run_demo(options: DemoOptions, step: Step | None = None) -> DemoResult:
    """Run the whole demo; ``step(name)`` is called as each stage starts (for progress bars)."""
    say = step or (lambda _name: None)
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    started = mark = time.perf_counter()
    current = ""

    def stage(name: str) -> None:
        """Start stage ``name``: time the one that just ended, tell the progress display."""
        nonlocal mark, current
        now = time.perf_counter()
        if current:
            timings[current] = round(now - mark, 2)
        mark, current = now, name
        say(name)

    stage("network")
    scenario = build_scenario()
    network = SimulatedNetwork([node.spec for node in scenario.nodes])
    db: Database | None = None
    try:
        statuses = network.start()
        failed = [s for s in statuses if not s.ok]
        if failed:
            raise NetworkError("simulated nodes could not start: " + "; ".join(
                f"{s.name} {s.host}:{s.port} ({s.error})" for s in failed))
        stage("database")
        db, location = _database(options)
        upgrade(db)
        result = DemoResult(out=out, database=location)
        inventory_path = out / "demo-inventory.yaml"
        write_file(inventory_path, scenario.inventory_yaml())

        stage("inventory")
        from radguard.inventory.importer import import_inventory

        with db.transaction() as session:
            import_inventory(session, inventory_path)

        stage("advisories")
        from radguard.feeds.importer import collect_files, read_feeds
        from radguard.feeds.store import store_feeds

        feeds = read_feeds(collect_files([DATA / "kev-subset.json", DATA / "csaf"]))
        with db.transaction() as session:
            store_feeds(session, feeds)

        stage("vendors and response")
        from radguard.inventory.vendors import import_vendors
        from radguard.response.drills import import_drills
        from radguard.response.services import import_services
        from radguard.response.team import import_team

        with db.transaction() as session:
            import_vendors(session, DATA / "northwind-vendors.yaml")
            import_team(session, DATA / "northwind-team.yaml")
            import_services(session, DATA / "northwind-services.yaml")
            import_drills(session, DATA / "northwind-drill.yaml")

        stage("checklist")
        assessment_id = _checklist_answers(db)

        stage("discovery")
        scan = _discover(db, scenario, _scope_file(out, scenario))
        if not options.keep_running:
            network.stop()  # frees the CPU for the rest; nothing else contacts the nodes

        stage("backup")
        backup = _backup(db, out)

        stage("assessment")
        from radguard.readiness.dashboard import assess

        with db.transaction() as session:
            assess(session)

        stage("roadmap")
        result.summary = _summary(db, scenario, scan, backup, assessment_id)

        stage("reports")
        result.reports = _reports(db, out, options.pdf)
        stage("done")
        result.timings = {**timings, "total": round(time.perf_counter() - started, 2)}
        result.summary["seconds"] = result.timings["total"]
        result.summary["network"] = [{"asset": n.asset, "endpoint": n.where, "kind": n.spec.kind}
                                     for n in scenario.nodes]
        if options.keep_running and options.wait is not None:
            options.wait(result)
        return result
    finally:
        network.stop()
        if db is not None:
            db.dispose()
