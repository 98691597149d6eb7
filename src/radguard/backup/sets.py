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
from sqlalchemy.orm import Session

from radguard.backup.reconcile import STATUSES
from radguard.backup.run import VerifyReport
from radguard.backup.timing import RtoVerdict, rto_verdict
from radguard.db.models.backup import BACKUP_KINDS, BACKUP_MEDIA, BackupSet, BackupVerification
from radguard.db.models.inventory import Asset, Site
from radguard.errors import InputError, NotFoundError
from radguard.textfiles import parse_json, parse_yaml, read_text
from radguard.validate import implausible

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


def list_sets(session: Session) -> list[BackupSet]:
    return list(session.scalars(select(BackupSet).order_by(BackupSet.protects, BackupSet.name)))


def get_set(session: Session, name: str) -> BackupSet:
    row = session.scalars(select(BackupSet).where(BackupSet.name == name)).first()
    if row is None:
        raise NotFoundError(f"no backup set named {name!r}; see `radguard backup set list`")
    return row


def verification_rto(run: BackupVerification) -> RtoVerdict | None:
    """The RTO verdict of a stored run, as the CLI gave it: never "met" when the copy was incomplete.

    Reports, web pages, the API and the demo read this, not ``rto_met`` (older runs stored
    ``rto_met`` from the restore speed alone).
    """
    return rto_verdict(run.rto_hours, run.projected_restore_hours, run.counts or {})


def verification_problems(run: BackupVerification) -> list[tuple[str, int]]:
    """(status, count) of a stored run's problems in the order of STATUSES: ransom notes first."""
    counts = run.counts or {}
    known = [(s, int(counts[s])) for s in STATUSES if s != "ok" and counts.get(s)]
    return known + [(s, int(n)) for s, n in counts.items() if s not in STATUSES and n]


def verification_record(run: BackupVerification) -> dict[str, Any]:
    """One stored run as every reader shows it (ransom notes first, the RTO verdict of rto_verdict)."""
    verdict = verification_rto(run)
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


def record_verification(session: Session, row: BackupSet, report: VerifyReport) -> BackupVerification:
    run = BackupVerification(
        backup_set_id=row.id, started_at=report.started, finished_at=report.finished,
        complete=report.not_checked["directories"] == 0 and report.not_checked["files"] == 0,
        expected_instances=report.expected_instances, files_checked=report.files_checked,
        counts=dict(report.counts), ransom_notes=list(report.ransom_notes),
        not_checked={k: v for k, v in report.not_checked.items() if k != "directory_paths"},
        bytes_read=report.restore.bytes_read, elapsed_seconds=report.restore.elapsed_seconds,
        throughput_bytes_per_s=report.restore.throughput_bytes_per_s, archive_bytes=report.restore.archive_bytes,
        projected_restore_hours=report.restore.projected_hours, rto_hours=report.restore.rto_hours,
        rto_met=report.restore.rto_met, rpo_achieved_hours=report.rpo.lag_hours, rpo_hours=report.rpo.rpo_hours,
        all_ok=report.all_ok,
    )
    session.add(run)
    row.last_verified_at = report.finished
    session.flush()
    return run
