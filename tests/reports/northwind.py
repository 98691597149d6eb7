"""Build the sample organization (Northwind Health) in a database, through radguard's own commands.

Inventory, imaging services, response team and drills come from ``examples/``, advisories
from the feeds stage's fixtures (a CISA KEV subset and ICSMA CSAF advisories); the assessment
runs the real check catalog; the checklist gets two versions (v1 closed, v2 open and better)
so the trend is visible; one discovery result is stored as ``probe.endpoint`` evidence.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from radguard.cli.main import run
from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Asset
from radguard.db.session import open_database
from radguard.readiness.checklists.assessments import AnswerInput, create_assessment, record_answer
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.checklists.report import close_assessment
from radguard.readiness.dashboard import rerank
from tests.conftest import EXAMPLES, FIXTURES


def cli(*args: str) -> None:
    try:
        run([str(a) for a in args])
    except SystemExit as exc:
        if exc.code:
            raise AssertionError(f"radguard {' '.join(map(str, args))} exited {exc.code}") from exc


def populate(db_url: str) -> None:
    cli("--db", db_url, "init")
    cli("--db", db_url, "inventory", "import", str(EXAMPLES / "northwind-inventory.yaml"))
    cli("--db", db_url, "team", "import", str(EXAMPLES / "northwind-team.yaml"))
    cli("--db", db_url, "services", "import", str(EXAMPLES / "northwind-services.yaml"))
    cli("--db", db_url, "drill", "import", str(EXAMPLES / "northwind-drill.yaml"))
    cli(
        "--db",
        db_url,
        "backup",
        "set",
        "add",
        "pacs-nas-replica",
        "--protects",
        "NWH-MAIN/PACS-CORE",
        "--location",
        "nas-backup-01",
        "--kind",
        "local",
        "--encrypted",
    )
    feeds = FIXTURES / "feeds"  # the advisory stage's committed fixtures (CISA KEV subset, ICSMA CSAF)
    cli("--db", db_url, "feeds", "import", str(feeds / "kev-subset.json"), str(feeds / "csaf"))
    cli("--db", db_url, "assess")
    db = open_database(db_url)
    try:
        with db.transaction() as session:
            catalog = load_catalog()
            questions = catalog.questions_for("medium")
            v1 = create_assessment(session, "Northwind Health", "medium", assessed_on=date(2026, 3, 1))
            for i, q in enumerate(questions):
                record_answer(session, v1, AnswerInput(q.id, value=i % 3, owner="Imaging informatics lead"))
            session.flush()
            close_assessment(session, v1)
            session.flush()
            v2 = create_assessment(session, "Northwind Health", "medium", assessed_on=date(2026, 9, 1))
            for i, q in enumerate(questions):
                record_answer(session, v2, AnswerInput(q.id, value=min(4, i % 3 + 1 + (i % 2))))
            pacs = session.query(Asset).filter(Asset.name == "DICOM-ROUTER").one()
            session.add(
                Evidence(
                    kind="probe.endpoint",
                    asset_id=pacs.id,
                    host="10.20.5.20",
                    port=104,
                    safety_level=1,
                    collected_at=datetime(2026, 11, 1, 9, 0, tzinfo=UTC),
                    received={
                        "host": "10.20.5.20",
                        "port": 104,
                        "state": "open",
                        "service": "dicom",
                        "dicom": {
                            "product": "DCMTK",
                            "version": "3.6.6",
                            "accepts_unknown_calling_ae": True,
                            "accepts_any_called_ae": True,
                            "echo": True,
                        },
                        "tls": None,
                        "http": None,
                        "errors": [],
                    },
                )
            )
        # The checklist answers came after the assessment: rank again, as a user would
        # (`radguard roadmap --re-rank`), so the stored roadmap and the reports agree.
        with db.transaction() as session:
            rerank(session)
    finally:
        db.dispose()
