"""Evaluators for catalog/ai_cloud.yaml: BAAs, immutable cloud copies, downtime modes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from radguard.checks.attestations import attestation_index
from radguard.checks.evaluators._support import answer, mds2_statements
from radguard.checks.registry import CheckContext, Observation, evaluator
from radguard.db.models.inventory import Asset, DataFlow


def phi_sources(ctx: CheckContext) -> dict[int, set[int]]:
    """Asset receiving PHI over a recorded data flow → the assets that send it."""

    def load() -> dict[int, set[int]]:
        out: dict[int, set[int]] = {}
        rows = ctx.session.execute(select(DataFlow.target_asset_id, DataFlow.source_asset_id)
                                   .where(DataFlow.carries_phi.is_(True)))
        for target, source in rows:
            out.setdefault(int(target), set()).add(int(source))
        return out

    return ctx.memo("phi_sources", load)


def _deidentifying_senders(ctx: CheckContext, sources: set[int], names: dict[int, str]) -> dict[str, Any]:
    """Senders whose MDS2 says they support DICOM de-identification profiles (DIDT-1.1 yes)."""
    mds2 = mds2_statements(ctx)
    able = sorted(names[s] for s in sources if s in mds2 and mds2[s].get("DIDT-1.1") == "yes")
    return {"deidentifying_senders": able} if able else {}


def _yes_no(ctx: CheckContext, asset: Asset, subject: str, *attributes: str) -> tuple[str | None, dict[str, Any]]:
    """The attestation if there is one, else the first attribute present; and where it came from."""
    row = attestation_index(ctx).get(asset, subject)
    if row is not None:
        return answer(row.value), {"attestation_id": row.id, "attested_by": row.attested_by}
    attrs = asset.attributes or {}
    for name in attributes:
        if name in attrs:
            return answer(attrs[name]), {"attribute": name}
    return None, {}


@evaluator("RG-AI-NO-BAA")
def ai_without_baa(ctx: CheckContext) -> Iterator[Observation]:
    """Also names the senders whose MDS2 says they can de-identify with DICOM profiles
    (DIDT-1.1): for them, de-identifying before sending is the other way to close the finding
    (it stays open until a BAA is recorded or the flow no longer carries PHI)."""
    senders = phi_sources(ctx)
    assets = ctx.assets()
    names = {a.id: f"{a.site.code}/{a.name}" for a in assets}
    for asset in assets:
        if asset.asset_class not in ("ai_application", "cloud_service"):
            continue
        if not (asset.stores_phi is True or asset.id in senders):
            continue
        value, source = _yes_no(ctx, asset, "baa_signed", "baa_signed")
        if value != "yes":
            deid = _deidentifying_senders(ctx, senders.get(asset.id, set()), names)
            summary = "PHI handled without a recorded business associate agreement"
            if deid:
                summary += (f"; {', '.join(deid['deidentifying_senders'])} can de-identify before sending "
                            "(MDS2 DIDT-1.1)")
            yield Observation(asset_id=asset.id, evidence={"baa_signed": value, **source,
                                                           "stores_phi": asset.stores_phi,
                                                           "receives_phi_flow": asset.id in senders, **deid},
                              exposure=0.6, summary=summary)


@evaluator("RG-CLOUD-NO-IMMUTABLE-COPY")
def cloud_without_immutable_copy(ctx: CheckContext) -> Iterator[Observation]:
    for asset in ctx.assets():
        if asset.asset_class != "cloud_service" or asset.stores_phi is not True:
            continue
        value, source = _yes_no(ctx, asset, "immutable_copy", "object_lock", "immutable_copy")
        if value != "yes":
            yield Observation(asset_id=asset.id, evidence={"immutable_copy": value, **source}, exposure=0.6,
                              summary="no immutable copy of the cloud-held PHI is recorded")


@evaluator("RG-AI-NO-DOWNTIME-BYPASS")
def ai_without_bypass(ctx: CheckContext) -> Iterator[Observation]:
    for asset in ctx.assets():
        if asset.asset_class != "ai_application":
            continue
        value, source = _yes_no(ctx, asset, "downtime_mode", "downtime_bypass", "downtime_mode")
        if value != "yes":
            yield Observation(asset_id=asset.id, evidence={"downtime_mode": value, **source}, exposure=0.4,
                              summary="no tested bypass for when the AI application is down")


@evaluator("RG-DICTATION-NO-DOWNTIME")
def reporting_without_downtime(ctx: CheckContext) -> Iterator[Observation]:
    for asset in ctx.assets():
        if asset.asset_class != "reporting":
            continue
        value, source = _yes_no(ctx, asset, "downtime_mode", "downtime_mode")
        if value != "yes":
            yield Observation(asset_id=asset.id, evidence={"downtime_mode": value, **source}, exposure=0.4,
                              summary="no tested downtime mode for reporting/dictation")
