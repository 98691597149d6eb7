"""Per-site roles (#20): no route or API operation shows or changes another site's rows.

Walks the application's route table (``radguard.web.app.iter_routes``, which also holds every
OpenAPI operation) rather than a list written here, so a route added without scope fails this
test. The caller is an administrator limited to NWH-MAIN (the highest role, so no role check
hides a leak); Northwind's other site, NWH-OIC, holds distinctive rows of every kind a page can
show — assets (all named ``OIC-…``, addresses 10.60.…), findings, a service, drills, a backup
set, a sensor and its job, a schedule, probes, observed flows, a site checklist and a user. For
every GET, with path parameters filled with NWH-OIC's objects (and lists without), no NWH-OIC
marker may appear and an object route must answer 403 or 404; for every write aimed at NWH-OIC's
objects the answer is 403 or 404, no table changes and the refusal is audited. An unrestricted
administrator walking the same URLs sees the markers (so each assertion could fail). Each write's
body is first shown valid: the same body aimed at NWH-MAIN's objects is accepted (2xx/3xx) and
changes a table (a download: is an attachment), on a copy of the estate — by the NWH-MAIN
administrator, or by an unrestricted one for the routes that are the organisation's by design —
so a refusal counted below is the scope's, not a malformed body's.

``ALLOWED`` is the short list of routes left out, each organisation-wide or about the caller's
own account by design, with the reason.
"""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text

from radguard.db.base import Base
from radguard.db.models.inventory import Asset, Site
from radguard.db.models.web import AuditEvent, User
from radguard.db.session import Database, open_database
from radguard.web.accounts import create_api_token
from radguard.web.app import create_app, iter_routes
from tests.web.conftest import PASSWORD, csrf_of, login
from tests.web.site_estate import SITES, leaks, seed_two_sites

# Routes not walked, each with why it cannot show or change a site's rows.
ALLOWED: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "liveness probe: a constant",
    ("GET", "/login"): "the sign-in form",
    ("POST", "/login"): "signing in: no site data; walking it would replace the walker's session",
    ("POST", "/logout"): "ends the walker's own session",
    ("GET", "/auth/oidc/start"): "public sign-in redirect (404 unless OIDC is configured)",
    ("GET", "/auth/oidc/callback"): "public sign-in return (404 unless OIDC is configured)",
    ("GET", "/account/mfa"): "the caller's own second factor",
    ("POST", "/account/mfa/start"): "the caller's own second factor",
    ("POST", "/account/mfa/confirm"): "the caller's own second factor",
    ("POST", "/account/mfa/recovery-codes"): "the caller's own second factor",
    ("POST", "/account/mfa/disable"): "the caller's own second factor",
    ("GET", "/account/password"): "the caller's own password",
    ("POST", "/account/password"): "the caller's own password",
}
# Path parameters → NWH-OIC's object of that kind (filled in by the fixture). A parameter not
# named here fails the walk: say which object of the other site the new route takes.
OBJECT_PARAMS = ("asset_id", "finding_id", "key", "assessment_id", "question_id", "name", "sensor_id", "user_id",
                 "job_id")
NOT_OBJECTS = {("/dashboard/cards/{name}", "name"): "findings", ("/reports/export/{kind}", "kind"): "findings",
               ("/schedules/{name}/{action}", "action"): "run"}
# Routes whose answer shows the markers to an unrestricted administrator (the control): the walk
# must find NWH-OIC's rows there, or the markers would prove nothing.
MUST_SHOW = ("/inventory", "/findings", "/zones", "/roadmap", "/roadmap.json", "/readiness/services",
             "/readiness/drills", "/readiness/backup", "/sensors", "/sensors/jobs", "/schedules",
             "/api/v1/assets", "/api/v1/findings", "/api/v1/endpoints", "/api/v1/services", "/api/v1/drills",
             "/api/v1/backup-sets", "/api/v1/roadmap")


@pytest.fixture
def sites(web_db: Database) -> dict[str, dict[str, str]]:
    """Northwind's two sites with a row of every kind at each (tests.web.site_estate); each site's object IDs."""
    return seed_two_sites(web_db)


@pytest.fixture
def estate(sites: dict[str, dict[str, str]]) -> dict[str, str]:
    """NWH-OIC's object IDs: the other site, for the walker limited to NWH-MAIN."""
    return sites["NWH-OIC"]


def _session_client(app: FastAPI, username: str) -> TestClient:
    c = TestClient(app, base_url="https://testserver")
    c.headers["accept"] = "text/html"
    return login(c, username)


def _token_client(app: FastAPI, db: Database, username: str) -> TestClient:
    with db.transaction() as s:
        user = s.scalar(select(User).where(User.username == username))
        assert user is not None
        secret = create_api_token(s, user, "walk")[1]
    return TestClient(app, base_url="https://testserver", headers={"Authorization": f"Bearer {secret}"})


def _url(path: str, params: dict[str, str]) -> tuple[str, list[str]]:
    """The path with NWH-OIC's objects filled in, and those objects' keys (the caller typed them)."""
    url, objects = path, []
    for name in re.findall(r"{(\w+)}", path):
        if (path, name) in NOT_OBJECTS:
            value = NOT_OBJECTS[(path, name)]
        else:
            assert name in OBJECT_PARAMS, f"{path}: say which NWH-OIC object fills {{{name}}} (OBJECT_PARAMS)"
            value = params[name]
            objects.append(value)
        url = url.replace("{" + name + "}", value)
    return url, objects


_leaks = leaks


def _walk(app: FastAPI, methods: set[str]) -> list[tuple[str, str]]:
    routes = [(m, p) for p, m, _ in iter_routes(app) if m in methods and (m, p) not in ALLOWED]
    openapi = {(m.upper(), p) for p, ops in app.openapi()["paths"].items() for m in ops}
    assert {(m, p) for m, p in openapi if m in methods} <= set(routes), "an OpenAPI operation the walk missed"
    return routes


def test_no_page_or_api_read_shows_another_sites_rows(app: FastAPI, web_db: Database,
                                                     estate: dict[str, str]) -> None:
    scoped, scoped_api = _session_client(app, "mainadmin"), _token_client(app, web_db, "mainadmin")
    everyone, everyone_api = _session_client(app, "admin"), _token_client(app, web_db, "admin")
    leaks: list[str] = []
    shown_to_everyone: set[str] = set()
    walked = 0
    for _, path in _walk(app, {"GET"}):
        url, typed = _url(path, estate)
        is_object = bool(typed)
        api = path.startswith("/api/")
        client, control = (scoped_api, everyone_api) if api else (scoped, everyone)
        for query in ({}, {"site": "NWH-OIC"}) if not is_object else ({},):
            r = client.get(url, params=query, follow_redirects=False)
            walked += 1
            assert r.status_code < 500, (url, r.status_code, r.text[:300])
            found = _leaks(r.text, (*query.values(), *typed))
            if found:
                leaks.append(f"GET {url} {query or ''} -> {r.status_code} shows {found}")
            if is_object and r.status_code not in (403, 404):
                leaks.append(f"GET {url} answers {r.status_code} for another site's object")
        seen = control.get(url, follow_redirects=False)
        if _leaks(seen.text):
            shown_to_everyone.add(path)
        if is_object and path.startswith(("/inventory/", "/findings/", "/readiness/drills/", "/schedules/",
                                          "/api/v1/assets/", "/api/v1/drills/")):
            assert seen.status_code == 200, (url, seen.status_code)  # a real object, reachable unrestricted
    assert leaks == [], "\n".join(leaks)
    assert set(MUST_SHOW) - shown_to_everyone == set()
    assert walked > 60


def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the audit log and the sign-in bookkeeping (sessions, token use)."""
    volatile = {"web_session", "api_token", "audit_event", "web_user"}
    out: dict[str, list[tuple[Any, ...]]] = {}
    with db.read() as s:
        for table in Base.metadata.sorted_tables:
            if table.name in volatile:
                continue
            out[table.name] = sorted((tuple(map(repr, row)) for row in s.execute(table.select())), key=repr)
        out["users"] = sorted(tuple(map(repr, r)) for r in s.execute(
            text("SELECT id, username, role, active FROM web_user")))
    return out


def _refusals(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEvent)
                            .where(AuditEvent.action == "scope.refused")) or 0)


def _bodies(params: dict[str, str], site: str) -> dict[tuple[str, str], dict[str, Any]]:
    """What each write sends, aimed at ``site``'s objects (``params``; a write without an entry fails the walk).

    The same body for both sites but for the objects it names: the walk first shows it accepted
    for the walker's own site (so a refusal below is the scope's, not a malformed body's).
    """
    other = next(code for code in SITES if code != site)
    service = {"NWH-MAIN": "ct-main", "NWH-OIC": "oic-imaging"}[site]
    form: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/admin/users"): {"username": "new.one", "password": PASSWORD, "role": "viewer", "sites": site},
        ("POST", "/admin/users/{user_id}/disable"): {},
        ("POST", "/admin/users/{user_id}/enable"): {},
        ("POST", "/admin/users/{user_id}/role"): {"role": "admin"},
        ("POST", "/admin/users/{user_id}/sites"): {"sites": other},
        ("POST", "/admin/users/{user_id}/force-reset"): {},
        ("POST", "/admin/users/{user_id}/sessions/revoke"): {},
        ("POST", "/checklists"): {"organization": "Northwind Health", "size": "medium", "site_code": site},
        ("POST", "/checklists/{assessment_id}/questions/{question_id}"): {"answer": "4"},
        ("POST", "/checklists/{assessment_id}/close"): {},
        ("POST", "/findings/decide"): {"ids": params["finding_id"], "action": "false-positive", "reason": "not ours"},
        ("POST", "/inventory/{asset_id}/attest"): {"subject": "encrypted_at_rest", "value": "yes"},
        ("POST", "/inventory/{asset_id}/edit"): {"owner": "Owner Zqx"},
        ("POST", "/readiness/binder"): {"fmt": "html"},
        ("POST", "/readiness/drills"): {"key": "newdrill-zqx", "playbook": "ransomware-pacs", "kind": "tabletop",
                                        "on": "2027-02-01", "services": service},
        ("POST", "/readiness/drills/{key}/events"): {"milestone": "detected"},
        ("POST", "/readiness/drills/{key}/record"): {"lesson": "not ours"},
        ("POST", "/roadmap/rerank"): {},
        ("POST", "/reports/report"): {"audience": "executive", "fmt": "html", "site": site},
        ("POST", "/reports/export/{kind}"): {"fmt": "csv", "site": site},
        ("POST", "/schedules"): {"name": "new-sched", "kind": "assess", "site": site, "every_hours": "24"},
        ("POST", "/schedules/{name}/{action}"): {},
        ("POST", "/sensors/{sensor_id}/revoke"): {},
    }
    json_bodies: dict[tuple[str, str], dict[str, Any]] = {
        ("PUT", "/api/v1/checklists/{assessment_id}/questions/{question_id}"): {"answer": 4},
        ("POST", "/api/v1/drills/{key}/events"): {"milestone": "detected"},
    }
    return {**{k: {"data": v} for k, v in form.items()}, **{k: {"json": v} for k, v in json_bodies.items()}}


# Writes whose accepted answer is a download (the audit log is their only trace): accepted means
# 200 with an attachment. Every other accepted write must change a table.
DOWNLOADS = {("POST", "/reports/report"), ("POST", "/reports/export/{kind}"), ("POST", "/readiness/binder")}
# Columns that move with any signed-in request (sign-in bookkeeping), not with the write itself.
BOOKKEEPING = {"last_seen", "last_used", "last_login", "failed_logins", "locked_until"}


def _organisation(route: APIRoute) -> bool:
    """Whether the route is the whole organisation's by design (``require(..., organisation=True)`` or admin)."""
    pending = list(route.dependant.dependencies)
    while pending:
        dep = pending.pop()
        if getattr(dep.call, "organisation", False):
            return True
        pending.extend(dep.dependencies)
    return False


def _state(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every table but the audit log, without the sign-in bookkeeping columns (what a write changes)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with db.read() as s:
        for table in Base.metadata.sorted_tables:
            if table.name == "audit_event":
                continue
            columns = [c for c in table.columns if c.name not in BOOKKEEPING]
            out[table.name] = sorted((tuple(map(repr, row)) for row in s.execute(select(*columns))), key=repr)
    return out


def _order(write: tuple[str, str, APIRoute]) -> tuple[int, str]:
    """Revoking a user's sessions before a forced reset ends them; closing an assessment after
    answering it; enabling a user after disabling it."""
    path = write[1]
    return (3 if path.endswith("/close") else 2 if path.endswith("/enable") else
            1 if path.endswith("/disable") else -1 if path.endswith("/sessions/revoke") else 0, path)


def _send(client: TestClient, method: str, url: str, body: dict[str, Any], api: bool) -> Any:
    if api:
        return client.request(method, url, follow_redirects=False, **body)
    return client.request(method, url, data=dict(body["data"], csrf_token=csrf_of(client)), follow_redirects=False)


def test_every_write_body_is_accepted_for_the_walkers_own_site(web_db: Database, sites: dict[str, dict[str, str]],
                                                              tmp_path: Path) -> None:
    """The bodies the refusal walk sends are valid: aimed at NWH-MAIN's objects they are accepted
    and change something — by the NWH-MAIN administrator itself, or, for the routes that are the
    organisation's by design, by an unrestricted administrator (on a copy of the estate, so the
    refusal walk starts from the same rows)."""
    copy = tmp_path / "accept.db"
    with web_db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copyfile(Path(web_db.engine.url.database or ""), copy)
    db = open_database(f"sqlite:///{copy}")
    try:
        app = create_app(db)
        app.state.dashboard_wait = 120.0
        own = sites["NWH-MAIN"]
        site, unrestricted = _session_client(app, "mainadmin"), _session_client(app, "admin")
        site_api, unrestricted_api = _token_client(app, db, "mainadmin"), _token_client(app, db, "admin")
        _session_client(app, "main.viewer")  # a session for the session-revoking route to end
        bodies = _bodies(own, "NWH-MAIN")
        problems: list[str] = []
        for method, path, route in sorted(((m, p, r) for p, m, r in iter_routes(app)
                                           if m in {"POST", "PUT", "DELETE", "PATCH"} and (m, p) not in ALLOWED),
                                          key=_order):
            url, _ = _url(path, own)
            api = path.startswith("/api/")
            clients = (unrestricted_api, unrestricted) if _organisation(route) else (site_api, site)
            client = clients[0] if api else clients[1]
            before = _state(db)
            r = _send(client, method, url, bodies[(method, path)], api)
            if r.status_code >= 400:
                problems.append(f"{method} {url} refused its own site's body: {r.status_code} {r.text[:200]}")
            elif (method, path) in DOWNLOADS:
                if "attachment" not in r.headers.get("content-disposition", ""):
                    problems.append(f"{method} {url}: no download")
            elif _state(db) == before:
                problems.append(f"{method} {url} answered {r.status_code} but changed nothing")
        assert problems == [], "\n".join(problems)
    finally:
        db.dispose()


def test_no_write_reaches_another_sites_rows(app: FastAPI, web_db: Database, estate: dict[str, str]) -> None:
    scoped, scoped_api = _session_client(app, "mainadmin"), _token_client(app, web_db, "mainadmin")
    bodies = _bodies(estate, "NWH-OIC")
    before = _snapshot(web_db)
    problems: list[str] = []
    for method, path in _walk(app, {"POST", "PUT", "DELETE", "PATCH"}):
        assert (method, path) in bodies, f"{method} {path}: add what it sends at NWH-OIC's objects to _bodies"
        url, typed = _url(path, estate)
        audited = _refusals(web_db)
        api = path.startswith("/api/")
        r = _send(scoped_api if api else scoped, method, url, bodies[(method, path)], api)
        if r.status_code not in (403, 404):
            problems.append(f"{method} {url} answers {r.status_code}: {r.text[:200]}")
        if _refusals(web_db) != audited + 1:
            problems.append(f"{method} {url}: the refusal is not in the audit log")
        sent = [v for v in bodies[(method, path)].get("data", {}).values() if isinstance(v, str)]
        found = _leaks(r.text, (*typed, *sent))
        if found:
            problems.append(f"{method} {url} shows {found}")
    assert problems == [], "\n".join(problems)
    after = _snapshot(web_db)
    assert [t for t in before if before[t] != after[t]] == []


def test_a_site_user_still_works_on_its_own_site(app: FastAPI, web_db: Database, estate: dict[str, str]) -> None:
    """The refusals above are not a blanket refusal: the same account reads and records on NWH-MAIN."""
    c, api = _session_client(app, "mainadmin"), _token_client(app, web_db, "mainadmin")
    assert "maindrill-zqx" in c.get("/readiness/drills").text
    assert "mainbackup-zqx" in c.get("/readiness/backup").text
    assert "mainsensor-zqx" in c.get("/sensors").text and "mainjob-zqx" in c.get("/sensors/jobs").text
    assert "mainsched-zqx" in c.get("/schedules").text
    assert c.get("/schedules/mainsched-zqx").status_code == 200
    assert {d["key"] for d in api.get("/api/v1/drills").json()} == {"maindrill-zqx"}
    assert [b["name"] for b in api.get("/api/v1/backup-sets").json()] == ["mainbackup-zqx"]
    assert api.get("/api/v1/endpoints").json()
    r = api.post("/api/v1/drills/maindrill-zqx/events", json={"milestone": "detected"})
    assert r.status_code == 200, r.text
    r = c.post("/readiness/drills", data={"key": "main-two", "playbook": "ransomware-pacs", "kind": "tabletop",
                                          "on": str(date(2027, 3, 1)), "services": "ct-main",
                                          "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    for kind in ("findings", "inventory", "roadmap"):  # the table exports: of its sites only
        for fmt in ("csv", "json"):
            r = c.post(f"/reports/export/{kind}", data={"fmt": fmt, "site": "", "csrf_token": csrf_of(c)})
            assert r.status_code == 200 and _leaks(r.text) == [], (kind, fmt, _leaks(r.text))
            assert kind == "roadmap" or "NWH-MAIN" in r.text
    assert "site-limited" in c.get("/reports").text and 'id="report-form"' in c.get("/reports").text
    assert c.post("/reports/export/oscal", data={"csrf_token": csrf_of(c)}).status_code == 403
    cards = api.get("/api/v1/dashboard").json()
    with web_db.read() as s:
        main_assets = s.scalar(select(func.count()).select_from(Asset).join(Site).where(Site.code == "NWH-MAIN"))
    assert cards["assets_total"] == main_assets
    assert cards["backup_sets"] == 1 and [d["key"] for d in cards["next_drills"]] == ["main-two"]
