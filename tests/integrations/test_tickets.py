"""Tickets: the ``jira`` client against a recorded contract of Jira Cloud's REST API (Jira cannot
run here: a local HTTP server replays the documented request/response shapes), and the
ServiceNow import-set CSV. Re-export updates, never duplicates; keys are stored on findings."""

from __future__ import annotations

import csv
import io
import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import select

from radguard.checks.findings import finding_record, get_finding, list_findings
from radguard.db.models.integrations import FindingTicket
from radguard.db.session import Database
from radguard.integrations.tickets import TicketError, export_jira, servicenow_import_set


class JiraContract:
    """Jira Cloud REST v2 as documented: POST /issue → 201 {id,key,self}; GET /issue/{key} →
    {id,key,self,fields}; PUT /issue/{id} → 204; GET /search/jql?jql= → {issues,isLast}."""

    def __init__(self) -> None:
        self.issues: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []
        self.base = ""
        self.refuse = False

    def handler(self) -> type[BaseHTTPRequestHandler]:
        contract = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, code: int, body: Any = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> Any:
                n = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(n)) if n else None

            def _issue(self, ref: str) -> dict[str, Any] | None:
                return next((i for i in contract.issues.values() if ref in (i["key"], i["id"])), None)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                contract.requests.append(("GET", url.path))
                assert self.headers["Authorization"].startswith("Basic ")
                if url.path == "/rest/api/2/search/jql":
                    jql = parse_qs(url.query)["jql"][0]
                    label = re.search(r'labels = "([^"]+)"', jql)[1]  # type: ignore[index]
                    hits = [{"id": i["id"], "key": i["key"]} for i in contract.issues.values()
                            if label in i["fields"]["labels"]]
                    return self._send(200, {"issues": hits, "isLast": True})
                if url.path.startswith("/rest/api/2/issue/"):
                    issue = self._issue(url.path.rsplit("/", 1)[1])
                    return self._send(200, issue) if issue else self._send(404, {"errorMessages": ["no issue"]})
                if url.path == "/rest/api/2/serverInfo":  # documented shape, Cloud deployment
                    return self._send(200, {"baseUrl": contract.base, "version": "1001.0.0-SNAPSHOT",
                                            "versionNumbers": [1001, 0, 0], "deploymentType": "Cloud",
                                            "buildNumber": 100294, "serverTitle": "Jira"})
                if url.path == "/rest/api/2/field":
                    return self._send(200, [])
                return self._send(404, {"errorMessages": [f"no route {url.path}"]})

            def do_POST(self) -> None:
                url = urlparse(self.path)
                contract.requests.append(("POST", url.path))
                body = self._body()
                if url.path == "/rest/api/2/issue":
                    fields = body["fields"]
                    if contract.refuse or not fields.get("summary") or "project" not in fields:
                        return self._send(400, {"errorMessages": [], "errors": {"summary": "required"}})
                    n = len(contract.issues) + 1
                    issue = {"id": str(10000 + n), "key": f"{fields['project']['key']}-{n}",
                             "self": f"{contract.base}/rest/api/2/issue/{10000 + n}", "fields": fields}
                    contract.issues[issue["key"]] = issue
                    return self._send(201, {k: issue[k] for k in ("id", "key", "self")})
                if url.path == "/rest/api/2/search/jql":
                    return self._send(405)
                return self._send(404, {"errorMessages": ["no route"]})

            def do_PUT(self) -> None:
                url = urlparse(self.path)
                contract.requests.append(("PUT", url.path))
                issue = self._issue(url.path.rsplit("/", 1)[1])
                if issue is None:
                    return self._send(404, {"errorMessages": ["no issue"]})
                issue["fields"].update(self._body()["fields"])
                return self._send(204)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def jira_server() -> Iterator[JiraContract]:
    contract = JiraContract()
    server = ThreadingHTTPServer(("127.0.0.1", 0), contract.handler())
    contract.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield contract
    server.shutdown()
    server.server_close()


def _client(contract: JiraContract) -> Any:
    from jira import JIRA

    return JIRA(server=contract.base, basic_auth=("soc@example.test", "api-token"), get_server_info=True,
                max_retries=0)


def test_jira_export_creates_then_updates(findings_db: Database, jira_server: JiraContract) -> None:
    client = _client(jira_server)
    with findings_db.transaction() as s:
        first = export_jira(s, client, "SEC")
    assert first["updated"] == [] and len(first["created"]) >= 3
    assert len(jira_server.issues) == len(first["created"])
    issue = next(iter(jira_server.issues.values()))
    assert issue["fields"]["issuetype"] == {"name": "Task"}
    fid = int(re.match(r"\[radguard #(\d+)\]", issue["fields"]["summary"])[1])  # type: ignore[index]
    assert f"radguard-finding-{fid}" in issue["fields"]["labels"]
    assert f"radguard finding ID: {fid}" in issue["fields"]["description"]
    with findings_db.transaction() as s:
        second = export_jira(s, client, "SEC")
    assert second["created"] == [] and sorted(second["updated"]) == sorted(first["created"])
    assert len(jira_server.issues) == len(first["created"])  # no duplicates
    assert ("PUT", f"/rest/api/2/issue/{issue['id']}") in jira_server.requests
    with findings_db.read() as s:
        assert finding_record(get_finding(s, fid))["tickets"] == {"jira": issue["key"]}
        listed = {f.id: finding_record(f)["tickets"] for f in list_findings(s)}
    assert listed[fid] == {"jira": issue["key"]}



def test_jira_refusal_is_a_clear_error_and_stores_nothing(findings_db: Database, jira_server: JiraContract) -> None:
    client = _client(jira_server)
    jira_server.refuse = True  # the documented 400 answer for a field the project does not allow
    with pytest.raises(TicketError, match=r"Jira refused finding .*HTTP 400"), findings_db.transaction() as s:
        export_jira(s, client, "SEC")
    with findings_db.read() as s:
        assert s.scalars(select(FindingTicket)).all() == []


def test_servicenow_import_set(findings_db: Database) -> None:
    with findings_db.transaction() as s:
        text = servicenow_import_set(s)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and all(r["u_radguard_finding_id"].startswith("RG-") for r in rows)
    kev = next(r for r in rows if r["u_check_id"] == "RG-KEV")
    assert kev["u_impact"] == "1" and kev["u_cmdb_ci"] == "PORTAL" and kev["u_location"] == "S"
    with findings_db.transaction() as s:
        assert servicenow_import_set(s) == text  # same findings: same rows (coalesce updates, no duplicates)
    with findings_db.read() as s:
        assert len(s.scalars(select(FindingTicket)).all()) == len(rows)


def test_ticket_key_is_shown_in_the_finding_views(findings_db: Database, sqlite_url: str, rg: Any) -> None:
    """After a ServiceNow export the key is on the finding: in ``findings show`` (text and JSON)."""
    with findings_db.transaction() as s:
        text = servicenow_import_set(s)
    first = next(csv.DictReader(io.StringIO(text)))
    finding_id = first["u_radguard_finding_id"].removeprefix("RG-")
    out = rg("--db", sqlite_url, "findings", "show", finding_id, "--json")
    assert out.code == 0 and json.loads(out.out)["tickets"] == {"servicenow": f"RG-{finding_id}"}
    out = rg("--db", sqlite_url, "findings", "show", finding_id)
    assert out.code == 0 and f"RG-{finding_id}" in out.out


def test_roadmap_actions_to_jira_update_not_duplicate(findings_db: Database, jira_server: JiraContract) -> None:
    from radguard.db.models.integrations import RoadmapTicket
    from radguard.integrations.tickets import export_roadmap_jira, roadmap_tickets
    from radguard.readiness.roadmap import build_roadmap

    with findings_db.read() as s:
        actions = build_roadmap(s)["actions"]
    assert len(actions) >= 2
    client = _client(jira_server)
    with findings_db.transaction() as s:
        first = export_roadmap_jira(s, client, "SEC")
    assert first["updated"] == [] and len(first["created"]) == len(actions) == len(jira_server.issues)
    top = actions[0]
    issue = next(i for i in jira_server.issues.values()
                 if f"radguard-action-{top['id']}" in i["fields"]["labels"])
    assert issue["fields"]["summary"].startswith(f"[radguard roadmap #1] {top['title']}"[:60])
    description = issue["fields"]["description"]
    assert f"radguard roadmap action: {top['id']}" in description
    assert all(f"radguard #{f['id']}" in description for f in top["why"]["findings"][:50])
    with findings_db.transaction() as s:
        second = export_roadmap_jira(s, client, "SEC")
    assert second["created"] == [] and sorted(second["updated"]) == sorted(first["created"])
    assert len(jira_server.issues) == len(actions)  # no duplicates
    with findings_db.read() as s:
        assert roadmap_tickets(s)[top["id"]] == {"jira": issue["key"]}
        assert len(s.scalars(select(RoadmapTicket)).all()) == len(actions)


def test_roadmap_servicenow_import_set(findings_db: Database) -> None:
    from radguard.integrations.tickets import ACTION_COLUMNS, roadmap_servicenow_import_set, roadmap_tickets
    from radguard.readiness.roadmap import build_roadmap

    with findings_db.transaction() as s:
        text = roadmap_servicenow_import_set(s)
        actions = build_roadmap(s)["actions"]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == ACTION_COLUMNS
    assert [r["u_radguard_action_id"] for r in rows] == [a["id"] for a in actions]
    assert [int(r["u_rank"]) for r in rows] == list(range(1, len(actions) + 1))
    finding_work = next(a for a in actions if a["why"]["findings"])
    row = next(r for r in rows if r["u_radguard_action_id"] == finding_work["id"])
    assert row["u_findings"].split() == [f"RG-{f['id']}" for f in finding_work["why"]["findings"]]
    with findings_db.read() as s:
        assert roadmap_tickets(s)[finding_work["id"]] == {"servicenow": f"RGA-{finding_work['id']}"}


def test_roadmap_servicenow_from_the_cli(findings_db: Database, sqlite_url: str, rg: Any, tmp_path: Any) -> None:
    out_file = tmp_path / "roadmap.csv"
    out = rg("--db", sqlite_url, "tickets", "servicenow", "--roadmap", "-o", str(out_file))
    assert out.code == 0, out.out
    rows = list(csv.DictReader(io.StringIO(out_file.read_text())))
    roadmap = json.loads(rg("--db", sqlite_url, "roadmap", "--json").out)
    assert [r["u_radguard_action_id"] for r in rows] == [a["id"] for a in roadmap["actions"]]
