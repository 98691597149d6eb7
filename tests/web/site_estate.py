"""Two sites' distinctive rows for the per-site role tests (#20): what each site holds, and its markers.

Northwind's two sites hold a row of every kind a page, an API answer or a report can show —
assets (NWH-OIC's are all named ``OIC-…`` at 10.60.…), findings, a service, a drill, a backup
set, a sensor and its job, a schedule, probes, observed flows, a checklist assessment and a user
— each named so that a marker in a body says which site it came from.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from radguard.backup.sets import BackupSetSpec, upsert_set
from radguard.db.models.evidence import Evidence
from radguard.db.models.findings import Finding
from radguard.db.models.inventory import Asset, Endpoint, Site
from radguard.db.models.sensors import Sensor, SensorJob
from radguard.db.models.web import User
from radguard.db.session import Database
from radguard.discovery.probes import PROBE_KIND
from radguard.distributed.schedules import add_schedule
from radguard.inventory.importer import import_inventory
from radguard.passive.store import FLOW_KIND
from radguard.readiness.checklists.assessments import create_assessment
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.dashboard import assess
from radguard.response.drills import DrillDoc, plan_drill
from radguard.response.services import import_services
from radguard.response.team import import_team
from radguard.web.accounts import create_user
from tests.conftest import EXAMPLES
from tests.web.conftest import PASSWORD

# Markers of NWH-OIC's rows (case-sensitive): none occurs in NWH-MAIN's data or in page chrome.
MARKERS = ("NWH-OIC", "OIC-", "10.60.", "OIC Imaging", "Outpatient Imaging Center", "oicdrill", "oicbackup",
           "oicsensor", "oicjob", "oicsched", "oic.viewer")
# Markers of NWH-MAIN's rows that a report for NWH-MAIN shows (the positive side of a cut report).
MAIN_MARKERS = ("NWH-MAIN/PACS-CORE", "maindrill tabletop", "mainbackup-zqx")
# The sites' codes and the prefix of their objects' names.
SITES = {"NWH-MAIN": "main", "NWH-OIC": "oic"}


def _flow(client: str, server: str) -> dict[str, Any]:
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC).isoformat()
    return {"proto": "tcp", "client": client, "server": server, "server_port": 104, "service": "dicom",
            "connections": 3, "packets": 30, "client_bytes": 3000, "server_bytes": 900, "first_seen": at,
            "last_seen": at, "origin": "capture"}


def seed_two_sites(db: Database) -> dict[str, dict[str, str]]:
    """Fill ``db``; returns each site's object IDs by the path parameter that names them.

    Users: ``mainadmin`` (admin limited to NWH-MAIN), ``main.viewer`` and ``oic.viewer`` (viewers
    of one site each); each site has a checklist assessment of its own.
    """
    with db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
        import_team(s, EXAMPLES / "northwind-team.yaml")
        import_services(s, EXAMPLES / "northwind-services.yaml")
    with db.transaction() as s:
        assess(s)
        for site, service, asset in (("main", "ct-main", "NWH-MAIN/PACS-CORE"),
                                     ("oic", "oic-imaging", "NWH-OIC/OIC-MINIPACS")):
            plan_drill(s, DrillDoc.model_validate({"key": f"{site}drill-zqx", "playbook": "ransomware-pacs",
                                                   "kind": "tabletop", "date": "2027-01-12", "services": [service],
                                                   "title": f"{site}drill tabletop"}))
            upsert_set(s, BackupSetSpec(name=f"{site}backup-zqx", protects=asset, location="nas", kind="local"))
            code = "NWH-MAIN" if site == "main" else "NWH-OIC"
            s.add(Sensor(id=f"{site}sensor-zqx", site=code, public_key="A" * 43 + "="))
            s.add(SensorJob(id=f"{site}job-zqx", site=code, kind="discover", request={}, status="queued"))
        hosts = {code: [h for h, in s.execute(select(Endpoint.host).join(Asset).join(Site).where(Site.code == code)
                                              .order_by(Endpoint.id))] for code in SITES}
        for client, server in (hosts["NWH-MAIN"][:2], hosts["NWH-OIC"][:2]):
            asset_id = s.scalar(select(Endpoint.asset_id).where(Endpoint.host == server))
            s.add(Evidence(kind=PROBE_KIND, asset_id=asset_id, host=server, port=104, received={"state": "open"}))
            s.add(Evidence(kind=FLOW_KIND, received=_flow(client, server)))
        checklists = {code: create_assessment(s, "Northwind Health", "medium", site_code=code) for code in SITES}
        create_user(s, "oic.viewer", PASSWORD, "viewer", sites=["NWH-OIC"])
        create_user(s, "main.viewer", PASSWORD, "viewer", sites=["NWH-MAIN"])
        create_user(s, "mainadmin", PASSWORD, "admin", sites=["NWH-MAIN"])
        s.flush()
        out: dict[str, dict[str, str]] = {}
        for code, prefix in SITES.items():
            assets = set(s.scalars(select(Asset.id).join(Site).where(Site.code == code)))
            finding = s.scalar(select(func.min(Finding.id)).where(Finding.asset_id.in_(assets)))
            out[code] = {"asset_id": str(min(assets)), "finding_id": str(finding), "key": f"{prefix}drill-zqx",
                         "assessment_id": str(checklists[code].id),
                         "question_id": load_catalog().questions_for("medium")[0].id,
                         "name": f"{prefix}sched-zqx", "sensor_id": f"{prefix}sensor-zqx", "job_id": "1",
                         "user_id": str(s.scalar(select(User.id).where(User.username == f"{prefix}.viewer")))}
    for code, prefix in SITES.items():
        add_schedule(db, f"{prefix}sched-zqx", "assess", 24, code)
    assert hosts["NWH-OIC"] and all(h.startswith("10.60.") for h in hosts["NWH-OIC"])
    assert not any(h.startswith("10.60.") for h in hosts["NWH-MAIN"])
    return out


def leaks(body: str, typed: tuple[str, ...] = (), markers: tuple[str, ...] = MARKERS) -> list[str]:
    """The markers in ``body``, but in what the caller itself sent (``typed``: an error may echo it;
    a number holds no marker, and removing it could break one)."""
    for value in typed:
        if not value.isdigit():
            body = body.replace(value, "")
    return [m for m in markers if m in body]
