"""Two databases the consistency suite reads every fact from, built once per session.

* ``demo``: the ``radguard demo`` scenario (Northwind Health on loopback) seeded through the
  same stage functions the demo calls, without starting the simulated network: each simulated
  node's probe document is written as discovery would store it (``discovery.merge.store_scan``).
* ``history``: the example organization with history — an endpoint open at one scan and closed
  at the next, a finding resolved by hand that the next assessment reopens, a tabletop and a
  functional drill of the same service, two organization-wide checklist versions and a newer
  site-level one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard.checks.findings import transition
from radguard.db.base import utcnow
from radguard.db.migrate import upgrade
from radguard.db.models.discovery import Scan
from radguard.db.models.findings import Finding
from radguard.db.session import Database, open_database
from radguard.demo.run import ORGANIZATION
from radguard.demo.scenario import DATA, OPEN, STRICT, DemoNode, build_scenario
from radguard.discovery.engine import Probed
from radguard.discovery.fingerprints import dicom_product
from radguard.discovery.merge import store_scan
from radguard.discovery.results import CertificateDoc, DicomDoc, EndpointDoc, HttpDoc, TlsDoc
from radguard.feeds.importer import collect_files, read_feeds
from radguard.feeds.store import store_feeds
from radguard.inventory.importer import import_inventory
from radguard.inventory.vendors import import_vendors
from radguard.readiness.checklists.assessments import AnswerInput, create_assessment, record_answer
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.checklists.report import close_assessment
from radguard.readiness.dashboard import assess
from radguard.response.drills import import_drills
from radguard.response.services import import_services
from radguard.response.team import import_team
from radguard.web.accounts import create_user
from radguard.web.app import create_app
from tests.conftest import EXAMPLES, FIXTURES
from tests.web.conftest import PASSWORD, login

SCENARIOS = ("demo", "history")


@dataclass
class World:
    name: str
    url: str
    db: Database
    client: TestClient  # signed in as a viewer


def _node_doc(node: DemoNode) -> EndpointDoc:
    """What discovery at level 3 records for a simulated node, from the node's own profile."""
    p, spec = node.profile, node.spec
    tls = TlsDoc(version="TLSv1.3", certificate=CertificateDoc(self_signed=p.self_signed)) if spec.tls else None
    if spec.kind == "dicom":
        product, version = dicom_product(spec.implementation_class_uid, spec.implementation_version_name)
        dicom = DicomDoc(implementation_class_uid=spec.implementation_class_uid,
                         implementation_version_name=spec.implementation_version_name, product=product,
                         version=version, accepts_unknown_calling_ae=p.policy == OPEN,
                         accepts_any_called_ae=p.policy != STRICT, echo=True,
                         anonymous_query=p.policy == OPEN and p.find == "anonymous")
        return EndpointDoc(host=spec.host, port=spec.port, state="open", service="dicom-tls" if spec.tls else "dicom",
                           dicom=dicom, tls=tls)
    if spec.kind == "hl7":
        return EndpointDoc(host=spec.host, port=spec.port, state="open", service="hl7-mllp")
    orthanc = p.http_mode.startswith("orthanc")
    http = HttpDoc(status=200, server="Orthanc" if orthanc else p.http_server, product="Orthanc" if orthanc else None,
                   version=p.http_version if orthanc else None,
                   auth_required=p.http_mode not in ("dicomweb-open", "orthanc-open", "viewer"),
                   dicomweb_anonymous=p.http_mode == "dicomweb-open")
    return EndpointDoc(host=spec.host, port=spec.port, state="open", service="https" if spec.tls else "http",
                       http=http, tls=tls)


def _store_probes(db: Database, docs: list[EndpointDoc], at: datetime) -> None:
    with db.transaction() as session:
        scan = Scan(started=at - timedelta(minutes=5), finished=at, level=3,
                    targets=sorted({f"{d.host}:{d.port}" for d in docs}), authorized_by="consistency suite")
        store_scan(session, scan, [Probed(d) for d in docs], None, 0)


def seed_demo(db: Database, tmp: Path) -> None:
    scenario = build_scenario(check_ports=False)
    inventory = tmp / "demo-inventory.yaml"
    inventory.write_text(scenario.inventory_yaml(), encoding="utf-8")
    with db.transaction() as session:
        import_inventory(session, inventory)
        store_feeds(session, read_feeds(collect_files([DATA / "kev-subset.json", DATA / "csaf"])))
        import_vendors(session, DATA / "northwind-vendors.yaml")
        import_team(session, DATA / "northwind-team.yaml")
        import_services(session, DATA / "northwind-services.yaml")
        import_drills(session, DATA / "northwind-drill.yaml")
    levels = (2, 1, 2, 3, 1, 2, 0, 3, 2, 1)  # as radguard.demo.run answers the checklist
    with db.transaction() as session:
        a = create_assessment(session, ORGANIZATION, "medium", created_by="radguard demo", carry_forward=False)
        for q in load_catalog().questions_for("medium"):
            digest = hashlib.sha256(q.id.encode()).digest()[0]
            record_answer(session, a, AnswerInput(question_id=q.id, value=levels[digest % len(levels)],
                                                  owner="Imaging Informatics"), answered_by="radguard demo")
    _store_probes(db, [_node_doc(n) for n in scenario.nodes], utcnow() - timedelta(minutes=30))
    with db.transaction() as session:
        assess(session)


ROUTER_DICOM = ("10.20.0.30", 4242)  # NWH-MAIN/DICOM-ROUTER in examples/northwind-inventory.yaml
ROUTER_WEB = ("10.20.0.30", 8042)
TABLETOP = """format: radguard-drills
version: 1
drills:
- key: 2026-10-ct-tabletop
  kind: tabletop
  playbook: ransomware-pacs
  date: 2026-10-20
  services: [ct-main]
  ended_at: 2026-10-20T12:00:00Z
  timeline:
  - {milestone: detected, at: 2026-10-20T09:00:00Z}
  - {milestone: systems_restored, at: 2026-10-20T09:30:00Z}
  - {milestone: back_to_normal, at: 2026-10-20T10:00:00Z}
"""


def _router(state: str, at: datetime) -> list[EndpointDoc]:
    host, port = ROUTER_DICOM
    docs = [EndpointDoc(host=ROUTER_WEB[0], port=ROUTER_WEB[1], state="open", service="http",
                        http=HttpDoc(status=200, server="Orthanc", product="Orthanc", version="1.10.1",
                                     auth_required=False))]
    if state == "open":
        docs.append(EndpointDoc(host=host, port=port, state="open", service="dicom",
                                dicom=DicomDoc(product="Orthanc", version="1.10.1", accepts_unknown_calling_ae=True,
                                               accepts_any_called_ae=True, echo=True)))
    else:
        docs.append(EndpointDoc(host=host, port=port, state="closed"))
    return docs


def _answers(db: Database, organization: str, site: str, on: date, shift: int, close: bool) -> None:
    with db.transaction() as session:
        a = create_assessment(session, organization, "medium", site_code=site, assessed_on=on, carry_forward=False)
        for i, q in enumerate(load_catalog().questions_for("medium")):
            record_answer(session, a, AnswerInput(q.id, value=min(4, (i + shift) % 4), owner="Imaging informatics"))
        if close:
            session.flush()
            close_assessment(session, a)


def seed_history(db: Database, tmp: Path) -> None:
    with db.transaction() as session:
        import_inventory(session, EXAMPLES / "northwind-inventory.yaml")
        import_team(session, EXAMPLES / "northwind-team.yaml")
        import_services(session, EXAMPLES / "northwind-services.yaml")
        import_drills(session, EXAMPLES / "northwind-drill.yaml")
        tabletop = tmp / "tabletop.yaml"
        tabletop.write_text(TABLETOP, encoding="utf-8")
        import_drills(session, tabletop)  # newer and "faster" than the functional drill, but a tabletop
        store_feeds(session, read_feeds(collect_files([FIXTURES / "feeds" / "kev-subset.json",
                                                       FIXTURES / "feeds" / "csaf"])))
    _answers(db, "Northwind Health", "", date(2026, 3, 1), 0, close=True)
    _answers(db, "Northwind Health", "", date(2026, 9, 1), 1, close=False)
    _answers(db, "Northwind Health", "NWH-OIC", date(2026, 10, 1), 3, close=False)  # newest, highest ID
    now = utcnow()
    _store_probes(db, _router("open", now - timedelta(days=2)), now - timedelta(days=2))
    with db.transaction() as session:
        assess(session, now=now - timedelta(days=2) + timedelta(minutes=1))
    with db.transaction() as session:
        # Resolved by hand while the condition is still there: the next assessment reopens it.
        finding = session.scalars(select(Finding).where(Finding.check_id == "RG-WEB-NO-AUTH")).first()
        assert finding is not None, "the open Orthanc REST API is a finding"
        transition(session, finding.id, "resolve", by="consistency suite", reason="believed fixed",
                   now=now - timedelta(days=1))
    _store_probes(db, _router("closed", now - timedelta(hours=3)), now - timedelta(hours=3))
    with db.transaction() as session:
        assess(session)


@pytest.fixture(scope="session", params=SCENARIOS)
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp(f"consistency-{request.param}")
    url = f"sqlite:///{tmp / 'radguard.db'}"
    db = open_database(url)
    upgrade(db)
    {"demo": seed_demo, "history": seed_history}[request.param](db, tmp)
    with db.transaction() as session:
        create_user(session, "viewer", PASSWORD, "viewer", "The viewer")
    app = create_app(db)
    app.state.dashboard_wait = 120.0
    client = TestClient(app, base_url="https://testserver")
    client.headers["accept"] = "text/html"
    login(client, "viewer")
    try:
        yield World(request.param, url, db, client)
    finally:
        client.close()
        db.dispose()
