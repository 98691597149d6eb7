"""Backup sets in the database: declare them, import a file of them, record verifications.

A set's ``kind`` says where the copy lives (local, offsite, cloud, tape). Medium and
offsite-ness follow from it unless given: a cloud copy is object storage offsite, a tape is
tape (offsite only when declared so, because tapes often sit next to the server).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from radguard.backup.reconcile import STATUSES
from radguard.backup.run import VerifyReport, verification_fields
from radguard.backup.timing import RtoVerdict, rto_verdict
from radguard.db.models.backup import BACKUP_KINDS, BACKUP_MEDIA, BackupSet, BackupVerification
from radguard.db.models.inventory import Asset, Site
from radguard.errors import InputError, NotFoundError
from radguard.inventory.scope import SiteScope, scope_site_ids
from radguard.textfiles import parse_json, parse_yaml, read_text
from radguard.validate import implausible
from radguard.wording import restore_status

_DEFAULT_MEDIA = {"local": "disk", "offsite": "disk", "cloud": "object", "tape": "tape"}


class BackupSetSpec(BaseModel):
    """One backup set as a person declares it (CLI options or one entry of an import file)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    protects: str = Field(min_length=1, max_length=200, description="archive it copies: asset name or SITE/NAME")
    location: str = Field(min_length=1, max_length=300)
    kind: str
    media: str | None = None
    offsite: bool | None = None
    immutable: bool = False
    offline: bool = False
    encrypted: bool = False
    schedule: str | None = Field(default=None, max_length=200)
    last_success: datetime | None = None
    notes: str | None = Field(default=None, max_length=10_000)

    @field_validator("kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in BACKUP_KINDS:
            raise ValueError(f"must be one of {', '.join(BACKUP_KINDS)}")
        return v

    @field_validator("media")
    @classmethod
    def _media(cls, v: str | None) -> str | None:
        if v is not None and v not in BACKUP_MEDIA:
            raise ValueError(f"must be one of {', '.join(BACKUP_MEDIA)}")
        return v


def _find_asset(session: Session, ref: str) -> Asset | None:
    """The archive asset named ``SITE/NAME`` or by a name unique across sites; None if unknown."""
    if "/" in ref:
        code, name = ref.split("/", 1)
        return session.scalars(select(Asset).join(Site).where(Site.code == code, Asset.name == name)).first()
    found = list(session.scalars(select(Asset).where(Asset.name == ref)).all())
    return found[0] if len(found) == 1 else None


def upsert_set(session: Session, spec: BackupSetSpec) -> tuple[BackupSet, bool]:
    """Create or update the set named ``spec.name``; returns it and whether it was created."""
    asset = _find_asset(session, spec.protects)
    row = session.scalars(select(BackupSet).where(BackupSet.name == spec.name)).first()
    created = row is None
    if row is None:
        row = BackupSet(name=spec.name)
    row.asset_id = asset.id if asset else None
    row.protects = spec.protects
    row.location = spec.location
    row.kind = spec.kind
    row.media = spec.media or _DEFAULT_MEDIA[spec.kind]
    row.offsite = spec.offsite if spec.offsite is not None else spec.kind in ("offsite", "cloud")
    row.immutable = spec.immutable
    row.offline = spec.offline
    row.encrypted = spec.encrypted
    row.schedule = spec.schedule
    if spec.last_success is not None:
        row.last_success_at = spec.last_success
    row.notes = spec.notes
    if created:
        session.add(row)
    session.flush()
    return row, created


def import_sets(session: Session, path: Path) -> tuple[int, int]:
    """Import ``backup_sets:`` from YAML or JSON; all or nothing. Returns (created, updated)."""
    src = str(path)
    text = read_text(path)
    doc = parse_json(text, src) if path.suffix.lower() == ".json" else parse_yaml(text, src)
    entries = doc.get("backup_sets") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise InputError(src, "$", "backup_sets", "expected a top-level 'backup_sets' list")
    created = updated = 0
    for i, entry in enumerate(entries):
        try:
            spec = BackupSetSpec.model_validate(entry)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or None
            raise InputError(src, f"$.backup_sets[{i}]", field, err["msg"]) from exc
        bad = implausible(spec)  # e.g. last_success: 9999-12-31
        if bad is not None:
            raise InputError(src, f"$.backup_sets[{i}]", ".".join(str(p) for p in bad[0]), bad[1])
        _, was_created = upsert_set(session, spec)
        created += was_created
        updated += not was_created
    return created, updated


def scope_condition(session: Session, scope: SiteScope) -> ColumnElement[bool] | None:
    """The backup sets a caller limited to ``scope`` may see: those protecting an inventory
    asset at its sites (a set of no asset is the organisation's); None: no limit."""
    ids = scope_site_ids(session, scope)
    if ids is None:
        return None
    return BackupSet.asset_id.in_(select(Asset.id).where(Asset.site_id.in_(ids)))


def list_sets(session: Session, *, scope: SiteScope = None, verifications: bool = False) -> list[BackupSet]:
    """The backup sets by what they protect and name.

    :param scope: the sites the caller may see (:func:`scope_condition`); None: all.
    :param verifications: load each set's verification runs with it.
    """
    stmt = select(BackupSet).order_by(BackupSet.protects, BackupSet.name)
    if verifications:
        stmt = stmt.options(selectinload(BackupSet.verifications))
    cond = scope_condition(session, scope)
    return list(session.scalars(stmt if cond is None else stmt.where(cond)))


def latest_verification(session: Session, *, scope: SiteScope = None) -> tuple[BackupVerification, str] | None:
    """The newest verification run of any set (in ``scope``) and its set's name, or None."""
    stmt = (select(BackupVerification, BackupSet.name).join(BackupSet)
            .order_by(BackupVerification.finished_at.desc(), BackupVerification.id.desc()).limit(1))
    cond = scope_condition(session, scope)
    row = session.execute(stmt if cond is None else stmt.where(cond)).first()
    return None if row is None else (row[0], row[1])


def get_set(session: Session, name: str, *, scope: SiteScope = None) -> BackupSet:
    """A set by name; another site's (for a caller limited to ``scope``) is "not found"."""
    stmt = select(BackupSet).where(BackupSet.name == name)
    cond = scope_condition(session, scope)
    row = session.scalars(stmt if cond is None else stmt.where(cond)).first()
    if row is None:
        raise NotFoundError(f"no backup set named {name!r}; see `radguard backup set list`")
    return row


def verification_rto(run: BackupVerification) -> RtoVerdict | None:
    """The RTO verdict of a stored run, as the CLI gave it: never "met" when the copy was incomplete.

    Reports, web pages, the API and the demo read this, not ``rto_met`` (older runs stored
    ``rto_met`` from the restore speed alone).
    """
    verdict = rto_verdict(run.rto_hours, run.projected_restore_hours, run.counts or {})
    if verdict is not None and not run.complete and verdict.state in ("met", "unknown"):
        # Part of the copy was never read (an interrupted or bounded run): not proven to restore.
        unread = sum(int(v) for v in (run.not_checked or {}).values() if isinstance(v, int)) or 1
        return RtoVerdict("incomplete", verdict.rto_hours, verdict.projected_hours,
                          (*verdict.problems, ("not checked", unread)))
    return verdict


def rpo_since_last_backup(run: BackupVerification) -> tuple[datetime | None, float | None]:
    """(the set's last successful backup, hours from it to the end of this verification).

    The recovery point a restore at that moment would have achieved, from the backup time the
    set records; readers show it when the verification could not measure the lag from study
    dates (``rpo_achieved_hours`` is None). None when no backup time is known or the recorded
    backup is newer than the verification (that run cannot say how old it was then).
    """
    backup_set = run.backup_set
    last = backup_set.last_success_at if backup_set is not None else None
    if last is None:
        return None, None
    seconds = (run.finished_at - last).total_seconds()
    return last, (round(seconds / 3600, 2) if seconds >= 0 else None)


def verification_problems(run: BackupVerification) -> list[tuple[str, int]]:
    """(status, count) of a stored run's problems in the order of STATUSES: ransom notes first."""
    counts = run.counts or {}
    known = [(s, int(counts[s])) for s in STATUSES if s != "ok" and counts.get(s)]
    return known + [(s, int(n)) for s, n in counts.items() if s not in STATUSES and n]


def verification_record(run: BackupVerification) -> dict[str, Any]:
    """One stored run as every reader shows it (ransom notes first, the RTO verdict of rto_verdict)."""
    verdict = verification_rto(run)
    last_backup, since_backup = rpo_since_last_backup(run)
    return {
        "ransom_notes": list(run.ransom_notes or []),
        "finished_at": run.finished_at, "all_ok": run.all_ok, "complete": run.complete,
        "files_checked": run.files_checked, "expected_instances": run.expected_instances,
        "counts": {**{s: int((run.counts or {}).get(s, 0)) for s in STATUSES}, **(run.counts or {})},
        "problems": verification_problems(run),
        "projected_restore_hours": run.projected_restore_hours, "rto_hours": run.rto_hours,
        "rto_met": None if verdict is None or verdict.state == "unknown" else verdict.met,
        "rto_verdict": None if verdict is None else verdict.state,
        "rto_label": None if verdict is None else verdict.label(),
        "rpo_achieved_hours": run.rpo_achieved_hours, "rpo_hours": run.rpo_hours,
        "last_backup_at": last_backup, "rpo_since_last_backup_hours": since_backup,
        "restore_status": restore_status(int((run.counts or {}).get("ok", 0)), run.expected_instances,
                                         verification_problems(run)),
    }


def set_record(row: BackupSet) -> dict[str, Any]:
    last = row.verifications[-1] if row.verifications else None
    return {
        "name": row.name, "protects": row.protects, "asset_id": row.asset_id, "location": row.location,
        "kind": row.kind, "media": row.media, "offsite": row.offsite, "immutable": row.immutable,
        "offline": row.offline, "encrypted": row.encrypted, "schedule": row.schedule,
        "last_success_at": row.last_success_at, "last_verified_at": row.last_verified_at,
        "last_verification": None if last is None else verification_record(last),
    }


def service_targets(session: Session, row: BackupSet) -> tuple[float | None, float | None, str | None]:
    """The tightest RTO and RPO of imaging services that depend on the archive this set protects."""
    if row.asset_id is None:
        return None, None, None
    try:
        from radguard.db.models.response import ImagingService, ServiceDependency
    except ImportError:  # readiness stage not installed
        return None, None, None
    services = list(session.scalars(
        select(ImagingService).join(ServiceDependency).where(ServiceDependency.asset_id == row.asset_id)
    ))
    if not services:
        return None, None, None
    tightest = min(services, key=lambda s: s.rto_hours)
    return tightest.rto_hours, min(s.rpo_hours for s in services), f"service:{tightest.key}"


class VerificationFields(BaseModel):
    """:func:`verification_fields` as central reads it back from a sensor: typed, nothing extra."""

    model_config = ConfigDict(extra="forbid")

    started_at: datetime
    finished_at: datetime
    complete: bool
    expected_instances: int = Field(ge=0)
    files_checked: int = Field(ge=0)
    counts: dict[str, int]
    ransom_notes: list[dict[str, Any]]
    not_checked: dict[str, Any]
    bytes_read: int = Field(ge=0)
    elapsed_seconds: float = Field(ge=0)
    throughput_bytes_per_s: float | None
    archive_bytes: int = Field(ge=0)
    projected_restore_hours: float | None
    rto_hours: float | None
    rto_met: bool | None
    rpo_achieved_hours: float | None
    rpo_hours: float | None
    all_ok: bool


def store_verification(session: Session, row: BackupSet, fields: dict[str, Any], sensor_id: str | None = None,
                       job_id: str | None = None) -> BackupVerification:
    """Store one verification of ``row`` from :func:`verification_fields` (validated again here).

    :param sensor_id: the sensor that read the copy, when it was not central.
    :param job_id: the sensor job it answered.
    """
    try:
        doc = VerificationFields.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError("backup verification", None, ".".join(str(p) for p in first["loc"]), first["msg"]) from None
    run = BackupVerification(backup_set_id=row.id, sensor_id=sensor_id, job_id=job_id, **doc.model_dump())
    session.add(run)
    row.last_verified_at = doc.finished_at
    session.flush()
    return run


def record_verification(session: Session, row: BackupSet, report: VerifyReport) -> BackupVerification:
    """Store a verification central ran itself (``radguard backup verify --set``)."""
    return store_verification(session, row, verification_fields(report))
