"""The same fact is identical wherever it is read: CLI JSON, the API, the pages, the report data.

Runs on the demo scenario and on a scenario with history (tests/consistency/conftest.py). A
fact that two places compute differently — a second "current assessment" rule, a report that
counts tabletops as recoveries, an API whose ``state=open`` forgets ``reopened``, a report that
falls back to an older open probe — makes the surfaces disagree and fails here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from radguard.db.models.findings import Finding
from radguard.reports.scope import Scope
from radguard.reports.sections.readiness import readiness_section
from radguard.reports.sections.resilience import resilience_section
from tests.consistency import surfaces
from tests.consistency.conftest import ROUTER_DICOM, World


def _all_equal(by_surface: dict[str, Any]) -> Any:
    values = list(by_surface.values())
    assert all(v == values[0] for v in values[1:]), "surfaces disagree:\n" + "\n".join(
        f"  {name}: {value!r}" for name, value in by_surface.items())
    return values[0]


def test_open_findings_by_severity_and_state(world: World, rg: Any) -> None:
    tally = _all_equal(surfaces.open_findings_by_surface(world.db, world.url, world.client, rg))
    assert sum(tally.values()) > 10
    _all_equal(surfaces.open_by_severity_by_surface(world.db, world.client, rg, world.url))


def test_findings_per_state(world: World, rg: Any) -> None:
    per_state = _all_equal(surfaces.by_state_by_surface(world.db, world.client, rg, world.url))
    if world.name == "history":
        assert per_state["reopened"] >= 1 and per_state["mitigated"] >= 1


def test_demonstrated_recovery_per_service(world: World, rg: Any) -> None:
    recovery = _all_equal(surfaces.recovery_by_surface(world.db, world.client, rg, world.url))
    # The functional drill of March 2026 restored CT from detection in 6.5 h; no tabletop counts.
    assert recovery["ct-main"] == 6.5
    assert any(v is None for v in recovery.values())


def test_current_maturity_score(world: World, rg: Any) -> None:
    assessment_id, score = _all_equal(surfaces.maturity_by_surface(world.db, world.client, rg, world.url))
    assert score is not None and 0 < score <= 4
    if world.name == "history":
        from radguard.db.models.checklists import ChecklistAssessment

        with world.db.read() as session:
            current = session.get(ChecklistAssessment, assessment_id)
            assert current is not None
            # Organization-wide v2, not v1 (older) nor the site-level one (newer, created last).
            assert (current.site_code, current.version) == ("", 2)
            # A site-scoped report prefers the site's own (newest) assessment.
            assert readiness_section(Scope(session, site="NWH-OIC")).label.startswith("v1, 2026-10-01")
            assert readiness_section(Scope(session, site="NWH-MAIN")).label.startswith("v2, 2026-09-01")


def test_top_five_roadmap_actions(world: World, rg: Any) -> None:
    top = _all_equal(surfaces.top_actions_by_surface(world.db, world.client, rg, world.url))
    assert len(top) == 5 and len(set(top)) == 5


def test_each_endpoint_state(world: World, rg: Any) -> None:
    states = _all_equal(surfaces.endpoint_states_by_surface(world.db, world.client, rg, world.url))
    assert "open" in states.values()
    if world.name == "history":
        where = f"{ROUTER_DICOM[0]}:{ROUTER_DICOM[1]}"
        assert states[where] == "not open"  # closed at the newest scan, open at the one before
        with world.db.read() as session:
            # ... and the checks agree: the finding the open port caused is no longer open.
            on_port = [f for f in session.scalars(select(Finding).where(Finding.check_id.like("RG-DICOM-ANY-%")))
                       if (f.evidence or {}).get("endpoint") == where]
            assert on_port and all(f.state == "mitigated" for f in on_port)


def test_the_report_shows_the_one_recovery_definition(world: World) -> None:
    """The tabletop of the history scenario is newer and 'faster'; it is listed but demonstrates nothing."""
    with world.db.read() as session:
        section = resilience_section(Scope(session))
    ct = next(s for s in section.services if s.drill is not None and s.demonstrated_hours == 6.5)
    assert "functional" in (ct.drill or "").lower() or ct.drilled_on == "2026-03-18"
    if world.name == "history":
        tabletop = next(d for d in section.drills if d.key == "2026-10-ct-tabletop")
        assert tabletop.status == "completed" and tabletop.duration_hours is None

