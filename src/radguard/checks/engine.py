"""The assessment: run every check, then bring the findings register up to date.

``assess`` reads the inventory, evidence and attestations through the evaluators, and turns
their observations into findings inside the caller's transaction:

* a new observation creates an ``open`` finding (with risk score and due date);
* an observation of a ``mitigated`` finding reopens it (``reopened``, new due date);
* a ``risk_accepted`` finding whose acceptance has expired is reopened if still observed;
* an ``open``/``reopened``/``risk_accepted`` finding that is no longer observed is closed as
  ``mitigated``, and its event records what the assessment saw instead;
* ``false_positive`` findings stay closed whatever is observed.

Findings are keyed by fingerprint (check, asset or subject, key), so re-running never adds
duplicates. Reads and writes are bulk (a handful of statements whatever the fleet size),
because an enterprise has tens of thousands of assets and the assessment must stay fast.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import Any, cast

import orjson
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator
from sqlalchemy import JSON, Column, MetaData, Table, Text, TypeDecorator, bindparam, func, select, update
from sqlalchemy import cast as cast_
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from radguard.checks.attestations import attestation_index
from radguard.checks.findings import write_asset_rollups
from radguard.checks.loader import Catalog, default_catalog
from radguard.checks.register import AssessedRegister, RegisterRow
from radguard.checks.registry import CheckContext, Observation
from radguard.checks.risk import score, score_inputs, signal_name
from radguard.checks.sla import SlaPolicy
from radguard.checks.spec import CheckSpec
from radguard.db.base import utcnow
from radguard.db.models.evidence import Evidence
from radguard.db.models.findings import (
    ASSESS_ACTOR,
    EVIDENCE_CHANGED,
    OPEN_STATES,
    Finding,
    FindingEvent,
    fingerprint,
)
from radguard.db.models.inventory import Asset
from radguard.errors import InputError, RadguardError
from radguard.textfiles import node_line, parse_yaml_nodes, read_text
from radguard.validate import time_zone

_CHUNK = 5000
# A RegisterRow from a plain tuple in C: its generated __new__ costs three times as much, 0.2 s
# for a first assessment's 352,040 rows.
_register_row = partial(tuple.__new__, RegisterRow)
# A run that adds at least this many findings, and more than the register holds, builds the
# finding table's secondary indexes after inserting instead of row by row (see _write).
DEFER_INDEXES_AT = 20_000


class AssessmentError(RadguardError):
    """A check could not be evaluated; nothing was written."""


class CheckParameters(BaseModel):
    """The check parameters an organisation may tune (docs/findings.md), each with its bounds.

    A misspelt name or a value of the wrong type or out of range is refused when the settings
    file is read, with its line, rather than failing inside a check halfway through the run.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    stale_days: int | None = Field(default=None, ge=1, le=36500)
    eos_near_years: float | None = Field(default=None, gt=0, le=50)
    general_zones: list[str] | None = None
    exposed_zones: list[str] | None = None
    advisories_include_needs_review: StrictBool | None = None
    drill_interval_days: int | None = Field(default=None, ge=1, le=3650)
    team_max_roles: int | None = Field(default=None, ge=1, le=100)
    contact_verify_days: int | None = Field(default=None, ge=1, le=3650)
    backup_verify_days: int | None = Field(default=None, ge=1, le=3650)
    training_completion_min: float | None = Field(default=None, ge=0, le=1)
    phish_click_rate_max: float | None = Field(default=None, ge=0, le=1)
    phish_report_drop: float | None = Field(default=None, ge=0, le=1)


class AssessSettings(BaseModel):
    """What an organisation may tune: SLA days and check parameters (docs/findings.md)."""

    model_config = ConfigDict(extra="forbid")

    sla: SlaPolicy = Field(default_factory=SlaPolicy)
    # Per-parameter overrides read by evaluators, e.g. {"stale_days": 180, "eos_near_years": 3};
    # only the names the file gives (evaluators fall back to their defaults for the rest).
    parameters: dict[str, Any] = Field(default_factory=dict)
    # The IANA zone people at the organisation read and type times in (the web app's date-time
    # fields and the times it shows); stored times stay UTC.
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return time_zone(value).key

    @field_validator("parameters")
    @classmethod
    def _known(cls, value: dict[str, Any]) -> dict[str, Any]:
        return CheckParameters.model_validate(value).model_dump(exclude_none=True)


def load_settings(path: Path | None) -> AssessSettings:
    """Read a settings YAML file with the strict reader; errors name the file, line and field."""
    if path is None:
        return AssessSettings()
    source = str(path)
    doc, node = parse_yaml_nodes(read_text(path), source)
    if doc is None:
        raise InputError(source, None, None, "the settings file holds only comments; give sla: or parameters:")
    if not isinstance(doc, dict):
        raise InputError(source, "line 1", None, "the settings file must be a mapping with sla: and parameters:")
    try:
        return AssessSettings.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"] if p != "[key]"]
        line = node_line(node, loc)
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            msg = "unknown name; check the spelling against docs/findings.md"
        raise InputError(source, f"line {line}" if line else None, ".".join(str(p) for p in loc), msg) from None


@dataclass
class AssessmentResult:
    assessed_at: datetime
    checks: int = 0
    observations: int = 0
    created: int = 0
    reopened: int = 0
    mitigated: int = 0
    acceptances_expired: int = 0
    updated: int = 0
    unchanged: int = 0
    open_total: int = 0
    open_by_severity: dict[str, int] = field(default_factory=dict)
    observed_by_check: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    # The register as this run left it, for the summaries computed right after in the same
    # transaction (readiness.dashboard.assess); not part of the result's serialised shape.
    register: AssessedRegister | None = field(default=None, repr=False, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "assessed_at": self.assessed_at, "checks": self.checks, "observations": self.observations,
            "created": self.created, "reopened": self.reopened, "mitigated": self.mitigated,
            "acceptances_expired": self.acceptances_expired, "updated": self.updated,
            "unchanged": self.unchanged, "open": self.open_total, "open_by_severity": self.open_by_severity,
            "observed_by_check": self.observed_by_check, "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


def _json_default(value: Any) -> Any:
    """What orjson does not write itself (it writes dates and datetimes as ISO 8601)."""
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"evidence cannot hold a {type(value).__name__}")


def _encode(value: Any) -> str:
    """Compact JSON text, with dates and sets handled.

    orjson, because an assessment serialises every observation's evidence (a quarter of a million
    documents for a large fleet) and the standard encoder took most of a second for them.
    """
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS).decode()


class _Seen:
    """One observation with its evidence serialised once (C encoder), decoded only if stored."""

    __slots__ = ("_evidence", "obs", "spec", "text")

    def __init__(self, spec: CheckSpec, obs: Observation, text: str) -> None:
        self.spec = spec
        self.obs = obs
        self.text = text
        self._evidence: dict[str, Any] | None = None

    @property
    def evidence(self) -> dict[str, Any]:
        if self._evidence is None:
            self._evidence = orjson.loads(self.text)
        return self._evidence


def _observe(ctx: CheckContext, catalog: Catalog, known: dict[int, Asset], result: AssessmentResult,
             on_check: Callable[[str], None] | None) -> dict[str, _Seen]:
    seen: dict[str, _Seen] = {}
    # Evaluators may share one evidence document between observations (RG-ADVISORY does, for
    # thousands of assets with the same component): serialise each document object once. The
    # document is kept referenced here so that its id() cannot be reused meanwhile.
    texts: dict[int, tuple[dict[str, Any], str]] = {}
    for entry in catalog:
        if on_check is not None:
            on_check(entry.spec.id)
        count = 0
        check_id = entry.spec.id
        try:
            observations: Iterable[Observation] = entry.evaluator(ctx)
            for obs in observations:
                if obs.asset_id is None and not obs.subject:
                    raise ValueError("an observation needs an asset_id or a subject")
                if obs.asset_id is not None and obs.asset_id not in known:
                    raise ValueError(f"observation names asset {obs.asset_id}, which is not in the inventory")
                fp = fingerprint(check_id, obs.asset_id, obs.subject, obs.key)
                if fp not in seen:
                    doc = obs.evidence
                    cached = texts.get(id(doc))
                    if cached is None:
                        cached = texts[id(doc)] = (doc, _encode(doc))
                    seen[fp] = _Seen(entry.spec, obs, cached[1])
                    count += 1
        except RadguardError:
            raise
        except Exception as exc:
            raise AssessmentError(
                f"check {entry.spec.id} ({entry.source.name}) failed on the current data: "
                f"{type(exc).__name__}: {exc}. Nothing was changed; please report this."
            ) from exc
        result.observed_by_check[entry.spec.id] = count
    return seen


def _latest_evidence_by_asset(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(Evidence.asset_id, func.max(Evidence.id))
        .where(Evidence.asset_id.is_not(None)).group_by(Evidence.asset_id)
    )
    return {int(a): int(e) for a, e in rows if a is not None}


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused for the block (restored as it was after).

    An assessment, and the summaries computed right after from its register, allocate millions
    of short-lived containers and no reference cycles worth collecting; collections over that
    growing heap made large fleets grow worse than linearly, and with the register held they
    doubled the time of the dashboard cards (1.3 of 2.7 CPU s at 50,000 assets, issue #18).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def assess(session: Session, now: datetime | None = None, settings: AssessSettings | None = None,
           catalog: Catalog | None = None, on_check: Callable[[str], None] | None = None) -> AssessmentResult:
    """Evaluate every check and update the findings register in ``session`` (not committed).

    ``on_check`` is called with each check ID before it runs (for a progress bar). The garbage
    collector is paused meanwhile (:func:`collector_paused`).
    """
    with collector_paused():
        return _assess(session, now, settings, catalog, on_check)


def _assess(session: Session, now: datetime | None, settings: AssessSettings | None,
            catalog: Catalog | None, on_check: Callable[[str], None] | None) -> AssessmentResult:
    started = time.perf_counter()
    now = now or utcnow()
    settings = settings or AssessSettings()
    catalog = catalog if catalog is not None else default_catalog()
    result = AssessmentResult(assessed_at=now, checks=len(catalog))
    result.timings["catalog"] = time.perf_counter() - started
    mark = time.perf_counter()
    ctx = CheckContext(session, now, {"parameters": settings.parameters, "sla": settings.sla})

    assets: dict[int, Asset] = {a.id: a for a in ctx.assets()}
    result.timings["load_inventory"] = time.perf_counter() - mark
    mark = time.perf_counter()
    seen = _observe(ctx, catalog, assets, result, on_check)
    result.observations = len(seen)
    result.timings["evaluate"] = time.perf_counter() - mark
    mark = time.perf_counter()

    # Evidence is read as text: decoding JSON for every finding would dominate a re-assessment,
    # and on SQLite an unchanged finding's text is byte-identical to what we would write.
    # Plain tuples from the connection (no ORM rows, no per-row type processing); the one
    # timestamp needing conversion, accepted_until, is read only for risk-accepted findings.
    conn = session.connection()
    # The driver's own tuples: none of these columns needs conversion, and going through
    # SQLAlchemy's result objects cost 0.5 s more at 335,000 findings.
    existing_stmt = select(Finding.id, Finding.fingerprint, Finding.check_id, Finding.asset_id, Finding.state,
                           Finding.risk_score, cast_(Finding.evidence, Text), Finding.summary, Finding.severity,
                           Finding.title, Finding.subject, Finding.key, Finding.due)
    result_rows = conn.exec_driver_sql(str(existing_stmt.compile(dialect=conn.dialect)))
    existing = result_rows.cursor.fetchall()
    result_rows.close()
    accepted_until: dict[int, datetime | None] = dict(conn.execute(
        select(Finding.id, Finding.accepted_until).where(Finding.state == "risk_accepted")).all())

    inserts: list[tuple[Any, ...]] = []
    updates: list[dict[str, Any]] = []
    touch: list[int] = []
    events: list[tuple[Any, ...]] = []  # in _EVENT_COLUMNS order
    closing: list[tuple[int, int | None, str, dict[str, Any], str, str]] = []
    # Every finding as this run leaves it (AssessedRegister): what the cards and roll-ups summarise.
    final: list[RegisterRow] = []
    # SQLite keeps evidence as the text written; a document written by another encoder (an
    # older radguard) is rewritten once in ours, so that later runs compare texts only.
    rewrite_text = conn.dialect.name == "sqlite"

    # Most findings share severity, criticality, exposure and zone: compute each combination once.
    zones: dict[str | None, bool] = {}
    # Per asset ID (None: not an asset): (criticality, in an exposed zone, is an asset).
    factors: dict[int | None, tuple[int | None, bool, bool]] = {}
    scores: dict[tuple[Any, ...], tuple[int, str, date | None]] = {}

    def asset_factors(asset_id: int | None) -> tuple[int | None, bool, bool]:
        asset = assets.get(asset_id) if asset_id is not None else None
        if asset is None:
            zone, criticality = None, None
        else:
            zone, criticality = asset.network_zone, asset.criticality
        if zone not in zones:
            zones[zone] = settings.sla.is_exposed_zone(zone)
        found = factors[asset_id] = (criticality, zones[zone], asset is not None)
        return found

    def risk_and_due(item: _Seen) -> tuple[int, str, date | None]:
        obs = item.obs
        found = factors.get(obs.asset_id)
        criticality, exposed, is_asset = found if found is not None else asset_factors(obs.asset_id)
        severity = item.spec.severity
        signal = signal_name(obs.exploit) if obs.exploit else None
        key = (severity, criticality, obs.exposure, exposed, is_asset, signal)
        risk = scores.get(key)
        if risk is None:
            # The finding stores the score's inputs; the explanation is rebuilt on reading.
            rs = score(severity, criticality, obs.exposure, obs.exploit, exposed_zone=exposed, is_asset=is_asset)
            inputs = score_inputs(severity, criticality, obs.exposure, signal, exposed, is_asset)
            risk = scores[key] = (rs.score, _encode(inputs), settings.sla.due(severity, now, exposed))
        return risk

    closable = (*OPEN_STATES, "risk_accepted")
    for (fid, fp, check_id, asset_id, state, risk_score, evidence_text, summary, severity, title, subject, key,
         old_due) in existing:
        item = seen.pop(fp, None)
        if item is None:
            if state in closable:
                reason = ("check no longer in the catalog" if check_id not in catalog
                          else "condition no longer observed")
                closing.append((fid, asset_id, state, _decode(evidence_text), reason, check_id))
                state = "mitigated"
            final.append(_register_row((fid, check_id, asset_id, subject, key, title, severity, state, risk_score,
                                                 old_due)))
            continue
        risk, explanation_text, due = risk_and_due(item)
        spec = item.spec
        same_text = evidence_text == item.text
        same_evidence = same_text or _decode(evidence_text) == item.evidence
        if not same_evidence:
            # The finding keeps only the latest evidence; the document it replaces goes into the
            # history, so what was seen at every point stays on record (findings.history).
            events.append((fid, now, ASSESS_ACTOR, state, state, EVIDENCE_CHANGED, evidence_text))
        values: dict[str, Any] = {}
        if state == "mitigated":
            values = {"state": "reopened", "due": due, "closed_at": None, "decided_by": None,
                      "decision_reason": None, "accepted_until": None}
            events.append((fid, now, ASSESS_ACTOR, state, "reopened", "condition observed again", item.text))
            result.reopened += 1
        elif state == "risk_accepted" and (until := accepted_until.get(fid)) is not None and until <= now:
            values = {"state": "reopened", "due": due, "accepted_until": None, "decided_by": None,
                      "decision_reason": None}
            events.append((fid, now, ASSESS_ACTOR, state, "reopened",
                           f"risk acceptance expired on {until.isoformat()}", item.text))
            result.acceptances_expired += 1
        if (values or risk_score != risk or not same_evidence
                or summary != item.obs.summary or severity != spec.severity or title != spec.title):
            # JSON as the engine's own text (see _SerializedJSON), as for new findings.
            values.update({"id": fid, "last_seen": now, "risk_score": risk, "risk_explanation": explanation_text,
                           "evidence": item.text, "summary": item.obs.summary,
                           "severity": spec.severity, "title": spec.title})
            updates.append(values)
            if "state" not in values:
                result.updated += 1
        else:
            result.unchanged += 1
            if not same_text and rewrite_text:
                updates.append({"id": fid, "last_seen": now, "evidence": item.text})
            else:
                touch.append(fid)
        final.append(_register_row((fid, check_id, asset_id, subject, key, spec.title, spec.severity,
                                         values.get("state", state), risk, values.get("due", old_due))))

    # New findings get their IDs here, the very IDs the database would give them (SQLite: one
    # past the largest; PostgreSQL: the column's sequence), so the register is known without
    # reading it back.
    new_ids = _new_ids(session, len(seen))
    for new_id, (fp, item) in zip(new_ids, seen.items(), strict=True):
        risk, explanation_text, due = risk_and_due(item)
        obs, spec = item.obs, item.spec
        # In _NEW_FINDING_COLUMNS order.
        inserts.append((new_id, fp, spec.id, obs.asset_id, obs.subject, obs.key, spec.title, obs.summary,
                        spec.severity, "open", risk, explanation_text, item.text, due, now, now))
        final.append(_register_row((new_id, spec.id, obs.asset_id, obs.subject, obs.key, spec.title, spec.severity,
                                         "open", risk, due)))

    if closing:
        latest = _latest_evidence_by_asset(session)
        index = attestation_index(ctx)
        attested: dict[int, list[dict[str, Any]]] = {}
        for (aid, subject), att in index.by_asset.items():
            attested.setdefault(aid, []).append({"attestation_id": att.id, "subject": subject, "value": att.value})
        for fid, asset_id, state, old_evidence, reason, check_id in closing:
            proof: dict[str, Any] = {"observed": False, "check_id": check_id, "assessed_at": now.isoformat(),
                                     "last_observed_evidence": old_evidence}
            if asset_id is not None:
                asset = assets.get(asset_id)
                proof["asset_present"] = asset is not None
                if asset is not None:
                    proof["inventory_updated_at"] = asset.updated_at.isoformat() if asset.updated_at else None
                if asset_id in latest:
                    proof["latest_evidence_id"] = latest[asset_id]
                if asset_id in attested:
                    proof["attestations"] = attested[asset_id]
            updates.append({"id": fid, "state": "mitigated", "closed_at": now, "accepted_until": None})
            events.append((fid, now, ASSESS_ACTOR, state, "mitigated", reason, _encode(proof)))
            result.mitigated += 1

    result.timings["reconcile"] = time.perf_counter() - mark
    mark = time.perf_counter()
    _write(session, inserts, updates, touch, events, now, result.timings, existing=len(existing))
    result.timings["write"] = time.perf_counter() - mark
    result.created = len(inserts)
    mark = time.perf_counter()
    register = result.register = AssessedRegister(
        final, {aid: (a.name, a.owner) for aid, a in assets.items()})
    # The inventory's risk and open-findings orders read these stored figures (migration 0031):
    # computed from the register in memory, compared with what the snapshot read, and only the
    # changed assets written (checks.findings.refresh_asset_rollups does the same in SQL).
    fresh = register.rollups()
    write_asset_rollups(session, {aid: fresh.get(aid, (0, 0)) for aid, a in assets.items()
                                  if (a.risk_score, a.open_findings) != fresh.get(aid, (0, 0))})
    result.timings["rollups"] = time.perf_counter() - mark

    by_severity: dict[str, int] = {}
    for row in final:
        if row.state in OPEN_STATES:
            by_severity[row.severity] = by_severity.get(row.severity, 0) + 1
    result.open_by_severity = by_severity
    result.open_total = sum(result.open_by_severity.values())
    result.seconds = time.perf_counter() - started
    return result


class _SerializedJSON(TypeDecorator[str]):
    """A JSON column whose bound values are already-serialised JSON text.

    The engine serialises each evidence document once (to compare it with what is stored) and
    each risk explanation once per combination; binding those strings as they are saves a
    json.dumps per column per row. SQLite stores the text; PostgreSQL casts it to JSONB.
    """

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(Text())

    def bind_processor(self, dialect: Dialect) -> None:
        return None


def _text_json_mirror(table: Table) -> Table:
    """The same table with JSON columns taking pre-serialised text, for bulk inserts."""
    columns = [Column(c.name, _SerializedJSON() if isinstance(c.type, JSON) else c.type, primary_key=c.primary_key)
               for c in table.columns]
    return Table(table.name, MetaData(), *columns)


_TEXT_JSON: dict[str, Table] = {
    t.name: _text_json_mirror(t) for t in (cast(Table, Finding.__table__), cast(Table, FindingEvent.__table__))
}


def _decode(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN or Infinity, which older registers' encoder wrote
        value = json.loads(text)
    return value if isinstance(value, dict) else {}


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# Column orders of the tuples the engine builds for bulk inserts.
_NEW_FINDING_COLUMNS = ("id", "fingerprint", "check_id", "asset_id", "subject", "key", "title", "summary", "severity",
                        "state", "risk_score", "risk_explanation", "evidence", "due", "first_seen", "last_seen")
_EVENT_COLUMNS = ("finding_id", "at", "actor", "from_state", "to_state", "reason", "evidence")


def _new_ids(session: Session, n: int) -> list[int]:
    """IDs for ``n`` new findings, in order, as the database would assign them on insert.

    SQLite gives an INTEGER PRIMARY KEY without AUTOINCREMENT one past the largest in use, and
    no one else inserts meanwhile (a writer's transaction holds the write lock from its start,
    radguard.db.session); PostgreSQL takes them from the column's sequence, as its default would.
    """
    if n == 0:
        return []
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return sorted(int(v) for v, in conn.exec_driver_sql(
            "SELECT nextval(pg_get_serial_sequence('finding', 'id')) FROM generate_series(1, %(n)s)", {"n": n}))
    top = int(session.scalar(select(func.max(Finding.id))) or 0)
    return list(range(top + 1, top + 1 + n))


def _insert_rows(session: Session, table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Bulk INSERT straight to the driver, bypassing SQLAlchemy's per-row parameter processing.

    Binding hundreds of thousands of rows through ``session.execute(insert, [dicts])`` spent
    more time in SQLAlchemy's per-value type processing than the database spent inserting.
    Here each column's bind processor (dates and timestamps on SQLite, UTC normalisation) runs
    once per *distinct* value (an assessment writes one ``now`` and a few due dates), and the
    driver receives the rows as they are: ``COPY`` on PostgreSQL, ``executemany`` on SQLite.
    """
    if not rows:
        return
    conn = session.connection()
    dialect = conn.dialect
    processors = [(i, proc) for i, name in enumerate(columns)
                  if (proc := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None]
    if processors:
        # Column by column: transposing and mapping run in C, and each processor is called
        # once per distinct value of its column (dates and timestamps: hashable).
        columns_of: list[Any] = list(zip(*rows, strict=True))
        for i, proc in processors:
            mapping = {value: proc(value) for value in set(columns_of[i])}
            columns_of[i] = map(mapping.__getitem__, columns_of[i])
        rows = list(zip(*columns_of, strict=True))
    names = ", ".join(f'"{name}"' for name in columns)
    if dialect.name == "postgresql":
        # COPY: PostgreSQL's bulk path, several times faster than executemany of INSERTs. The
        # values are the processed ones (UTC datetimes, dates, JSON text for jsonb columns).
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
        except Exception as exc:  # the driver's own error: SQLAlchemy does not wrap raw COPY
            raise AssessmentError(
                f"PostgreSQL refused the new findings ({type(exc).__name__}: {exc}). Nothing was changed; "
                "if another assessment was running at the same time, run this one again when it is done."
            ) from exc
        return
    sql = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(columns))})'  # SQLite: qmark
    for chunk in _chunks(rows, 20000):
        conn.exec_driver_sql(sql, list(chunk))


def _touch(session: Session, ids: list[int], now: datetime) -> None:
    """Set ``last_seen`` on unchanged findings: one UPDATE per run of consecutive IDs.

    In the steady state nearly every finding is unchanged, and their IDs form a few long runs,
    so this is a handful of range updates instead of hundreds of thousands of bound IDs.
    """
    ranges: list[dict[str, Any]] = []
    for fid in sorted(ids):
        if ranges and ranges[-1]["hi"] == fid - 1:
            ranges[-1]["hi"] = fid
        else:
            ranges.append({"lo": fid, "hi": fid})
    stmt = (update(Finding).where(Finding.id.between(bindparam("lo"), bindparam("hi"))).values(last_seen=now)
            .execution_options(synchronize_session=False))
    conn = session.connection()
    for chunk in _chunks(ranges):
        conn.execute(stmt, list(chunk))


def _write(session: Session, inserts: list[tuple[Any, ...]], updates: list[dict[str, Any]], touch: list[int],
           events: list[tuple[Any, ...]], now: datetime, timings: dict[str, float], existing: int = 0) -> None:
    mark = time.perf_counter()
    # The finding table has seven secondary indexes (one per list order, migrations 0018/0027,
    # and the counts' covering one). Inserting a first assessment's rows updates each row by
    # row; building them afterwards from the table sorts once per index. Measured at 10,000
    # assets (70,420 new findings, CPU seconds): SQLite 1.08 s -> 0.86 s, the PostgreSQL
    # backend's COPY 1.9-2.0 s -> 1.0-1.2 s plus 0.3-0.6 s of index builds. Only for runs that
    # more than double the register: rebuilding a large index for a few new rows costs more.
    # The indexes are the model's (radguard.db.models.findings), built as the migrations
    # built them; on PostgreSQL the run then holds the finding table exclusively until it
    # commits (readers wait), which a first assessment can afford.
    deferred = ([ix for ix in sorted(cast(Table, Finding.__table__).indexes, key=lambda ix: str(ix.name))]
                if len(inserts) >= DEFER_INDEXES_AT and len(inserts) > existing else [])
    conn = session.connection()
    for index in deferred:
        index.drop(conn)
    # Plain executemany (no RETURNING, which is far slower in bulk). No creation event is
    # written: a finding's first_seen is its creation, and history() shows it as the first
    # event (half the rows of a first assessment).
    _insert_rows(session, _TEXT_JSON[Finding.__tablename__], _NEW_FINDING_COLUMNS, inserts)
    timings["write_new"] = time.perf_counter() - mark
    if deferred:
        mark = time.perf_counter()
        for index in deferred:
            index.create(conn)
        timings["write_indexes"] = time.perf_counter() - mark
    # Bulk UPDATE by primary key needs the same keys in every row; group by key set.
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in updates:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    table = _TEXT_JSON[Finding.__tablename__]
    for keys, rows in groups.items():
        columns = [k for k in keys if k != "id"]
        stmt = (update(table).where(table.c.id == bindparam("b_id"))
                .values({name: bindparam(f"b_{name}") for name in columns}))
        for chunk in _chunks(rows):
            conn.execute(stmt, [{f"b_{k}": v for k, v in row.items()} for row in chunk])
    if touch:
        _touch(session, touch, now)
    mark = time.perf_counter()
    _insert_rows(session, _TEXT_JSON[FindingEvent.__tablename__], _EVENT_COLUMNS, events)
    timings["write_events"] = time.perf_counter() - mark
