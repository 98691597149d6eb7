"""The roadmap stored at the end of an assessment (#18) is the live ranking of that moment.

Every read of it (the whole document, the page's short form, one site's view) is compared with
what ``build_roadmap`` and the live site filter give for the same register, on SQLite and
PostgreSQL; then a decision makes it stale and a re-rank makes it current again.
"""

from __future__ import annotations

import json
from typing import Any

from radguard.checks.findings import open_finding_ids, transition
from radguard.db.models.findings import Finding
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.inventory.queries import site_codes, site_id_for
from radguard.readiness.dashboard import assess, rerank
from radguard.readiness.roadmap import build_roadmap, to_csv, to_markdown
from radguard.readiness.roadmap_store import FIRST, current_roadmap, filter_actions, stored_roadmap
from tests.conftest import EXAMPLES


def _plain(doc: dict[str, Any]) -> Any:
    return json.loads(json.dumps(doc, default=str))


def _short(actions: list[dict[str, Any]]) -> list[tuple[int, str, int, list[int]]]:
    """What a page shows of each action: rank, ID, how many findings, the first few of them."""
    return [(a["rank"], a["id"], a["findings_closed"], [f["id"] for f in a["why"]["findings"][:FIRST]])
            for a in actions]


def test_the_stored_roadmap_is_the_live_ranking_until_a_decision_and_a_rerank(database: Database) -> None:
    with database.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
    with database.transaction() as s:
        assess(s)
    with database.read() as s:
        full = stored_roadmap(s, full=True)
        short = stored_roadmap(s)
        assert full is not None and short is not None and not full.stale and full.ranked_at is not None
        live = build_roadmap(s, today=full.doc["as_of"])
        assert len(live["actions"]) >= 3 and any(len(a["why"]["findings"]) > FIRST for a in live["actions"])
        # The whole stored document is the live one, finding by finding (what the JSON export gives).
        assert _plain(full.doc) == _plain(live)
        # The short form lists only the first findings, and every output cut from it is the same.
        assert all(len(a["why"]["findings"]) <= FIRST for a in short.doc["actions"])
        assert _short(short.doc["actions"]) == _short(live["actions"])
        assert to_csv(short.doc) == to_csv(live) and to_markdown(short.doc) == to_markdown(live)
        # One site's view, from the per-site rows, is the live filter over that site's findings.
        sites = site_codes(s)
        assert len(sites) >= 2
        narrowed = 0
        for code in sites:
            view = stored_roadmap(s, site_ids=[site_id_for(s, code)])
            assert view is not None
            expected = filter_actions(live["actions"], finding_ids=open_finding_ids(s, site=code))
            assert _short(view.doc["actions"]) == _short(expected), code
            narrowed += len(expected) < len(live["actions"])
        assert narrowed  # at least one site's view leaves actions out, so the comparison can fail
        # The owner filter keeps ranks.
        owner = next(a["owner"] for a in reversed(live["actions"]) if a["owner"])
        mine = current_roadmap(s, owner=owner).doc["actions"]
        assert mine and [a["rank"] for a in mine] == [a["rank"] for a in live["actions"] if a["owner"] == owner]
        top = next(a for a in live["actions"] if a["kind"] == "finding")
        decided = top["why"]["findings"][0]["id"]

    # A decision: the stored ranking is kept, and says it is stale.
    with database.transaction() as s:
        transition(s, decided, "resolve", by="tester", reason="patched")
    with database.read() as s:
        after = current_roadmap(s, full=True)
        assert after.stale and after.ranked_at == full.ranked_at
        assert decided in [f["id"] for f in after.doc["actions"][top["rank"] - 1]["why"]["findings"]]

    # A re-rank: current again, without the decided finding, equal to a live ranking.
    with database.transaction() as s:
        rerank(s)
    with database.read() as s:
        again = current_roadmap(s, full=True)
        assert not again.stale and again.ranked_at is not None and again.ranked_at > full.ranked_at
        listed = {f["id"] for a in again.doc["actions"] for f in a["why"]["findings"]}
        assert decided not in listed and s.get(Finding, decided).state == "mitigated"
        assert _plain(again.doc) == _plain(build_roadmap(s, today=again.doc["as_of"]))
        # Another capacity than the stored one's is ranked live, not read.
        other = current_roadmap(s, capacity=again.doc["summary"]["capacity_per_30_days"] * 2)
        assert other.ranked_at is None
