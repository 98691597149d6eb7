"""Attestations: a person's recorded answer about an asset or a site, with proof and expiry.

Some safeguards cannot be probed — "is the archive encrypted at rest?", "is there a BAA with
the AI vendor?" — so a named person answers, with a link to the proof and an expiry date after
which the answer must be given again. Checks use the newest unexpired answer for a subject:
an answer on the asset wins over one on its site.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from radguard.checks.registry import CheckContext
from radguard.db.base import utcnow
from radguard.db.models.evidence import Attestation
from radguard.db.models.inventory import Asset, Site
from radguard.errors import InputError, NotFoundError
from radguard.inventory.queries import find_asset
from radguard.validate import plausible_time

SUBJECT_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,63}$")

# Subjects the built-in checks read; others are accepted (for custom checks and reports).
KNOWN_SUBJECTS: dict[str, str] = {
    "encrypted_at_rest": "stored images and data are encrypted at rest (yes/no)",
    "baa_signed": "a business associate agreement covers this service (yes/no)",
    "buffer_policy_known": "the modality's local buffer size and auto-delete policy are documented (yes/no)",
    "console_mfa": "the cloud tenant's admin console requires MFA or SSO with MFA (yes/no)",
    "immutable_copy": "an immutable or object-locked copy exists outside the tenant (yes/no)",
    "downtime_mode": "a tested offline or downtime mode exists (yes/no)",
    "remote_sessions_logged": "remote support sessions are logged or recorded (yes/no)",
    "default_credentials_changed": "vendor default and shared service passwords were changed (yes/no)",
    "hl7_encrypted": "HL7 traffic is carried inside TLS or a VPN tunnel (yes/no)",
    "segmented": "the asset sits on a dedicated, filtered imaging segment despite its zone name (yes/no)",
}
YES = frozenset({"yes", "y", "true", "1"})
NO = frozenset({"no", "n", "false", "0"})


def normalise_value(value: str) -> str:
    low = value.strip().lower()
    if low in YES:
        return "yes"
    if low in NO:
        return "no"
    return value.strip()


def record_attestation(session: Session, *, subject: str, value: str, attested_by: str,
                       asset_ref: str | None = None, site_code: str | None = None,
                       attested_at: datetime | None = None, expires_at: datetime | None = None,
                       evidence_link: str | None = None, notes: str | None = None) -> Attestation:
    """Store one answer; the caller's transaction commits it."""
    if not SUBJECT_PATTERN.match(subject):
        raise InputError("attestation", None, "subject",
                         f"{subject!r} must be a lower-case key such as encrypted_at_rest")
    if (asset_ref is None) == (site_code is None):
        raise InputError("attestation", None, "asset/site", "give exactly one of an asset or a site")
    if not attested_by.strip():
        raise InputError("attestation", None, "by", "say who gives this answer")
    if subject not in KNOWN_SUBJECTS:
        raise InputError("attestation", None, "subject",
                         f"{subject!r} is not a subject any check reads; see `radguard attest subjects`")
    if not normalise_value(value) or len(value) > 1000:
        raise InputError("attestation", None, "value", "give yes, no or a short value (at most 1,000 characters)")
    for name, text in (("by", attested_by), ("evidence", evidence_link), ("notes", notes)):
        if text is not None and len(text) > 10_000:
            raise InputError("attestation", None, name, "longer than 10,000 characters")
    now = utcnow()
    at = attested_at or now
    for name, moment in (("at", at), ("expires", expires_at)):
        if moment is not None:
            try:
                plausible_time(moment)
            except ValueError as exc:
                raise InputError("attestation", None, name, str(exc)) from None
    if at > now + timedelta(days=1):
        raise InputError("attestation", None, "at", "an answer cannot be dated in the future")
    if expires_at is not None and expires_at <= at:
        raise InputError("attestation", None, "expires", "the expiry must be after the attestation date")
    row = Attestation(subject=subject, value=normalise_value(value), attested_by=attested_by.strip(),
                      attested_at=at, expires_at=expires_at, evidence_link=evidence_link, notes=notes)
    if asset_ref is not None:
        row.asset_id = find_asset(session, asset_ref).id
    else:
        site = session.scalar(select(Site).where(Site.code == site_code))
        if site is None:
            raise NotFoundError(f"no site {site_code!r}; see `radguard inventory list`")
        row.site_id = site.id
    session.add(row)
    session.flush()
    return row


def list_attestations(session: Session, *, asset_ref: str | None = None, site_code: str | None = None,
                      subject: str | None = None, include_expired: bool = False,
                      now: datetime | None = None) -> Sequence[Attestation]:
    stmt = select(Attestation).order_by(Attestation.attested_at.desc(), Attestation.id.desc())
    if asset_ref is not None:
        stmt = stmt.where(Attestation.asset_id == find_asset(session, asset_ref).id)
    if site_code is not None:
        stmt = stmt.join(Site, Site.id == Attestation.site_id).where(Site.code == site_code)
    if subject:
        stmt = stmt.where(Attestation.subject == subject)
    if not include_expired:
        moment = now or utcnow()
        stmt = stmt.where(or_(Attestation.expires_at.is_(None), Attestation.expires_at > moment))
    return session.scalars(stmt).all()


@dataclass
class AttestationIndex:
    """Newest unexpired answer per (asset, subject) and (site, subject), loaded in one query."""

    by_asset: dict[tuple[int, str], Attestation]
    by_site: dict[tuple[int, str], Attestation]

    def get(self, asset: Asset, subject: str) -> Attestation | None:
        found = self.by_asset.get((asset.id, subject))
        return found if found is not None else self.by_site.get((asset.site_id, subject))

    def value(self, asset: Asset, subject: str) -> str | None:
        found = self.get(asset, subject)
        return found.value.lower() if found is not None else None

    def site_value(self, site_id: int, subject: str) -> str | None:
        found = self.by_site.get((site_id, subject))
        return found.value.lower() if found is not None else None


def attestation_index(ctx: CheckContext) -> AttestationIndex:
    """Shared by every evaluator of one assessment (``ctx.memo``)."""

    def load() -> AttestationIndex:
        rows = ctx.session.scalars(
            select(Attestation)
            .where(Attestation.attested_at <= ctx.now)
            .where(or_(Attestation.expires_at.is_(None), Attestation.expires_at > ctx.now))
            .order_by(Attestation.attested_at, Attestation.id)
        )
        by_asset: dict[tuple[int, str], Attestation] = {}
        by_site: dict[tuple[int, str], Attestation] = {}
        for row in rows:  # ascending, so the newest wins
            if row.asset_id is not None:
                by_asset[(row.asset_id, row.subject)] = row
            elif row.site_id is not None:
                by_site[(row.site_id, row.subject)] = row
        return AttestationIndex(by_asset, by_site)

    return ctx.memo("attestations", load)


def attestation_record(row: Attestation, asset_name: str | None = None,
                       site_code: str | None = None) -> dict[str, Any]:
    return {
        "id": row.id, "subject": row.subject, "value": row.value,
        "asset_id": row.asset_id, "asset": asset_name, "site_id": row.site_id, "site": site_code,
        "attested_by": row.attested_by, "attested_at": row.attested_at, "expires_at": row.expires_at,
        "evidence_link": row.evidence_link, "notes": row.notes,
    }
