"""Backup checks: 3-2-1, immutability, verification age, verification result.

The 3-2-1 and immutability checks look at all sets that protect one archive together: the
archive is the subject (the inventory asset, or ``archive:<label>`` when it is not in the
inventory). Verification checks are per set (``backup_set:<name>``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from radguard.backup.sets import verification_problems
from radguard.checks.registry import CheckContext, Observation, evaluator
from radguard.db.models.backup import BackupSet

ARCHIVE_CLASSES = ("pacs", "vna")
DEFAULT_VERIFY_DAYS = 90


def _sets(ctx: CheckContext) -> list[BackupSet]:
    return ctx.memo("backup_sets", lambda: list(ctx.session.scalars(
        select(BackupSet).options(selectinload(BackupSet.verifications)).order_by(BackupSet.name))))


def _by_archive(ctx: CheckContext) -> Iterator[tuple[int | None, str | None, list[BackupSet]]]:
    """(asset_id, subject, sets) for every archive: inventory PACS/VNA first, then unlinked labels."""
    sets = _sets(ctx)
    by_asset: dict[int, list[BackupSet]] = {}
    by_label: dict[str, list[BackupSet]] = {}
    for s in sets:
        if s.asset_id is not None:
            by_asset.setdefault(s.asset_id, []).append(s)
        else:
            by_label.setdefault(s.protects, []).append(s)
    for asset in ctx.assets():
        if asset.asset_class in ARCHIVE_CLASSES or asset.id in by_asset:
            yield asset.id, None, by_asset.get(asset.id, [])
    for label, group in sorted(by_label.items()):
        yield None, f"archive:{label}", group


@evaluator("RG-BACKUP-321")
def backup_321(ctx: CheckContext) -> Iterator[Observation]:
    for asset_id, subject, group in _by_archive(ctx):
        copies = 1 + len(group)  # the archive itself is the first copy
        media = sorted({"disk"} | {s.media for s in group})
        offsite = [s.name for s in group if s.offsite]
        gaps = []
        if copies < 3:
            gaps.append(f"{copies} copies")
        if len(media) < 2:
            gaps.append("one medium")
        if not offsite:
            gaps.append("no offsite copy")
        if gaps:
            yield Observation(asset_id=asset_id, subject=subject, exposure=0.7 if not group else 0.5,
                              evidence={"copies": copies, "media": media, "offsite_sets": offsite,
                                        "sets": [s.name for s in group]},
                              summary="no backup set recorded" if not group else ", ".join(gaps))


@evaluator("RG-BACKUP-NOT-IMMUTABLE")
def backup_not_immutable(ctx: CheckContext) -> Iterator[Observation]:
    for asset_id, subject, group in _by_archive(ctx):
        if not any(s.immutable or s.offline for s in group):
            yield Observation(asset_id=asset_id, subject=subject, exposure=0.8,
                              evidence={"sets": [s.name for s in group], "immutable": [], "offline": []},
                              summary="every copy can be changed or deleted from the network")


@evaluator("RG-BACKUP-UNVERIFIED")
def backup_unverified(ctx: CheckContext) -> Iterator[Observation]:
    params = ctx.settings.get("parameters") or {}
    days = int(params.get("backup_verify_days", DEFAULT_VERIFY_DAYS))
    limit = ctx.now - timedelta(days=days)
    for s in _sets(ctx):
        if s.last_verified_at is None or s.last_verified_at < limit:
            last = s.last_verified_at.date().isoformat() if s.last_verified_at else None
            yield Observation(subject=f"backup_set:{s.name}", exposure=0.4,
                              evidence={"last_verified": last, "window_days": days},
                              summary="never verified" if last is None else f"last verified {last}")


@evaluator("RG-BACKUP-ERRORS")
def backup_errors(ctx: CheckContext) -> Iterator[Observation]:
    for s in _sets(ctx):
        if not s.verifications:
            continue
        last = max(s.verifications, key=lambda v: (v.finished_at, v.id))
        if last.all_ok:
            continue
        problems = verification_problems(last)  # ransom notes first
        bad = dict(problems)
        # A ransom note or an executable hidden in an image means an attacker reached the copy.
        attacked = bool(bad.get("ransom_note") or bad.get("polyglot"))
        exposure = 1.0 if attacked else 0.9 if bad.get("encrypted") else 0.6
        evidence: dict[str, object] = {"verified": last.finished_at.isoformat(timespec="seconds"), "counts": bad,
                                       "expected_instances": last.expected_instances}
        if last.ransom_notes:
            evidence["ransom_notes"] = [n["name"] for n in last.ransom_notes]
        yield Observation(subject=f"backup_set:{s.name}", exposure=exposure, evidence=evidence,
                          summary=", ".join(f"{n} {k.replace('_', ' ')}" for k, n in problems))
