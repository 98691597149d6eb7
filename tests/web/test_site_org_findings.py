"""Organisation-wide findings for site-limited accounts (#20): shown read-only, labelled, never decided.

A finding of no asset is the organisation's (the response team, playbooks' drills) unless it is
about an imaging service at a site (RG-RTO-UNPROVEN on ``service:KEY``), which is that site's.
A NWH-MAIN account reads the organisation's findings and its own services' — in the register's
read function, the findings page, the finding page and the API — and may not decide the
organisation's (403, audited); NWH-OIC's services' findings stay hidden. An unrestricted
assessor is the control: it sees every one and may decide an organisation-wide finding.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from radguard.checks.findings import finding_counts, list_findings
from radguard.db.models.findings import Finding
from radguard.db.models.inventory import Asset, Site
from radguard.db.models.response import ImagingService
from radguard.db.models.web import AuditEvent, User
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.readiness.dashboard import assess
from radguard.response.services import import_services
from radguard.response.team import import_team
from radguard.web.accounts import create_api_token, create_user
from tests.conftest import EXAMPLES
from tests.web.conftest import PASSWORD, csrf_of, login

MAIN = frozenset({"NWH-MAIN"})


@pytest.fixture
def estate(web_db: Database) -> dict[str, set[int]]:
    """Northwind with its team and services, assessed; finding IDs by whose they are."""
    with web_db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
        import_team(s, EXAMPLES / "northwind-team.yaml")
        import_services(s, EXAMPLES / "northwind-services.yaml")
    with web_db.transaction() as s:
        assess(s)
        create_user(s, "mainassessor", PASSWORD, "assessor", sites=["NWH-MAIN"])
    with web_db.read() as s:
        service_site = {f"service:{k}": code for k, code in s.execute(
            select(ImagingService.key, Site.code).join(Site, Site.id == ImagingService.site_id))}
        out: dict[str, set[int]] = {"NWH-MAIN": set(), "NWH-OIC": set(), "org": set(), "main-service": set(),
                                    "oic-service": set()}
        for fid, code, subject in s.execute(select(Finding.id, Site.code, Finding.subject)
                                            .outerjoin(Asset, Asset.id == Finding.asset_id)
                                            .outerjoin(Site, Site.id == Asset.site_id)):
            if code is not None:
                out[code].add(fid)
            elif subject in service_site:
                out["main-service" if service_site[subject] == "NWH-MAIN" else "oic-service"].add(fid)
            else:
                out["org"].add(fid)
    assert all(out.values()), {k: len(v) for k, v in out.items()}  # each kind exists, so each check can fail
    return out


def _client(app: FastAPI, username: str) -> TestClient:
    c = TestClient(app, base_url="https://testserver")
    c.headers["accept"] = "text/html"
    return login(c, username)


def _token(app: FastAPI, db: Database, username: str) -> TestClient:
    with db.transaction() as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None
        secret = create_api_token(s, user, "t")[1]
    return TestClient(app, base_url="https://testserver", headers={"Authorization": f"Bearer {secret}"})


def _rows(html: str) -> dict[int, str]:
    """Each listed finding's table row, by ID."""
    return {int(fid): row for fid, row in re.findall(r'<tr data-finding="(\d+)"(.*?)</tr>', html, re.S)}


def test_the_registers_read_gives_a_site_account_its_sites_and_the_organisations(
        web_db: Database, estate: dict[str, set[int]]) -> None:
    """The one read function (``findings list``'s, the API's and the pages'), its counts the same set."""
    mine = estate["NWH-MAIN"] | estate["main-service"] | estate["org"]
    with web_db.read() as s:
        assert {f.id for f in list_findings(s, scope=MAIN)} == mine
        assert finding_counts(s, scope=MAIN).total == len(mine)
        # The same site rule for an unrestricted report of one site: no other site's service.
        assert {f.id for f in list_findings(s, site="NWH-MAIN")} == mine
        assert {f.id for f in list_findings(s)} == set().union(*estate.values())  # the control


def test_a_site_account_reads_organisation_wide_findings_but_cannot_decide_them(
        app: FastAPI, web_db: Database, estate: dict[str, set[int]]) -> None:
    c, everyone = _client(app, "mainassessor"), _client(app, "assessor")
    page = c.get("/findings", params={"state": "", "check": "RG-TEAM-GAP"}).text
    rows = _rows(page)
    team = {fid for fid in estate["org"] if fid in rows}
    assert team and set(rows) == team, rows.keys()
    for fid in team:
        assert "(organisation-wide)" in rows[fid] and 'name="ids"' not in rows[fid]
    assert 'id="org-wide-note"' in page
    own = _rows(c.get("/findings", params={"state": "", "site": "NWH-MAIN"}).text)
    assert any('name="ids"' in row for fid, row in own.items() if fid in estate["NWH-MAIN"])
    services = _rows(c.get("/findings", params={"state": "", "check": "RG-RTO-UNPROVEN"}).text)
    assert set(services) == estate["main-service"] and all("(NWH-MAIN)" in r for r in services.values())
    assert set(_rows(everyone.get("/findings", params={"state": "", "check": "RG-RTO-UNPROVEN"}).text)) == \
        estate["main-service"] | estate["oic-service"]
    for fid in estate["oic-service"]:
        assert c.get(f"/findings/{fid}").status_code == 404

    fid = min(team)
    shown = c.get(f"/findings/{fid}")
    assert shown.status_code == 200 and 'id="read-only"' in shown.text
    assert 'action="/findings/decide"' not in shown.text
    assert 'action="/findings/decide"' in everyone.get(f"/findings/{fid}").text

    def refusals() -> int:
        with web_db.read() as s:
            return int(s.scalar(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.action == "scope.refused")) or 0)

    def state(finding_id: int) -> str:
        with web_db.read() as s:
            found = s.get(Finding, finding_id)
            assert found is not None
            return found.state

    before, audited = state(fid), refusals()
    decision: dict[str, Any] = {"ids": [str(fid)], "action": "false-positive", "reason": "not ours"}
    r = c.post("/findings/decide", data={**decision, "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 403 and "organisation-wide" in r.text
    assert state(fid) == before and refusals() == audited + 1
    # Its own site's service's finding (no asset, but NWH-MAIN's) it may decide.
    service_finding = min(estate["main-service"])
    r = c.post("/findings/decide", data={**decision, "ids": [str(service_finding)], "csrf_token": csrf_of(c)},
               follow_redirects=False)
    assert r.status_code == 303 and state(service_finding) == "false_positive"
    # The control: an unrestricted assessor decides the organisation-wide one.
    r = everyone.post("/findings/decide", data={**decision, "csrf_token": csrf_of(everyone)},
                      follow_redirects=False)
    assert r.status_code == 303 and state(fid) == "false_positive"


def test_the_api_labels_organisation_wide_findings(app: FastAPI, web_db: Database,
                                                   estate: dict[str, set[int]]) -> None:
    api = _token(app, web_db, "mainassessor")
    records = {f["id"]: f for f in api.get("/api/v1/findings", params={"limit": 1000}).json()}
    assert set(records) == estate["NWH-MAIN"] | estate["main-service"] | estate["org"]
    assert {i for i, f in records.items() if f["organisation_wide"]} == estate["org"]
    assert all(f["asset"] is None for i, f in records.items() if f["organisation_wide"])
    everyone = {f["id"] for f in _token(app, web_db, "assessor").get("/api/v1/findings",
                                                                      params={"limit": 1000}).json()}
    assert estate["oic-service"] <= everyone and not estate["oic-service"] & set(records)
