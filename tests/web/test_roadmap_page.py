"""The /roadmap page (#19): the readiness stage's ranking, filters by site and owner, the CLI's exports."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard import wording
from radguard.checks.findings import transition
from radguard.db.models.findings import Finding
from radguard.db.models.inventory import Asset, Site
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.readiness.dashboard import assess
from radguard.readiness.roadmap import build_roadmap
from tests.conftest import EXAMPLES
from tests.web.conftest import csrf_of
from tests.web.test_rerank_job import wait_for_rerank

ROW = re.compile(r'<tr id="action-(\d+)" data-action="([^"]+)" data-owner="([^"]*)">')


def _seed(db: Database) -> dict[str, Any]:
    with db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
    with db.transaction() as s:
        assess(s)
    with db.read() as s:
        return build_roadmap(s)


def _rows(html: str) -> list[tuple[int, str, str]]:
    return [(int(rank), action, owner) for rank, action, owner in ROW.findall(html)]


def test_page_shows_the_ranking_with_owner_and_the_findings_it_closes(
        web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    doc = _seed(web_db)
    assert len(doc["actions"]) >= 3
    page = client_for("viewer").get("/roadmap")
    assert page.status_code == 200
    rows = _rows(page.text)
    assert rows == [(a["rank"], a["id"], a["owner"]) for a in doc["actions"]]  # build_roadmap's order, unchanged
    first = next(a for a in doc["actions"] if a["kind"] == "finding")
    row_html = page.text.split(f'id="action-{first["rank"]}"', 1)[1].split("</tr>", 1)[0]
    for f in first["why"]["findings"][:5]:
        assert f'href="/findings/{f["id"]}"' in row_html
    if len(first["why"]["findings"]) > 5:  # the rest: the findings list for that check
        assert f'href="/findings?check={first["id"]}">and {len(first["why"]["findings"]) - 5} more' in row_html
    assert first["horizon"] in row_html and "None" not in row_html and "[" not in row_html
    assert '<a href="/roadmap">Roadmap</a>' in page.text  # in the navigation


def test_site_and_owner_filters_narrow_the_list_and_keep_the_choice(
        web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    doc = _seed(web_db)
    c = client_for("viewer")
    with web_db.read() as s:
        site_id = s.scalar(select(Site.id).where(Site.code == "NWH-OIC"))
        at_site = set(s.scalars(select(Finding.id).join(Asset, Asset.id == Finding.asset_id)
                                .where(Asset.site_id == site_id, Finding.state == "open")))
        org_wide = set(s.scalars(select(Finding.id).where(Finding.asset_id.is_(None), Finding.state == "open")))
    assert at_site
    wanted = at_site | org_wide
    expected = [a["id"] for a in doc["actions"]
                if a["kind"] != "finding" or any(f["id"] in wanted for f in a["why"]["findings"])]
    page = c.get("/roadmap", params={"site": "NWH-OIC"})
    assert page.status_code == 200
    assert [r[1] for r in _rows(page.text)] == expected and len(expected) < len(doc["actions"])
    assert '<option value="NWH-OIC" selected>' in page.text
    linked = {int(x) for x in re.findall(r'href="/findings/(\d+)"', page.text)}
    assert linked and linked <= wanted  # another site's findings are not listed

    owner = next(a["owner"] for a in reversed(doc["actions"]) if a["owner"])
    page = c.get("/roadmap", params={"owner": owner})
    rows = _rows(page.text)
    assert rows and {r[2] for r in rows} == {owner}
    assert [r[0] for r in rows] == [a["rank"] for a in doc["actions"] if a["owner"] == owner]  # ranks kept
    assert f'<option value="{owner}" selected>' in page.text

    nobody = c.get("/roadmap", params={"owner": "Nobody at all"})
    assert nobody.status_code == 200 and not _rows(nobody.text) and "No roadmap action for this filter" in nobody.text
    assert c.get("/roadmap", params={"site": "NO-SUCH-SITE"}).status_code == 404


def test_exports_equal_the_cli(web_db: Database, client_for: Callable[[str], TestClient], rg: Any) -> None:
    _seed(web_db)
    c = client_for("viewer")
    csv_r = c.get("/roadmap.csv")
    assert csv_r.status_code == 200 and csv_r.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv_r.headers["content-disposition"]
    cli_csv = rg("--db", web_db.url, "roadmap", "--format", "csv")
    assert cli_csv.code == 0 and csv_r.text == cli_csv.out and cli_csv.out.count("\n") > 3
    json_r = c.get("/roadmap.json")
    assert json_r.status_code == 200
    cli_json = rg("--db", web_db.url, "roadmap", "--json")
    assert cli_json.code == 0 and json_r.json() == json.loads(cli_json.out)


def test_anonymous_is_sent_to_sign_in(app: FastAPI, web_db: Database) -> None:
    _seed(web_db)
    with TestClient(app, base_url="https://testserver") as c:
        c.headers["accept"] = "text/html"
        for path in ("/roadmap", "/roadmap.csv", "/roadmap.json"):
            r = c.get(path, follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), path


def test_finding_page_links_its_asset_and_its_roadmap_action_and_reads_the_evidence(
        web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    doc = _seed(web_db)
    # The lowest-ranked finding action, so a link to the first rank would be wrong.
    action = next(a for a in reversed(doc["actions"]) if a["kind"] == "finding" and a["rank"] > 1)
    with web_db.read() as s:
        finding = next(f for f in s.scalars(select(Finding).where(Finding.check_id == action["id"],
                                                                   Finding.asset_id.is_not(None))))
        fid, asset_id, evidence = finding.id, finding.asset_id, dict(finding.evidence)
    assert evidence
    c = client_for("viewer")
    page = c.get(f"/findings/{fid}").text
    assert f'<a href="/roadmap#action-{action["rank"]}">action {action["rank"]},' in page
    assert f'href="/inventory/{asset_id}"' in page
    table = page.split('id="evidence"', 1)[1].split("</table>", 1)[0]
    for name, text in wording.evidence_rows(evidence):
        assert f'<th scope="row">{html.escape(name)}</th><td>{html.escape(text)}</td>' in table
    assert "{" not in table and "None" not in table and "True" not in table and "False" not in table

    # The asset page lists and links each of its findings.
    with web_db.read() as s:
        own = list(s.scalars(select(Finding.id).where(Finding.asset_id == asset_id)))
    asset_page = c.get(f"/inventory/{asset_id}").text
    assert own and all(f'<a href="/findings/{i}">' in asset_page for i in own)

    # Once mitigated, the finding is in no action: no roadmap link.
    with web_db.transaction() as s:
        for f in s.scalars(select(Finding).where(Finding.check_id == action["id"])):
            f.state = "mitigated"
    page = c.get(f"/findings/{fid}").text
    assert "/roadmap#action-" not in page and 'id="roadmap-action"' not in page


def test_a_decision_makes_the_stored_ranking_stale_until_a_rerank(
        web_db: Database, client_for: Callable[[str], TestClient], rg: Any) -> None:
    doc = _seed(web_db)
    action = next(a for a in reversed(doc["actions"]) if a["kind"] == "finding" and len(a["why"]["findings"]) > 1)
    fid, other = action["why"]["findings"][0]["id"], action["why"]["findings"][1]["id"]
    viewer, assessor = client_for("viewer"), client_for("assessor")
    page = viewer.get("/roadmap").text
    assert 'id="ranked-at"' in page and "not yet reflected" not in page
    assert "Re-rank now" not in page  # a viewer cannot re-rank
    assert "not yet reflected" not in viewer.get(f"/findings/{other}").text

    r = assessor.post("/findings/decide", data={"ids": [str(fid)], "action": "resolve", "reason": "patched",
                                                "back": "/findings", "csrf_token": csrf_of(assessor)},
                      follow_redirects=False)
    assert r.status_code == 303
    page = assessor.get("/roadmap").text
    assert "decisions since then are not yet reflected. Re-rank to include them." in page and "Re-rank now" in page
    assert f'href="/findings/{fid}"' in page  # still the stored ranking
    finding = viewer.get(f"/findings/{other}").text
    assert f'action {action["rank"]},' in finding and 'id="roadmap-stale"' in finding
    assert "decisions since then are not yet reflected" in finding
    cli = rg("--db", web_db.url, "roadmap", "--format", "csv")
    assert cli.code == 0 and "not yet reflected" in cli.err and "radguard roadmap --re-rank" in cli.err

    r = assessor.post("/roadmap/rerank", data={"csrf_token": csrf_of(assessor)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/roadmap#rerank-job"
    wait_for_rerank(assessor)  # a background job (tests/web/test_rerank_job.py)
    page = assessor.get("/roadmap").text
    assert "not yet reflected" not in page and f'href="/findings/{fid}"' not in page
    assert "not yet reflected" not in viewer.get(f"/findings/{other}").text
    with web_db.read() as s:
        assert [(a["rank"], a["id"]) for a in build_roadmap(s)["actions"]] == \
            [(int(rank), aid) for rank, aid, _ in _rows(page)]
    assert viewer.post("/roadmap/rerank", data={"csrf_token": csrf_of(viewer)}).status_code == 403

    # The CLI re-ranks too, and then says nothing about staleness.
    with web_db.transaction() as s:
        transition(s, other, "resolve", by="tester", reason="patched")
    assert "not yet reflected" in rg("--db", web_db.url, "roadmap").err
    again = rg("--db", web_db.url, "roadmap", "--re-rank", "--format", "csv")
    assert again.code == 0 and "not yet reflected" not in again.err
    assert again.out == viewer.get("/roadmap.csv").text
