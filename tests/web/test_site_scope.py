"""Per-site roles (#20): a site-scoped account sees and changes only its sites' assets and findings.

Two sites' data (Northwind: NWH-MAIN and NWH-OIC, whose assets are all named ``OIC-…``); a
viewer and an assessor limited to NWH-MAIN; an unrestricted viewer as the control, so each
assertion could fail if the scope were not applied.
"""

from __future__ import annotations

import io
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard.db.models.findings import Finding
from radguard.db.models.inventory import Asset, Site
from radguard.db.models.web import AuditEvent, User
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.inventory.importer import import_inventory
from radguard.readiness.dashboard import assess
from radguard.web.accounts import create_api_token, create_user, user_sites
from tests.conftest import EXAMPLES
from tests.web.conftest import PASSWORD, csrf_of, login


@pytest.fixture
def two_sites(web_db: Database) -> dict[str, dict[str, set[int]]]:
    """Northwind imported and assessed; the asset and finding IDs of each site."""
    with web_db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
    with web_db.transaction() as s:
        assess(s)
        create_user(s, "mainviewer", PASSWORD, "viewer", sites=["NWH-MAIN"])
        create_user(s, "mainassessor", PASSWORD, "assessor", sites=["NWH-MAIN"])
    out: dict[str, dict[str, set[int]]] = {}
    with web_db.read() as s:
        for code in ("NWH-MAIN", "NWH-OIC"):
            assets = set(s.scalars(select(Asset.id).join(Site).where(Site.code == code)))
            findings = set(s.scalars(select(Finding.id).where(Finding.asset_id.in_(assets))))
            out[code] = {"assets": assets, "findings": findings}
        out["org"] = {"findings": set(s.scalars(select(Finding.id).where(Finding.asset_id.is_(None))))}
    assert out["NWH-OIC"]["assets"] and out["NWH-OIC"]["findings"] and out["NWH-MAIN"]["findings"]
    assert out["org"]["findings"]  # organisation-wide findings (no asset), shown to site accounts read-only
    return out


def _client(app: FastAPI, username: str) -> TestClient:
    c = TestClient(app, base_url="https://testserver")
    c.headers["accept"] = "text/html"
    return login(c, username)


def _token_client(app: FastAPI, db: Database, username: str, sites: tuple[str, ...] = ()) -> TestClient:
    with db.transaction() as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None
        secret = create_api_token(s, user, "test", sites=sites)[1]
    return TestClient(app, base_url="https://testserver", headers={"Authorization": f"Bearer {secret}"})


def _finding_links(html: str) -> set[int]:
    return {int(m) for m in re.findall(r'href="/findings/(\d+)"', html)}


def test_site_viewer_sees_only_its_site_in_the_pages(app: FastAPI, two_sites: dict[str, dict[str, set[int]]]) -> None:
    main, oic = two_sites["NWH-MAIN"], two_sites["NWH-OIC"]
    scoped, everyone = _client(app, "mainviewer"), _client(app, "viewer")
    page = scoped.get("/inventory").text
    assert "PACS-CORE" in page and "OIC-" not in page
    assert "OIC-MINIPACS" in everyone.get("/inventory", params={"site": "NWH-OIC"}).text  # the control
    assert "OIC-" not in scoped.get("/inventory", params={"site": "NWH-OIC"}).text
    assert "OIC-" not in scoped.get("/inventory", params={"q": "OIC"}).text
    for aid in oic["assets"]:
        assert scoped.get(f"/inventory/{aid}").status_code == 404
    some_main = min(main["assets"])
    assert scoped.get(f"/inventory/{some_main}").status_code == 200
    listed = _finding_links(scoped.get("/findings", params={"state": ""}).text)
    assert listed and listed <= main["findings"] | two_sites["org"]["findings"]
    assert _finding_links(everyone.get("/findings", params={"site": "NWH-OIC"}).text) & oic["findings"]
    assert scoped.get("/findings", params={"site": "NWH-OIC"}).status_code == 404
    for fid in sorted(oic["findings"])[:5]:
        assert scoped.get(f"/findings/{fid}").status_code == 404
        assert everyone.get(f"/findings/{fid}").status_code == 200
    assert scoped.get(f"/findings/{min(main['findings'])}").status_code == 200


def test_site_assessor_cannot_decide_another_sites_finding(app: FastAPI, web_db: Database,
                                                           two_sites: dict[str, dict[str, set[int]]]) -> None:
    c = _client(app, "mainassessor")
    other, own = min(two_sites["NWH-OIC"]["findings"]), min(two_sites["NWH-MAIN"]["findings"])
    with web_db.read() as s:
        before = s.get(Finding, other).state  # type: ignore[union-attr]
    r = c.post("/findings/decide", data={"ids": [str(other)], "action": "false-positive", "reason": "not ours",
                                         "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 404
    r = c.post("/findings/decide", data={"ids": [str(own), str(other)], "action": "false-positive",
                                         "reason": "mixed", "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 404
    with web_db.read() as s:
        assert s.get(Finding, other).state == before  # type: ignore[union-attr]
        assert s.get(Finding, own).state != "false_positive"  # type: ignore[union-attr]
    r = c.post("/findings/decide", data={"ids": [str(own)], "action": "false-positive", "reason": "ours",
                                         "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303
    with web_db.read() as s:
        assert s.get(Finding, own).state == "false_positive"  # type: ignore[union-attr]


def test_site_viewer_sees_only_its_site_in_the_api(app: FastAPI, web_db: Database,
                                                   two_sites: dict[str, dict[str, set[int]]]) -> None:
    main, oic = two_sites["NWH-MAIN"], two_sites["NWH-OIC"]
    scoped = _token_client(app, web_db, "mainviewer")
    assets = scoped.get("/api/v1/assets", params={"per_page": 500}).json()
    assert assets["total"] == len(main["assets"]) and {a["id"] for a in assets["items"]} == main["assets"]
    assert scoped.get("/api/v1/assets", params={"site": "NWH-OIC"}).json()["total"] == 0
    assert scoped.get(f"/api/v1/assets/{min(oic['assets'])}").status_code == 404
    assert scoped.get(f"/api/v1/assets/{min(main['assets'])}").status_code == 200
    found = {f["id"] for f in scoped.get("/api/v1/findings", params={"limit": 1000}).json()}
    assert found and found <= main["findings"] | two_sites["org"]["findings"]
    assert scoped.get("/api/v1/findings", params={"site": "NWH-OIC"}).status_code == 404
    # An unrestricted user's token limited to NWH-OIC sees that site only.
    narrowed = _token_client(app, web_db, "viewer", ("NWH-OIC",))
    ids = {a["id"] for a in narrowed.get("/api/v1/assets", params={"per_page": 500}).json()["items"]}
    assert ids == oic["assets"]
    everyone = _token_client(app, web_db, "viewer")
    total = everyone.get("/api/v1/assets", params={"per_page": 500}).json()["total"]
    assert total == len(main["assets"]) + len(oic["assets"])


def test_a_token_never_reaches_beyond_its_user(web_db: Database, two_sites: dict[str, dict[str, set[int]]]) -> None:
    with web_db.transaction() as s:
        user = s.scalar(select(User).where(User.username == "mainviewer"))
        assert user is not None
        with pytest.raises(InputError, match="cannot reach NWH-OIC"):
            create_api_token(s, user, "wide", sites=["NWH-OIC"])
        with pytest.raises(InputError, match="no site NOPE"):
            create_user(s, "x.y", PASSWORD, "viewer", sites=["NOPE"])


def test_admin_page_grants_and_lifts_sites(app: FastAPI, web_db: Database,
                                           two_sites: dict[str, dict[str, set[int]]]) -> None:
    admin = _client(app, "admin")
    with web_db.read() as s:
        uid = s.scalar(select(User.id).where(User.username == "viewer"))
    page = admin.get("/admin/users").text
    assert "all sites" in page and 'value="NWH-OIC"' in page
    r = admin.post(f"/admin/users/{uid}/sites", data={"sites": ["NWH-OIC"], "csrf_token": csrf_of(admin)},
                   follow_redirects=False)
    assert r.status_code == 303
    viewer = _client(app, "viewer")
    assert "OIC-MINIPACS" in viewer.get("/inventory").text and "PACS-CORE" not in viewer.get("/inventory").text
    admin.post(f"/admin/users/{uid}/sites", data={"csrf_token": csrf_of(admin)}, follow_redirects=False)
    assert "PACS-CORE" in viewer.get("/inventory").text  # applies on the next request
    with web_db.read() as s:
        user = s.get(User, uid)
        assert user is not None and user_sites(s, user) is None
        events = [e.detail for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "user.sites"))]
    assert events == [{"from": None, "to": ["NWH-OIC"]}, {"from": ["NWH-OIC"], "to": None}]


def test_cli_user_sites(rg, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    rg("--db", sqlite_url, "init")
    assert rg("--db", sqlite_url, "inventory", "import", str(EXAMPLES / "northwind-inventory.yaml")).code == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    r = rg("--db", sqlite_url, "user", "add", "oic.tech", "--password-stdin", "--site", "NWH-OIC")
    assert r.code == 0 and "for NWH-OIC" in r.out
    listed = rg("--db", sqlite_url, "user", "list", "--json").out
    assert '"sites": [\n      "NWH-OIC"\n    ]' in listed or '"NWH-OIC"' in listed
    r = rg("--db", sqlite_url, "user", "sites", "oic.tech", "--site", "NWH-MAIN", "--site", "NWH-OIC")
    assert r.code == 0 and "now sees NWH-MAIN, NWH-OIC (was NWH-OIC)" in r.out
    assert rg("--db", sqlite_url, "user", "sites", "oic.tech", "--site", "NOPE").code != 0
    assert "now sees every site" in rg("--db", sqlite_url, "user", "sites", "oic.tech", "--all").out
    assert rg("--db", sqlite_url, "user", "sites", "oic.tech").code != 0
