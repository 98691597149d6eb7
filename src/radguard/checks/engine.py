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

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from radguard.checks.attestations import attestation_index
from radguard.checks.loader import Catalog, default_catalog
from radguard.checks.registry import CheckContext, Observation
from radguard.checks.risk import score
from radguard.checks.sla import SlaPolicy
from radguard.checks.snapshot import load_snapshot
from radguard.checks.spec import CheckSpec
from radguard.db.base import utcnow
from radguard.db.models.evidence import Evidence
from radguard.db.models.findings import OPEN_STATES, Finding, FindingEvent, fingerprint
from radguard.db.models.inventory import Asset
from radguard.errors import InputError, RadguardError

ACTOR = "radguard assess"
_CHUNK = 5000


class AssessmentError(RadguardError):
    """A check could not be evaluated; nothing was written."""


class AssessSettings(BaseModel):
    """What an organisation may tune: SLA days and check parameters (docs/findings.md)."""

    model_config = ConfigDict(extra="forbid")

    sla: SlaPolicy = Field(default_factory=SlaPolicy)
    # Per-parameter overrides read by evaluators, e.g. {"stale_days": 180, "eos_near_years": 3}.
    parameters: dict[str, Any] = Field(default_factory=dict)


def load_settings(path: Path | None) -> AssessSettings:
    """Read a settings YAML file; errors name the file and the field."""
    if path is None:
        return AssessSettings()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise InputError(str(path), None, None, f"cannot read the settings file ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise InputError(str(path), None, None, f"not valid YAML ({exc})") from exc
    try:
        return AssessSettings.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(str(path), None, ".".join(str(p) for p in err["loc"]), err["msg"]) from exc


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

    def as_dict(self) -> dict[str, Any]:
        return {
            "assessed_at": self.assessed_at, "checks": self.checks, "observations": self.observations,
            "created": self.created, "reopened": self.reopened, "mitigated": self.mitigated,
            "acceptances_expired": self.acceptances_expired, "updated": self.updated,
            "unchanged": self.unchanged, "open": self.open_total, "open_by_severity": self.open_by_severity,
            "observed_by_check": self.observed_by_check, "seconds": round(self.seconds, 3),
            "timings": {k: round(v, 3) for k, v in self.timings.items()},
        }


_PLAIN = frozenset({str, int, float, bool, type(None)})


def jsonable(value: Any) -> Any:
    """Dates to ISO strings, tuples/sets to lists: what evidence columns can store.

    Called for every observation, so plain values are passed through without a call.
    """
    if isinstance(value, dict):
        return {str(k): v if type(v) in _PLAIN else jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(jsonable(v) for v in value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


@dataclass
class _Seen:
    spec: CheckSpec
    obs: Observation
    evidence: dict[str, Any]


def _observe(ctx: CheckContext, catalog: Catalog, result: AssessmentResult) -> dict[str, _Seen]:
    seen: dict[str, _Seen] = {}
    for entry in catalog:
        count = 0
        try:
            observations: Iterable[Observation] = entry.evaluator(ctx)
            for obs in observations:
                if obs.asset_id is None and not obs.subject:
                    raise ValueError("an observation needs an asset_id or a subject")
                fp = fingerprint(entry.spec.id, obs.asset_id, obs.subject, obs.key)
                if fp not in seen:
                    seen[fp] = _Seen(entry.spec, obs, jsonable(obs.evidence))
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


def assess(session: Session, now: datetime | None = None, settings: AssessSettings | None = None,
           catalog: Catalog | None = None) -> AssessmentResult:
    """Evaluate every check and update the findings register in ``session`` (not committed)."""
    started = time.perf_counter()
    now = now or utcnow()
    settings = settings or AssessSettings()
    catalog = catalog if catalog is not None else default_catalog()
    result = AssessmentResult(assessed_at=now, checks=len(catalog))
    result.timings["catalog"] = time.perf_counter() - started
    mark = time.perf_counter()
    ctx = CheckContext(session, now, {"parameters": settings.parameters, "sla": settings.sla})
    ctx.memo("assets", lambda: load_snapshot(session))

    assets: dict[int, Asset] = {a.id: a for a in ctx.assets()}
    result.timings["load_inventory"] = time.perf_counter() - mark
    mark = time.perf_counter()
    seen = _observe(ctx, catalog, result)
    result.observations = len(seen)
    result.timings["evaluate"] = time.perf_counter() - mark
    mark = time.perf_counter()

    existing = session.execute(
        select(Finding.id, Finding.fingerprint, Finding.check_id, Finding.asset_id, Finding.state,
               Finding.accepted_until, Finding.risk_score, Finding.evidence, Finding.summary,
               Finding.severity, Finding.title)
    ).all()

    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    touch: list[int] = []
    events: list[dict[str, Any]] = []
    closing: list[tuple[int, int | None, str, dict[str, Any], str, str]] = []

    # Most findings share severity, criticality, exposure and zone: compute each combination once.
    zones: dict[str | None, bool] = {}
    scores: dict[tuple[Any, ...], tuple[int, dict[str, Any]]] = {}
    dues: dict[tuple[str, bool], date | None] = {}

    def risk_and_due(item: _Seen) -> tuple[int, dict[str, Any], date | None]:
        asset = assets.get(item.obs.asset_id) if item.obs.asset_id is not None else None
        zone = asset.network_zone if asset is not None else None
        if zone not in zones:
            zones[zone] = settings.sla.is_exposed_zone(zone)
        exposed = zones[zone]
        severity = item.spec.severity
        criticality = asset.criticality if asset is not None else None
        key = (severity, criticality, item.obs.exposure, exposed, asset is not None)
        if item.obs.exploit or key not in scores:
            rs = score(severity, criticality, item.obs.exposure, item.obs.exploit, exposed_zone=exposed,
                       is_asset=asset is not None)
            if item.obs.exploit:
                risk = (rs.score, rs.explanation)
            else:
                risk = scores[key] = (rs.score, rs.explanation)
        else:
            risk = scores[key]
        if (severity, exposed) not in dues:
            dues[(severity, exposed)] = settings.sla.due(severity, now, exposed)
        return risk[0], risk[1], dues[(severity, exposed)]

    for row in existing:
        item = seen.pop(row.fingerprint, None)
        if item is None:
            if row.state in (*OPEN_STATES, "risk_accepted"):
                reason = ("check no longer in the catalog" if row.check_id not in catalog
                          else "condition no longer observed")
                closing.append((row.id, row.asset_id, row.state, row.evidence or {}, reason, row.check_id))
            continue
        state = row.state
        risk, explanation, due = risk_and_due(item)
        values: dict[str, Any] = {}
        if state == "mitigated":
            values = {"state": "reopened", "due": due, "closed_at": None, "decided_by": None,
                      "decision_reason": None, "accepted_until": None}
            events.append({"finding_id": row.id, "at": now, "actor": ACTOR, "from_state": state,
                           "to_state": "reopened", "reason": "condition observed again",
                           "evidence": item.evidence})
            result.reopened += 1
        elif state == "risk_accepted" and row.accepted_until is not None and row.accepted_until <= now:
            values = {"state": "reopened", "due": due, "accepted_until": None}
            events.append({"finding_id": row.id, "at": now, "actor": ACTOR, "from_state": state,
                           "to_state": "reopened",
                           "reason": f"risk acceptance expired on {row.accepted_until.isoformat()}",
                           "evidence": item.evidence})
            result.acceptances_expired += 1
        if (values or row.risk_score != risk or row.evidence != item.evidence or row.summary != item.obs.summary
                or row.severity != item.spec.severity or row.title != item.spec.title):
            values.update({"id": row.id, "last_seen": now, "risk_score": risk, "risk_explanation": explanation,
                           "evidence": item.evidence, "summary": item.obs.summary,
                           "severity": item.spec.severity, "title": item.spec.title})
            updates.append(values)
            if "state" not in values:
                result.updated += 1
        else:
            touch.append(row.id)
            result.unchanged += 1

    for fp, item in seen.items():
        risk, explanation, due = risk_and_due(item)
        inserts.append({
            "fingerprint": fp, "check_id": item.spec.id, "asset_id": item.obs.asset_id,
            "subject": item.obs.subject, "key": item.obs.key, "title": item.spec.title,
            "summary": item.obs.summary, "severity": item.spec.severity, "state": "open",
            "risk_score": risk, "risk_explanation": explanation, "evidence": item.evidence, "due": due,
            "first_seen": now, "last_seen": now,
        })

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
                    proof["inventory_updated_at"] = jsonable(asset.updated_at)
                if asset_id in latest:
                    proof["latest_evidence_id"] = latest[asset_id]
                if asset_id in attested:
                    proof["attestations"] = attested[asset_id]
            updates.append({"id": fid, "state": "mitigated", "closed_at": now, "accepted_until": None})
            events.append({"finding_id": fid, "at": now, "actor": ACTOR, "from_state": state,
                           "to_state": "mitigated", "reason": reason, "evidence": proof})
            result.mitigated += 1

    result.timings["reconcile"] = time.perf_counter() - mark
    mark = time.perf_counter()
    _write(session, inserts, updates, touch, events, now)
    result.timings["write"] = time.perf_counter() - mark
    result.created = len(inserts)

    counts = session.execute(
        select(Finding.severity, func.count()).where(Finding.state.in_(OPEN_STATES)).group_by(Finding.severity)
    ).all()
    result.open_by_severity = {sev: int(n) for sev, n in counts}
    result.open_total = sum(result.open_by_severity.values())
    result.seconds = time.perf_counter() - started
    return result


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _write(session: Session, inserts: list[dict[str, Any]], updates: list[dict[str, Any]], touch: list[int],
           events: list[dict[str, Any]], now: datetime) -> None:
    finding_table = cast(Table, Finding.__table__)
    if inserts:
        # Plain executemany (no RETURNING, which is far slower in bulk); new IDs are read back
        # as the rows above the previous maximum whose fingerprints we just inserted.
        floor = session.scalar(select(func.max(Finding.id))) or 0
        for chunk in _chunks(inserts, 20000):
            session.execute(finding_table.insert(), list(chunk))
        created = {fp: fid for fid, fp in session.execute(
            select(Finding.id, Finding.fingerprint).where(Finding.id > floor))}
        for row in inserts:
            events.append({"finding_id": created[row["fingerprint"]], "at": now, "actor": ACTOR,
                           "from_state": None, "to_state": "open", "reason": "first observed",
                           "evidence": row["evidence"]})
    # Bulk UPDATE by primary key needs the same keys in every row; group by key set.
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in updates:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    for rows in groups.values():
        for chunk in _chunks(rows):
            session.execute(update(Finding), list(chunk))
    for chunk in _chunks(touch):
        session.execute(
            update(Finding).where(Finding.id.in_(chunk)).values(last_seen=now)
            .execution_options(synchronize_session=False)
        )
    for chunk in _chunks(events, 20000):
        session.execute(cast(Table, FindingEvent.__table__).insert(), list(chunk))
