"""The assessment engine on both engines: create, dedupe, close, reopen, expire, stay closed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Text, cast, event, func, select
from sqlalchemy.orm import Session

from radguard.checks.engine import AssessmentError, AssessSettings, assess, load_settings
from radguard.checks.findings import finding_record, transition
from radguard.checks.loader import Catalog
from radguard.checks.registry import CheckContext, Observation
from radguard.db.models.evidence import Attestation
from radguard.db.models.findings import Finding, FindingEvent
from radguard.db.session import Database
from radguard.errors import InputError
from radguard.inventory.importer import import_inventory
from tests.checks.conftest import NOW, asset
from tests.conftest import EXAMPLES


@pytest.fixture
def northwind_db(database: Database) -> Database:
    with database.transaction() as session:
        import_inventory(session, EXAMPLES / "northwind-inventory.yaml")
    return database


def _finding(session: Session, check_id: str, ref: str) -> Finding:
    target = asset(session, ref)
    found = session.scalar(select(Finding).where(Finding.check_id == check_id, Finding.asset_id == target.id))
    assert found is not None, (check_id, ref)
    return found


def test_assess_creates_once_and_never_duplicates(northwind_db: Database, own_catalog: Catalog) -> None:
    with northwind_db.transaction() as session:
        first = assess(session, catalog=own_catalog, now=NOW)
    assert first.created == first.observations > 40
    with northwind_db.transaction() as session:
        second = assess(session, catalog=own_catalog, now=NOW + timedelta(hours=1))
        total = session.scalar(select(func.count()).select_from(Finding))
        events = session.scalar(select(func.count()).select_from(FindingEvent))
        f = _finding(session, "RG-REMOTE-NO-MFA", "NWH-MAIN/CT-ED-1")
        assert f.last_seen == NOW + timedelta(hours=1) and f.first_seen == NOW
        assert f.state == "open" and f.risk_score > 0 and f.due is not None
        # The register stores the score's inputs; the explanation is rebuilt from them on reading.
        assert f.risk_explanation["severity"] == "critical" and "formula" not in f.risk_explanation
        explained = finding_record(f)["risk_explanation"]
        assert explained["severity"]["value"] == "critical" and explained["score"] == f.risk_score
        history = finding_record(f, events=True)["history"]
        assert [(h["to"], h["reason"], h["at"]) for h in history] == [("open", "first observed", NOW)]
    assert second.created == 0 and second.unchanged == first.observations
    # Creation is the finding's first_seen, not a stored event: nothing changed, nothing logged.
    assert total == first.created and events == 0


def test_mitigated_when_no_longer_observed_then_reopened(northwind_db: Database, own_catalog: Catalog) -> None:
    with northwind_db.transaction() as session:
        assess(session, catalog=own_catalog, now=NOW)
    with northwind_db.transaction() as session:
        session.add(Attestation(asset_id=asset(session, "NWH-MAIN/AI-TRIAGE").id, subject="baa_signed",
                                value="yes", attested_by="Privacy officer", attested_at=NOW,
                                evidence_link="https://contracts/42"))
    with northwind_db.transaction() as session:
        result = assess(session, catalog=own_catalog, now=NOW + timedelta(days=1))
        f = _finding(session, "RG-AI-NO-BAA", "NWH-MAIN/AI-TRIAGE")
        assert result.mitigated == 1
        assert f.state == "mitigated" and f.closed_at == NOW + timedelta(days=1)
        event = f.events[-1]
        assert (event.from_state, event.to_state, event.actor) == ("open", "mitigated", "radguard assess")
        assert event.evidence["observed"] is False
        assert event.evidence["last_observed_evidence"]["baa_signed"] == "no"
        assert event.evidence["attestations"][0]["subject"] == "baa_signed"
    with northwind_db.transaction() as session:
        session.execute(Attestation.__table__.delete())
    with northwind_db.transaction() as session:
        result = assess(session, catalog=own_catalog, now=NOW + timedelta(days=2))
        f = _finding(session, "RG-AI-NO-BAA", "NWH-MAIN/AI-TRIAGE")
        assert result.reopened == 1 and f.state == "reopened" and f.closed_at is None
        assert [e.to_state for e in f.events] == ["mitigated", "reopened"]
        assert [h["to"] for h in finding_record(f, events=True)["history"]] == ["open", "mitigated", "reopened"]
        count = session.scalar(select(func.count()).select_from(Finding).where(Finding.check_id == "RG-AI-NO-BAA"))
        assert count == 1


def test_risk_acceptance_expiry_reopens(northwind_db: Database, own_catalog: Catalog) -> None:
    with northwind_db.transaction() as session:
        assess(session, catalog=own_catalog, now=NOW)
        fid = _finding(session, "RG-REMOTE-ALWAYS-ON", "NWH-MAIN/CT-ED-1").id
        transition(session, fid, "accept", by="CISO", reason="vendor fix scheduled", until=NOW + timedelta(days=30),
                   now=NOW)
    with northwind_db.transaction() as session:
        assess(session, catalog=own_catalog, now=NOW + timedelta(days=10))
        assert session.get(Finding, fid).state == "risk_accepted"  # type: ignore[union-attr]
    with northwind_db.transaction() as session:
        result = assess(session, catalog=own_catalog, now=NOW + timedelta(days=31))
        f = session.get(Finding, fid)
        assert f is not None and f.state == "reopened" and result.acceptances_expired == 1
        assert "expired" in (f.events[-1].reason or "")


def test_false_positive_stays_closed(northwind_db: Database, own_catalog: Catalog) -> None:
    with northwind_db.transaction() as session:
        assess(session, catalog=own_catalog, now=NOW)
        fid = _finding(session, "RG-DICOM-NO-TLS", "NWH-MAIN/CT-ED-1").id
        transition(session, fid, "false-positive", by="PACS admin", reason="TLS proxy in front", now=NOW)
    with northwind_db.transaction() as session:
        assess(session, catalog=own_catalog, now=NOW + timedelta(days=1))
        f = session.get(Finding, fid)
        assert f is not None and f.state == "false_positive" and len(f.events) == 1


def test_a_failing_check_writes_nothing(northwind_db: Database, own_catalog: Catalog) -> None:
    catalog = Catalog(dict(own_catalog.entries))

    def broken(ctx: CheckContext) -> list[Observation]:
        raise ZeroDivisionError("boom")

    entry = catalog.entries["RG-NO-OWNER"]
    catalog.entries["RG-NO-OWNER"] = type(entry)(entry.spec, entry.source, broken)
    with pytest.raises(AssessmentError, match="RG-NO-OWNER"), northwind_db.transaction() as session:
        assess(session, now=NOW, catalog=catalog)
    with northwind_db.read() as session:
        assert session.scalar(select(func.count()).select_from(Finding)) == 0


def test_sla_from_settings(northwind_db: Database, tmp_path: Path, own_catalog: Catalog) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("sla:\n  internal: {critical: 7, high: 20, medium: 60, low: 120}\n")
    settings = load_settings(path)
    with northwind_db.transaction() as session:
        assess(session, catalog=own_catalog, now=NOW, settings=settings)
        f = _finding(session, "RG-REMOTE-NO-MFA", "NWH-MAIN/CT-ED-1")  # imaging-modalities: internal
        assert f.due == (NOW + timedelta(days=7)).date()
        dmz = _finding(session, "RG-DICOM-EXPOSED-DMZ", "NWH-MAIN/TELERAD-GW")  # high, DMZ default 30
        assert dmz.due == (NOW + timedelta(days=30)).date()
        assert finding_record(dmz)["risk_explanation"]["exposure"]["value"] == 1.0


def test_bad_settings_file_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("sla:\n  internal: {critical: -3}\n")
    with pytest.raises(InputError, match=r"bad.yaml, line 2, field 'sla.internal.critical'"):
        load_settings(path)
    assert AssessSettings().sla.internal.low is None  # HICP: discretionary


def test_settings_example_in_the_docs_is_valid(tmp_path: Path) -> None:
    from tests.conftest import ROOT

    text = (ROOT / "docs" / "findings.md").read_text()
    block = text.split("# radguard assess --settings radguard-settings.yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "radguard-settings.yaml"
    path.write_text(block)
    settings = load_settings(path)
    assert settings.sla.internal.critical == 30 and settings.parameters["stale_days"] == 180


@pytest.mark.parametrize(("observation", "problem"), [
    (Observation(asset_id=10**9), "not in the inventory"),
    (Observation(), "needs an asset_id or a subject"),
    (Observation(subject="organization", evidence={"x": object()}), "TypeError"),
])
def test_bad_observations_name_the_check(northwind_db: Database, own_catalog: Catalog, observation: Observation,
                                         problem: str) -> None:
    catalog = Catalog(dict(own_catalog.entries))
    entry = catalog.entries["RG-NO-OWNER"]
    catalog.entries["RG-NO-OWNER"] = type(entry)(entry.spec, entry.source, lambda ctx: [observation])
    with pytest.raises(AssessmentError, match=f"RG-NO-OWNER.*{problem}"), northwind_db.transaction() as session:
        assess(session, now=NOW, catalog=catalog)


def test_changed_evidence_is_kept_in_the_history(northwind_db: Database, own_catalog: Catalog) -> None:
    """The finding holds the latest evidence; each replaced document stays in the history."""
    with northwind_db.transaction() as session:
        assess(session, catalog=own_catalog, now=NOW)
        f = _finding(session, "RG-OS-UNSUPPORTED", "NWH-MAIN/CT-ED-1")
        first = dict(f.evidence)
        target = asset(session, "NWH-MAIN/CT-ED-1")
        target.os_version = "XP" if "XP" not in str(first) else "7"
    with northwind_db.transaction() as session:
        result = assess(session, catalog=own_catalog, now=NOW + timedelta(days=1))
        f = _finding(session, "RG-OS-UNSUPPORTED", "NWH-MAIN/CT-ED-1")
        assert result.updated >= 1 and f.evidence != first and f.state == "open"
        history = finding_record(f, events=True)["history"]
    assert [(h["from"], h["to"]) for h in history] == [(None, "open"), ("open", "open")]
    assert history[0]["evidence"] == first  # what was seen when the finding was opened
    assert history[1]["evidence"] == first and "evidence changed" in history[1]["reason"]
    with northwind_db.read() as session:
        stored = session.scalar(select(cast(Finding.evidence, Text)).where(Finding.id == f.id))
    if northwind_db.url.startswith("sqlite"):  # updated rows are written as the engine's own text
        assert stored is not None and '": ' not in stored
    with northwind_db.transaction() as session:
        third = assess(session, catalog=own_catalog, now=NOW + timedelta(days=1, minutes=5))
    assert third.updated == 0 and third.unchanged == result.observations


def test_registers_from_before_0013_read_as_before(northwind_db: Database, own_catalog: Catalog) -> None:
    """Full stored explanations and stored creation events (older registers) are shown as they are."""
    with northwind_db.transaction() as session:
        assess(session, catalog=own_catalog, now=NOW)
        f = _finding(session, "RG-REMOTE-NO-MFA", "NWH-MAIN/CT-ED-1")
        full = finding_record(f)["risk_explanation"]
        f.risk_explanation = full
        f.events.append(FindingEvent(at=NOW, actor="radguard assess", from_state=None, to_state="open",
                                     reason="first observed", evidence={"copied": True}))
    with northwind_db.transaction() as session:
        f = _finding(session, "RG-REMOTE-NO-MFA", "NWH-MAIN/CT-ED-1")
        record = finding_record(f, events=True)
        assert record["risk_explanation"] == full and "formula" in full
        assert [h["evidence"] for h in record["history"]] == [{"copied": True}]


def test_evidence_written_by_another_encoder_is_unchanged_and_rewritten_once(northwind_db: Database,
                                                                            own_catalog: Catalog) -> None:
    """A register from an older radguard (standard-library JSON text) is not reported as changed."""
    import json

    with northwind_db.transaction() as session:
        first = assess(session, catalog=own_catalog, now=NOW)
        for f in session.scalars(select(Finding)):
            session.execute(Finding.__table__.update().where(Finding.id == f.id)  # type: ignore[attr-defined]
                            .values(evidence=json.loads(json.dumps(f.evidence))))
    def texts() -> set[str]:
        with northwind_db.read() as session:
            return {t for t in session.scalars(select(cast(Finding.evidence, Text))) if t and t != "{}"}

    sqlite = northwind_db.url.startswith("sqlite")
    if sqlite:  # SQLite keeps the text as written (PostgreSQL's JSONB has its own)
        assert texts() and all('": ' in t for t in texts())  # the standard library's separators
    with northwind_db.transaction() as session:
        again = assess(session, catalog=own_catalog, now=NOW + timedelta(hours=1))
        assert (again.unchanged, again.updated, again.created) == (first.observations, 0, 0)
        assert session.scalar(select(func.count()).select_from(FindingEvent)) == 0
    if sqlite:
        assert not any('": ' in t for t in texts())  # rewritten once in the engine's own form
    statements: list[str] = []

    def record(conn: object, cursor: object, statement: str, *args: object) -> None:
        statements.append(statement)

    event.listen(northwind_db.engine, "before_cursor_execute", record)
    try:
        with northwind_db.transaction() as session:
            third = assess(session, catalog=own_catalog, now=NOW + timedelta(hours=2))
    finally:
        event.remove(northwind_db.engine, "before_cursor_execute", record)
    assert (third.unchanged, third.updated) == (first.observations, 0)
    # Once rewritten, nothing is written again but last_seen (no statement sets the evidence).
    updates = [st for st in statements if st.lstrip().upper().startswith("UPDATE")]
    assert updates and not any("evidence" in st for st in updates)


def test_touch_sets_last_seen_only_on_findings_observed_again(northwind_db: Database, own_catalog: Catalog) -> None:
    """Unchanged findings get last_seen by ID ranges; a closed finding in between keeps its own."""
    with northwind_db.transaction() as session:
        assess(session, catalog=own_catalog, now=NOW)
        closed = _finding(session, "RG-AI-NO-BAA", "NWH-MAIN/AI-TRIAGE")
        session.add(Attestation(asset_id=closed.asset_id, subject="baa_signed", value="yes",
                                attested_by="Privacy officer", attested_at=NOW, evidence_link="https://contracts/42"))
    with northwind_db.transaction() as session:
        assess(session, catalog=own_catalog, now=NOW + timedelta(days=1))  # closes it as mitigated
    with northwind_db.transaction() as session:
        assess(session, catalog=own_catalog, now=NOW + timedelta(days=1, hours=1))
        rows = session.execute(select(Finding.id, Finding.state, Finding.last_seen).order_by(Finding.id)).all()
    ids = [fid for fid, _, _ in rows]
    assert ids[0] < closed.id < ids[-1]  # inside the touched ranges, not at an edge
    for fid, state, last_seen in rows:
        if fid == closed.id:
            assert (state, last_seen) == ("mitigated", NOW)
        else:
            assert last_seen == NOW + timedelta(days=1, hours=1), (fid, state)
