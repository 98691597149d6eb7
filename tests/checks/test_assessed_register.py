"""The assessment hands its register to the cards and roll-ups: the same facts as reading it back.

``readiness.dashboard.assess`` stores the dashboard cards and the inventory roll-ups from the
register the engine holds in memory (``checks.register.AssessedRegister``), and the engine gives
new findings their IDs itself. Each is compared here with the plain path that reads the
database — ``checks.findings.open_findings``, ``finding_counts``, ``refresh_asset_rollups``,
``store_cards`` without a register, and IDs the database assigns — on both engines, after a
history that exercises every state (accepted, false positive, resolved, reopened, an asset
removed so the IDs have a gap, an asset added). A re-assessment changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Text, cast, delete, func, select, text
from sqlalchemy.orm import Session

from radguard.checks import engine
from radguard.checks.engine import AssessmentResult
from radguard.checks.findings import finding_counts, open_findings, refresh_asset_rollups, transition
from radguard.db.models.dashboard import DashboardSnapshot
from radguard.db.models.findings import OPEN_STATES, Finding
from radguard.db.models.inventory import Asset
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.readiness.checklists.assessments import create_assessment
from radguard.readiness.dashboard import assess, store_cards
from tests.checks.conftest import NOW, asset
from tests.conftest import EXAMPLES


def _findings(session: Session) -> list[tuple[Any, ...]]:
    """Every stored fact of every finding but the run's timestamps, by ID."""
    return [tuple(r) for r in session.execute(
        select(Finding.id, Finding.fingerprint, Finding.check_id, Finding.asset_id, Finding.subject, Finding.key,
               Finding.title, Finding.summary, Finding.severity, Finding.state, Finding.risk_score,
               cast(Finding.risk_explanation, Text), cast(Finding.evidence, Text), Finding.due, Finding.closed_at,
               Finding.accepted_until).order_by(Finding.id))]


def _compare_with_plain_path(session: Session, result: AssessmentResult) -> None:
    register = result.register
    assert register is not None
    # The roadmap's input and the counts, as the findings register's own queries read them.
    assert register.open_findings() == open_findings(session)
    assert register.counts() == finding_counts(session)
    # The same stored cards as computed by reading the register back.
    stored = session.scalars(select(DashboardSnapshot).order_by(DashboardSnapshot.id.desc())).first()
    assert stored is not None
    plain = store_cards(session, result.assessed_at)
    assert stored.payload == plain.payload and stored.payload["roadmap"]["actions"]
    # The roll-ups the run wrote are what the SQL roll-up computes: it finds nothing to change.
    assert refresh_asset_rollups(session) == 0
    opened = session.scalar(select(func.count()).select_from(Finding).where(Finding.state.in_(OPEN_STATES)))
    assert result.open_total == opened > 0
    # Every finding of the register is in the table, and no other.
    assert sorted(r.id for r in register.rows) == list(session.scalars(select(Finding.id).order_by(Finding.id)))


def _next_database_id(session: Session) -> int:
    """The ID the database itself gives the next finding (its own default: SQLite's or the sequence)."""
    probe = Finding(fingerprint="probe|||", check_id="RG-PROBE", key="", title="probe", severity="info")
    session.add(probe)
    session.flush()
    next_id = probe.id
    session.delete(probe)
    session.flush()
    return next_id


def test_cards_and_rollups_from_the_assessment_equal_the_plain_path(database: Database) -> None:
    with database.transaction() as session:
        import_inventory(session, EXAMPLES / "northwind-inventory.yaml")
        create_assessment(session, "Northwind Health", "medium")
    with database.transaction() as session:
        edited = {aid: at for aid, at in session.execute(select(Asset.id, Asset.updated_at))}
        first = assess(session, now=NOW)
        assert first.created == first.observations > 40
        _compare_with_plain_path(session, first)
        # The roll-ups were written (every asset with a finding changed) without stamping any
        # asset as edited.
        session.expire_all()
        assert session.scalar(select(func.count()).select_from(Asset).where(Asset.open_findings > 0)) >= 10
        assert {aid: at for aid, at in session.execute(select(Asset.id, Asset.updated_at))} == edited
        # New findings took the IDs the database would have given them, in order from 1.
        ids = list(session.scalars(select(Finding.id).order_by(Finding.id)))
        assert ids == list(range(1, first.created + 1))
    with database.transaction() as session:
        assert _next_database_id(session) == first.created + 1

    # A history: decisions of every kind, an asset removed (a gap in the IDs), one added.
    with database.transaction() as session:
        picked = session.scalars(select(Finding.id).where(Finding.asset_id.is_not(None)).order_by(Finding.id)).all()
        transition(session, picked[0], "accept", by="CISO", reason="fix scheduled", until=NOW + timedelta(days=20),
                   now=NOW)
        transition(session, picked[1], "false-positive", by="PACS admin", reason="proxy in front", now=NOW)
        transition(session, picked[2], "resolve", by="PACS admin", reason="patched", now=NOW)
        transition(session, picked[3], "accept", by="CISO", reason="replacement ordered",
                   until=NOW + timedelta(days=90), now=NOW)
        # A condition that goes away: that finding is mitigated by the next run.
        no_mfa = session.scalars(select(Finding).where(Finding.check_id == "RG-REMOTE-NO-MFA",
                                                       Finding.id.not_in(picked[:4])).order_by(Finding.id)).first()
        assert no_mfa is not None and no_mfa.asset_id is not None
        session.get(Asset, no_mfa.asset_id).remote_access_mfa = True  # type: ignore[union-attr]
        last = session.scalar(select(Finding).where(Finding.asset_id.is_not(None),
                                                    Finding.asset_id != no_mfa.asset_id,
                                                    Finding.id.not_in(picked[:4])).order_by(Finding.id.desc()).limit(1))
        assert last is not None and last.asset_id is not None
        session.execute(delete(Asset).where(Asset.id == last.asset_id))
        twin = asset(session, "NWH-MAIN/CT-ED-1")
        session.add(Asset(site_id=twin.site_id, name="CT-ED-9", asset_class=twin.asset_class,
                          vendor=twin.vendor, product=twin.product, os_name=twin.os_name, os_version=twin.os_version,
                          network_zone=twin.network_zone, remote_access=twin.remote_access,
                          remote_access_mfa=twin.remote_access_mfa, source="import"))
    with database.transaction() as session:
        top = session.scalar(select(func.max(Finding.id)))
        assert top is not None
        second = assess(session, now=NOW + timedelta(days=30))  # the acceptance has expired
        assert second.created > 0 and second.reopened >= 1 and second.acceptances_expired == 1
        _compare_with_plain_path(session, second)
        new_ids = list(session.scalars(select(Finding.id).where(Finding.first_seen == NOW + timedelta(days=30))
                                       .order_by(Finding.id)))
        # Consecutive, after every ID in use: SQLite's one past the largest left (the removed
        # asset's findings may have held it); PostgreSQL's sequence (which the probe moved on).
        assert new_ids == list(range(new_ids[0], new_ids[0] + second.created))
        assert new_ids[0] == top + 1 if database.engine.dialect.name == "sqlite" else new_ids[0] > top
        states = {s for s, in session.execute(select(Finding.state).distinct())}
        assert {"open", "reopened", "mitigated", "false_positive", "risk_accepted"} <= states
        assert second.mitigated >= 1
        before = _findings(session)
    with database.transaction() as session:
        assert _next_database_id(session) == new_ids[-1] + 1

    # Re-assessment at the same moment: nothing changes, the same cards are stored again.
    with database.transaction() as session:
        third = assess(session, now=NOW + timedelta(days=30))
        assert third.created == third.reopened == third.mitigated == third.updated == 0
        _compare_with_plain_path(session, third)
        assert _findings(session) == before
        payloads = [row.payload for row in session.scalars(
            select(DashboardSnapshot).order_by(DashboardSnapshot.id.desc()).limit(4))]
        # Newest first: the plain recomputation, the third run, the second's recomputation, the second run.
        assert payloads[1] == payloads[3]


def _finding_indexes(session: Session) -> list[tuple[str, str]]:
    """The finding table's index definitions as the database itself states them."""
    if session.get_bind().dialect.name == "sqlite":
        rows = session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                    "AND tbl_name = 'finding' ORDER BY name"))
    else:
        rows = session.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'finding' "
                                    "ORDER BY indexname"))
    return [(str(name), str(sql)) for name, sql in rows]


def test_a_first_assessment_that_builds_the_indexes_afterwards_leaves_them_as_migrated(
        database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # Northwind's first run is far below the size at which the engine builds the finding indexes
    # after inserting; lower the size so this run takes that path.
    monkeypatch.setattr(engine, "DEFER_INDEXES_AT", 1)
    with database.transaction() as session:
        import_inventory(session, EXAMPLES / "northwind-inventory.yaml")
        migrated = _finding_indexes(session)
        assert len(migrated) >= 8  # the fingerprint (and on PostgreSQL the primary key) and the model's seven
    with database.transaction() as session:
        first = assess(session, now=NOW)
        assert "write_indexes" in first.timings
        _compare_with_plain_path(session, first)
    with database.transaction() as session:
        assert _finding_indexes(session) == migrated
        second = assess(session, now=NOW + timedelta(hours=1))  # no new rows: indexes untouched
        assert second.created == 0 and "write_indexes" not in second.timings
        _compare_with_plain_path(session, second)
