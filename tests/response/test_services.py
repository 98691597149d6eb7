"""Imaging services: import, look-up by the inventory's assets, refusal of bad files.

``seed`` (used by the other readiness test modules) loads the Northwind example files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from radguard.db.models.response import DowntimeProcedure, ImagingService, ServiceDependency
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.inventory.importer import import_inventory
from radguard.response.drills import import_drills
from radguard.response.services import import_services, load_services
from radguard.response.team import import_team
from tests.conftest import EXAMPLES


def seed(session: Session, *, team: bool = True, services: bool = True, drills: bool = True) -> None:
    """Northwind's inventory plus, optionally, its team, services and drills."""
    import_inventory(session, EXAMPLES / "northwind-inventory.yaml")
    if team:
        import_team(session, EXAMPLES / "northwind-team.yaml")
    if services:
        import_services(session, EXAMPLES / "northwind-services.yaml")
    if drills:
        import_drills(session, EXAMPLES / "northwind-drill.yaml")


def test_import_links_services_to_inventory_assets(database: Database) -> None:
    with database.transaction() as session:
        seed(session, drills=False)
    with database.read() as session:
        services = {s.key: s for s in load_services(session)}
        assert set(services) == {"ct-main", "emergency-reads", "mammo-screening", "oic-imaging"}
        ct = services["ct-main"]
        assert (ct.rto_hours, ct.rpo_hours) == (4, 1)
        deps = {f"{d.asset.site.code}/{d.asset.name}": (d.function, d.studies_per_hour) for d in ct.dependencies}
        assert deps["NWH-MAIN/CT-ED-1"] == ("acquisition", 8)
        assert deps["NWH-MAIN/PACS-CORE"] == ("storage", None)
        assert [p.kind for p in ct.procedures] == ["console-read", "paper-requisition", "order-reconciliation"]
        assert ct.procedures[0].steps[0].startswith("The on-call radiologist")


def test_reimport_updates_in_place(sqlite_db: Database, tmp_path: Path) -> None:
    with sqlite_db.transaction() as session:
        seed(session, drills=False)
    small = tmp_path / "one.yaml"
    small.write_text(
        "format: radguard-services\nversion: 1\nservices:\n"
        "- key: ct-main\n  name: CT at Main Campus\n  rto_hours: 6\n  rpo_hours: 2\n"
        "  depends_on:\n  - {asset: CT-2, function: acquisition}\n"
    )
    with sqlite_db.transaction() as session:
        result = import_services(session, small)
    assert (result.created, result.updated) == (0, 1)
    with sqlite_db.read() as session:
        assert session.scalar(select(func.count()).select_from(ImagingService)) == 4
        ct = session.scalar(select(ImagingService).where(ImagingService.key == "ct-main"))
        assert ct is not None and ct.rto_hours == 6
        assert session.scalar(select(func.count()).select_from(ServiceDependency)
                              .where(ServiceDependency.service_id == ct.id)) == 1
        assert session.scalar(select(func.count()).select_from(DowntimeProcedure)
                              .where(DowntimeProcedure.service_id == ct.id)) == 0


@pytest.mark.parametrize(("body", "where", "problem"), [
    ("- key: x1\n  name: Bad asset\n  rto_hours: 1\n  rpo_hours: 1\n  depends_on:\n"
     "  - {asset: NWH-MAIN/NO-SUCH, function: acquisition}\n",
     "line 9, field 'services[0].depends_on[0].asset'", "no asset 'NWH-MAIN/NO-SUCH'"),
    ("- key: x1\n  name: Bad role\n  rto_hours: 1\n  rpo_hours: 1\n  downtime_procedures:\n"
     "  - {kind: wet-read, title: Wet reads, owner_role: janitor, steps: [call]}\n",
     "field 'services[0].downtime_procedures[0].owner_role'", "unknown role 'janitor'"),
    ("- key: x1\n  name: No RTO\n  rpo_hours: 1\n", "line 4, field 'services[0].rto_hours'",
     "required field is missing"),
    ("- key: x1\n  name: Bad kind\n  rto_hours: 1\n  rpo_hours: 1\n  downtime_procedures:\n"
     "  - {kind: pray, title: Hope, steps: [wait]}\n",
     "field 'services[0].downtime_procedures[0].kind'", "'pray' is not allowed"),
    ("- key: x1\n  name: Unknown site\n  site: NOPE\n  rto_hours: 1\n  rpo_hours: 1\n",
     "field 'services[0].site'", "no site 'NOPE'"),
])
def test_bad_files_are_refused_with_the_field_named(sqlite_db: Database, tmp_path: Path, body: str, where: str,
                                                      problem: str) -> None:
    with sqlite_db.transaction() as session:
        seed(session, services=False, drills=False)
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: radguard-services\nversion: 1\nservices:\n" + body)
    with pytest.raises(InputError) as err, sqlite_db.transaction() as session:
        import_services(session, bad)
    assert where in str(err.value) and problem in str(err.value), str(err.value)
    with sqlite_db.read() as session:
        assert session.scalar(select(func.count()).select_from(ImagingService)) == 0


def test_cli_import_and_list(rg, sqlite_url: str) -> None:  # type: ignore[no-untyped-def]
    assert rg("--db", sqlite_url, "init").code == 0
    assert rg("--db", sqlite_url, "inventory", "import", EXAMPLES / "northwind-inventory.yaml").code == 0
    assert rg("--db", sqlite_url, "team", "import", EXAMPLES / "northwind-team.yaml").code == 0
    r = rg("--db", sqlite_url, "services", "import", EXAMPLES / "northwind-services.yaml", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out) == {"file": str(EXAMPLES / "northwind-services.yaml"), "created": 4, "updated": 0,
                                 "dependencies": 22, "procedures": 8}
    r = rg("--db", sqlite_url, "services", "list", "--json")
    listed = {s["key"]: s for s in json.loads(r.out)}
    assert listed["oic-imaging"]["site"] == "NWH-OIC"
    assert {"asset": "NWH-OIC/OIC-MR", "function": "acquisition", "studies_per_hour": 2.0} in \
        listed["oic-imaging"]["depends_on"]
