"""Evaluators for catalog/ai_cloud.yaml: BAAs, immutable cloud copies, downtime modes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from radguard.checks.attestations import attestation_index
from radguard.checks.evaluators._support import answer
from radguard.checks.registry import CheckContext, Observation, evaluator
from radguard.db.models.inventory import Asset, DataFlow


def phi_recipients(ctx: CheckContext) -> set[int]:
    """Assets that receive PHI over a recorded data flow."""
    return ctx.memo("phi_recipients", lambda: set(ctx.session.scalars(
        select(DataFlow.target_asset_id).where(DataFlow.carries_phi.is_(True)).distinct())))


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
    receivers = phi_recipients(ctx)
    for asset in ctx.assets():
        if asset.asset_class not in ("ai_application", "cloud_service"):
            continue
        if not (asset.stores_phi is True or asset.id in receivers):
            continue
        value, source = _yes_no(ctx, asset, "baa_signed", "baa_signed")
        if value != "yes":
            yield Observation(asset_id=asset.id, evidence={"baa_signed": value, **source,
                                                           "stores_phi": asset.stores_phi,
                                                           "receives_phi_flow": asset.id in receivers},
                              exposure=0.6, summary="PHI handled without a recorded business associate agreement")


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
