"""A site-limited caller's roadmap comes from the stored per-site rows, not from ranking its findings.

``current_roadmap(scope=…)`` reads the ranking the assessment stored (``ranked_at`` set: a live
ranking has none) and must give exactly what ``build_roadmap(scope=…)`` gives for the same
register: for each one site, for two sites of three (their rows merged by stored risk), the full
document and the page's short form, on SQLite and PostgreSQL. Then a decision makes it stale,
still in the stored order.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from radguard.checks.findings import open_finding_ids, transition
from radguard.db.models.inventory import Asset, Site
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.readiness.dashboard import assess, rerank
from radguard.readiness.roadmap import build_roadmap
from radguard.readiness.roadmap_store import FIRST, current_roadmap, filter_actions
from tests.conftest import EXAMPLES

THIRD = "NWH-EAST"


def _plain(doc: dict[str, Any]) -> Any:
    return json.loads(json.dumps(doc, default=str))


def _short(doc: dict[str, Any]) -> dict[str, Any]:
    """The document as a page shows it: each action's first findings and their count."""
    return _plain({**doc, "actions": [{**a, "why": {**a["why"], "findings": a["why"]["findings"][:FIRST]},
                                        "findings_closed": a["findings_closed"]} for a in doc["actions"]]})


def _three_sites(database: Database) -> None:
    """Northwind's two sites, and a third one holding every other asset of the main campus."""
    with database.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
    with database.transaction() as s:
        main = s.scalars(select(Site).where(Site.code == "NWH-MAIN")).one()
        east = Site(code=THIRD, name="Northwind East Clinic", kind="practice")
        s.add(east)
        s.flush()
        moved = s.scalars(select(Asset).where(Asset.site_id == main.id).order_by(Asset.id)).all()[::2]
        assert moved
        for asset in moved:
            asset.site_id = east.id
    with database.transaction() as s:
        assess(s)
    # Some findings resolved at two sites, then ranked again: the progress summary counts them per site.
    with database.read() as s:
        picked = [f["id"] for scope in (frozenset({"NWH-OIC"}), frozenset({THIRD}))
                  for f in current_roadmap(s, full=True, scope=scope).doc["actions"][-1]["why"]["findings"][:2]]
    with database.transaction() as s:
        for fid in picked:
            transition(s, fid, "resolve", by="tester", reason="patched")
    with database.transaction() as s:
        rerank(s)


def test_a_site_view_is_the_live_ranking_of_its_sites_read_from_the_stored_rows(database: Database) -> None:
    _three_sites(database)
    scopes = [frozenset({"NWH-MAIN"}), frozenset({"NWH-OIC"}), frozenset({THIRD}),
              frozenset({"NWH-MAIN", THIRD}), frozenset({"NWH-OIC", THIRD})]
    with database.read() as s:
        whole = current_roadmap(s)
        assert whole.ranked_at is not None
        as_of = whole.doc["as_of"]
        orders = set()
        for scope in scopes:
            live = build_roadmap(s, today=as_of, scope=scope)
            assert live["actions"], scope
            full = current_roadmap(s, full=True, scope=scope)
            short = current_roadmap(s, scope=scope)
            assert full.ranked_at == short.ranked_at == whole.ranked_at, scope  # read, not ranked
            assert _plain(full.doc) == _plain(live), scope
            assert _short(short.doc) == _short(live), scope
            assert all(len(a["why"]["findings"]) <= FIRST for a in short.doc["actions"])
            orders.add(tuple(a["id"] for a in live["actions"]))
        assert len(orders) > 2  # the sites' rankings differ, so an organisation order would fail here
        progress = [current_roadmap(s, scope=scope).doc["summary"]["progress"]["findings_mitigated_last_90_days"]
                    for scope in scopes]
        oic, east = progress[1], progress[2]
        assert oic >= 1 and east >= 1 and progress == [0, oic, east, east, oic + east]  # summed per scope
        assert any(a["findings_closed"] > FIRST for a in live["actions"])

        # One site within a two-site scope: that scope's ranking, listing only the site's findings.
        scope = frozenset({"NWH-MAIN", THIRD})
        ranked = build_roadmap(s, today=as_of, scope=scope)
        expected = filter_actions(ranked["actions"], finding_ids=open_finding_ids(s, site=THIRD, scope=scope))
        for full in (False, True):
            got = current_roadmap(s, site=THIRD, full=full, scope=scope).doc["actions"]
            assert [(a["rank"], a["id"], a["findings_closed"]) for a in got] == \
                [(a["rank"], a["id"], a["findings_closed"]) for a in expected]
            assert [[f["id"] for f in a["why"]["findings"]][:FIRST] for a in got] == \
                [[f["id"] for f in a["why"]["findings"]][:FIRST] for a in expected]
        assert len(expected) < len(ranked["actions"]) or any(
            e["findings_closed"] < r["findings_closed"] for e, r in zip(expected, ranked["actions"], strict=False))

    # A decision: the site's view stays the stored ranking, and says it is stale.
    scope = frozenset({"NWH-OIC"})
    with database.read() as s:
        before = current_roadmap(s, scope=scope)
        top = before.doc["actions"][0]
        ids = sorted(open_finding_ids(s, scope=scope) & {f["id"] for f in current_roadmap(
            s, full=True, scope=scope).doc["actions"][0]["why"]["findings"]})
    with database.transaction() as s:
        for fid in ids:
            transition(s, fid, "resolve", by="tester", reason="patched")
    with database.read() as s:
        after = current_roadmap(s, scope=scope)
        assert after.stale and after.ranked_at == before.ranked_at
        assert [a["id"] for a in after.doc["actions"]] == [a["id"] for a in before.doc["actions"]]
        assert top["id"] not in [a["id"] for a in build_roadmap(s, scope=scope)["actions"]]
