"""Read one fact from every surface: CLI JSON, the API, the HTML pages and the report data.

Each ``*_by_surface`` function returns {surface name: value}; the tests assert that all values
are equal (and non-trivial). Pages are parsed with the standard library's HTML parser, reading
the ``data-*`` attributes the templates put on the rows that carry each fact.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

from fastapi.testclient import TestClient

from radguard.checks.sla import SEVERITIES
from radguard.db.models.findings import ALL_STATES, OPEN_STATES
from radguard.db.session import Database
from radguard.reports.exports.tables import finding_records
from radguard.reports.scope import Scope
from radguard.reports.sections.discovery import discovery_section
from radguard.reports.sections.findings import findings_section
from radguard.reports.sections.readiness import readiness_section
from radguard.reports.sections.resilience import resilience_section
from radguard.reports.sections.roadmap import roadmap_items
from radguard.response.services import load_services

Cli = Callable[..., Any]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


@dataclass
class _Collector(HTMLParser):
    found: list[Element] = field(default_factory=list)
    stack: list[tuple[Element, list[str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs})
        if tag in VOID:
            self.found.append(el)
        else:
            self.stack.append((el, []))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            el, parts = self.stack.pop()
            el.text = " ".join("".join(parts).split())
            self.found.append(el)
            if self.stack:
                self.stack[-1][1].append("".join(parts))
            if el.tag == tag:
                return

    def handle_data(self, data: str) -> None:
        if self.stack:
            self.stack[-1][1].append(data)


def elements(html: str, attribute: str) -> list[Element]:
    """Every element carrying ``attribute``, in document order."""
    parser = _Collector()
    parser.feed(html)
    parser.close()
    return [e for e in parser.found if attribute in e.attrs]


def page(client: TestClient, path: str) -> str:
    r = client.get(path)
    assert r.status_code == 200, (path, r.status_code, r.text[:500])
    return r.text


def api(client: TestClient, path: str) -> Any:
    r = client.get(path, headers={"accept": "application/json"})
    assert r.status_code == 200, (path, r.status_code, r.text[:500])
    return r.json()


def cli_json(rg: Cli, url: str, *args: str) -> Any:
    r = rg("--db", url, *args, "--json")
    assert r.code == 0, (args, r.err)
    return json.loads(r.out)


# --- open findings by severity and state ---------------------------------------------------------

Tally = dict[tuple[str, str], int]  # (severity, state) -> count of open findings


def _tally(pairs: list[tuple[str, str]]) -> Tally:
    return dict(sorted(Counter(pairs).items()))


def _api_findings(client: TestClient, state: str) -> list[dict[str, Any]]:
    """Every page, following each page's X-Next-Cursor (keyset paging) to the end."""
    out: list[dict[str, Any]] = []
    path = f"/api/v1/findings?state={state}&limit=100"
    while True:
        r = client.get(path, headers={"accept": "application/json"})
        assert r.status_code == 200, (path, r.status_code, r.text[:500])
        out += r.json()
        if "x-next-cursor" not in r.headers:
            return out
        path = f"/api/v1/findings?state={state}&limit=100&after={r.headers['x-next-cursor']}"


def _web_findings(client: TestClient, path: str) -> list[Element]:
    """The findings queue's rows over every page, following its "Next" links (cursor paging)."""
    out: list[Element] = []
    while True:
        html = page(client, path)
        out += elements(html, "data-finding")
        nxt = [e for e in elements(html, "rel") if e.attrs.get("rel") == "next"]
        if not nxt:
            return out
        path = nxt[0].attrs["href"]


def open_findings_by_surface(world_db: Database, url: str, client: TestClient, rg: Cli) -> dict[str, Tally]:
    cli = cli_json(rg, url, "findings", "list", "--state", "open")
    api_rows = _api_findings(client, "open")
    html = _web_findings(client, "/findings?state=open")
    with world_db.read() as session:
        scope = Scope(session)
        report = findings_section(scope).rows
        export = [r for r in finding_records(scope) if r["state"] in OPEN_STATES]
    return {
        "cli": _tally([(f["severity"], f["state"]) for f in cli]),
        "api": _tally([(f["severity"], f["state"]) for f in api_rows]),
        "web": _tally([(e.attrs["data-severity"], e.attrs["data-state"]) for e in html]),
        "report": _tally([(r.severity, r.state) for r in report]),
        "export": _tally([(r["severity"], r["state"]) for r in export]),
    }


def open_by_severity_by_surface(world_db: Database, client: TestClient, rg: Cli, url: str) -> dict[str, dict[str, int]]:
    """The dashboard's counts (page and API) beside counts of the listed findings."""
    cli = cli_json(rg, url, "findings", "list", "--state", "open")
    dash = api(client, "/api/v1/dashboard")
    card = elements(page(client, "/"), "data-count")
    with world_db.read() as session:
        report = dict(findings_section(Scope(session)).by_severity)
    listed = Counter(f["severity"] for f in cli)
    return {
        "cli": {s: listed.get(s, 0) for s in SEVERITIES},
        "api-dashboard": {c["key"]: c["count"] for c in dash["findings_by_severity"]},
        "web-dashboard": {e.attrs["data-severity"]: int(e.attrs["data-count"]) for e in card},
        "report": {s: report.get(s, 0) for s in SEVERITIES},
    }


def by_state_by_surface(world_db: Database, client: TestClient, rg: Cli, url: str) -> dict[str, dict[str, int]]:
    """Every finding per state (open or not) in the CLI, the API listing, the dashboard API, the export."""
    out: dict[str, dict[str, int]] = {}
    cli = cli_json(rg, url, "findings", "list")
    out["cli"] = {s: sum(1 for f in cli if f["state"] == s) for s in ALL_STATES}
    out["api"] = {s: len([f for f in _api_findings(client, s) if f["state"] == s]) for s in ALL_STATES}
    out["api-dashboard"] = {c["key"]: c["count"] for c in api(client, "/api/v1/dashboard")["findings_by_state"]}
    # The page's "open" filter also lists reopened findings (both count as open): count each row's own state.
    out["web"] = {s: sum(1 for e in _web_findings(client, f"/findings?state={s}")
                         if e.attrs["data-state"] == s) for s in ALL_STATES}
    with world_db.read() as session:
        rows = finding_records(Scope(session))
    out["export"] = {s: sum(1 for r in rows if r["state"] == s) for s in ALL_STATES}
    return out


# --- demonstrated recovery per service ------------------------------------------------------------

def recovery_by_surface(world_db: Database, client: TestClient, rg: Cli,
                        url: str) -> dict[str, dict[str, float | None]]:
    cli = cli_json(rg, url, "services", "continuity", "--outage", "72")
    api_rows = api(client, "/api/v1/services?outage=72")
    html = elements(page(client, "/readiness/services?outage=72"), "data-demonstrated")
    with world_db.read() as session:
        names = {s.name: s.key for s in load_services(session)}
        report = resilience_section(Scope(session)).services
    dash = api(client, "/api/v1/dashboard")

    def num(v: Any) -> float | None:
        return None if v in (None, "") else round(float(v), 2)

    out = {
        "cli": {s["service"]: num(s["demonstrated_recovery_hours"]) for s in cli["services"]},
        "api": {s["service"]: num(s["demonstrated_recovery_hours"]) for s in api_rows},
        "web": {e.attrs["data-service"]: num(e.attrs["data-demonstrated"]) for e in html},
        "report": {names[s.service]: num(s.demonstrated_hours) for s in report},
    }
    # The dashboard lists only the services whose RTO is not demonstrated; those must agree too.
    unproven = {u["key"]: num(u["demonstrated_hours"]) for u in dash["unproven_services"]}
    out["api-dashboard (unproven only)"] = {**{k: v for k, v in out["cli"].items() if k not in unproven}, **unproven}
    return out


# --- current maturity score -----------------------------------------------------------------------

def maturity_by_surface(world_db: Database, client: TestClient, rg: Cli, url: str) -> dict[str, Any]:
    cli = cli_json(rg, url, "checklist", "score")
    dash = api(client, "/api/v1/dashboard")["readiness"]
    card = elements(page(client, "/"), "data-score")
    with world_db.read() as session:
        report = readiness_section(Scope(session))
    return {
        "cli": (cli["assessment"]["id"], cli["overall"]["score"]),
        "api-dashboard": (dash["assessment_id"], dash["score"]),
        "api-checklist": (dash["assessment_id"],
                          api(client, f"/api/v1/checklists/{dash['assessment_id']}")["overall"]["score"]),
        "web-dashboard": (dash["assessment_id"], float(card[0].attrs["data-score"]) if card else None),
        "report": (dash["assessment_id"] if report.available else None, report.overall),
    }


# --- top five roadmap actions ----------------------------------------------------------------------

def top_actions_by_surface(world_db: Database, client: TestClient, rg: Cli, url: str) -> dict[str, list[str]]:
    cli = cli_json(rg, url, "roadmap")
    with world_db.read() as session:
        report = roadmap_items(Scope(session)).items
    return {
        "cli": [a["id"] for a in cli["actions"][:5]],
        "api-roadmap": [a["id"] for a in api(client, "/api/v1/roadmap?limit=5")["actions"]],
        "api-dashboard": [a["id"] for a in api(client, "/api/v1/dashboard")["roadmap_actions"]],
        "web-dashboard": [e.attrs["data-action"] for e in elements(page(client, "/"), "data-action")],
        "report": [i.action_id for i in report[:5]],
    }


# --- each endpoint's state --------------------------------------------------------------------------

def endpoint_states_by_surface(world_db: Database, client: TestClient, rg: Cli, url: str) -> dict[str, dict[str, str]]:
    """host:port → "open" or "not open" (the report lists open endpoints and names the others)."""

    def norm(state: str) -> str:
        return "open" if state == "open" else "not open"

    cli = cli_json(rg, url, "inventory", "endpoints")
    api_rows = api(client, "/api/v1/endpoints")
    web: dict[str, str] = {}
    for asset_id in sorted({e["asset_id"] for e in cli if e["asset_id"] is not None}):
        for e in elements(page(client, f"/inventory/{asset_id}"), "data-state"):
            if "data-endpoint" in e.attrs:
                web[e.attrs["data-endpoint"]] = norm(e.attrs["data-state"])
    with world_db.read() as session:
        section = discovery_section(Scope(session))
    report = {f"{r.host}:{r.port}": "open" for r in section.rows} | {w: "not open" for w in section.closed}
    return {
        "cli": {f"{e['host']}:{e['port']}": norm(e["state"]) for e in cli},
        "api": {f"{e['host']}:{e['port']}": norm(e["state"]) for e in api_rows},
        "web": web,
        "report": report,
    }
