"""One prioritised list: the executive report's top risks and top actions, the dashboard's roadmap
card and `radguard roadmap` are cut from the same ranking, so none of them can contradict another."""

from __future__ import annotations

import json
import re
from html import unescape
from typing import Any

from radguard.db.session import open_database
from radguard.reports.build import build_report
from radguard.reports.render import render_html
from radguard.web.routes.dashboard import roadmap_card


def _cli_roadmap(rg: Any, url: str, *extra: str) -> dict[str, Any]:
    r = rg("--db", url, "roadmap", "--json", *extra)
    assert r.code == 0, r.err
    doc: dict[str, Any] = json.loads(r.out)
    return doc


def test_executive_top_risks_and_top_actions_follow_the_roadmap(rg, northwind_url: str) -> None:  # type: ignore[no-untyped-def]
    doc = _cli_roadmap(rg, northwind_url)
    ranked = doc["actions"]
    top_five = [a["id"] for a in ranked[:5]]
    first_fixes = [a["id"] for a in ranked if a["kind"] == "finding"][:5]
    db = open_database(northwind_url)
    try:
        with db.read() as session:
            report = build_report(session, "executive")
            site = build_report(session, "executive", site="NWH-OIC")
            card = roadmap_card(session)
    finally:
        db.dispose()

    # Top actions: the roadmap's first five, in its order, on the report and the dashboard card.
    assert [i.action_id for i in report.roadmap.top] == top_five == [a["id"] for a in card["actions"]]
    assert [i.rank for i in report.roadmap.top] == [1, 2, 3, 4, 5]
    # Top risks: the first five roadmap actions that fix findings, in the roadmap's order.
    assert len(report.risks) == 5
    assert [k.check_id for k in report.risks] == first_fixes
    ranks = [k.rank for k in report.risks]
    assert ranks == sorted(ranks) and ranks == [a["rank"] for a in ranked if a["id"] in first_fixes]
    # So the two lists agree: every finding action among the top five is a top risk, at the same place.
    fixes_in_top = [a["id"] for a in ranked[:5] if a["kind"] == "finding"]
    assert [k.check_id for k in report.risks][: len(fixes_in_top)] == fixes_in_top
    by_id = {a["id"]: a for a in ranked}
    for k in report.risks:
        a = by_id[k.check_id]
        assert k.horizon == a["horizon"] and k.count == len(a["why"]["findings"])
        assert k.risk_score == max(f["risk_score"] for f in a["why"]["findings"])
    # The ranking column the report shows is monotone, as the roadmap's is.
    shown = [i.ranked_priority for i in report.roadmap.items if not by_id[i.action_id]["pinned"]]
    assert shown == sorted(shown, reverse=True)

    # What a reader sees: the risks and the top actions in that order, with their roadmap ranks.
    text = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", render_html(report))))
    risks_part = text[text.index("The five risks that matter most"):text.index("Backups and drills")]
    positions = [risks_part.index(f"Roadmap #{k.rank} ") for k in report.risks]
    assert positions == sorted(positions)
    top_part = text[text.index("Top of the roadmap"):text.index("Framework coverage")]
    cells = [top_part.index(f" {i.rank} {i.horizon} {i.plain_title[:40]}") for i in report.roadmap.top]
    assert cells == sorted(cells)

    # A site report keeps the ranking: its risks are the best-ranked checks with findings at the site.
    site_ids = [k.check_id for k in site.risks]
    assert site_ids == [c for c in [a["id"] for a in ranked if a["kind"] == "finding"] if c in site_ids]
    site_rows = {r.id for r in site.findings.rows}
    assert all(set(k.finding_ids) <= site_rows for k in site.risks)
    assert [i.action_id for i in site.roadmap.top] == top_five  # the roadmap is organization-wide


def test_capacity_changes_horizons_not_the_top_five(rg, northwind_url: str) -> None:  # type: ignore[no-untyped-def]
    default = _cli_roadmap(rg, northwind_url)
    tight = _cli_roadmap(rg, northwind_url, "--capacity", "2")
    assert [a["id"] for a in tight["actions"]] == [a["id"] for a in default["actions"]]
    moved = [a["id"] for a, b in zip(default["actions"], tight["actions"], strict=True) if a["horizon"] != b["horizon"]]
    assert moved, "a fifth of the capacity must move some actions to later horizons"
    for label, limit in tight["summary"]["horizon_limits"].items():
        if limit is None:
            continue
        held = [a for a in tight["actions"] if a["horizon"] == label and not a["pinned"]]
        assert all(a["cumulative_effort"] <= limit for a in held)
    assert tight["summary"]["by_horizon"]["0-30 days"] < default["summary"]["by_horizon"]["0-30 days"]
