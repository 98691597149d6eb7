"""Evaluators for catalog/inventory.yaml: completeness and freshness of the inventory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from radguard.checks.evaluators._support import latest_probes, param
from radguard.checks.registry import CheckContext, Observation, evaluator


@evaluator("RG-ASSET-STALE")
def asset_stale(ctx: CheckContext) -> Iterator[Observation]:
    days = int(param(ctx, "stale_days"))
    cutoff = (ctx.now - timedelta(days=days)).date()
    for asset in ctx.assets():
        seen = asset.last_seen.date() if asset.last_seen else None
        newest = max((d for d in (seen, asset.last_reviewed) if d is not None), default=None)
        if newest is None or newest < cutoff:
            yield Observation(asset_id=asset.id,
                              evidence={"last_seen": asset.last_seen, "last_reviewed": asset.last_reviewed,
                                        "stale_days": days},
                              exposure=0.3, summary=f"not seen or reviewed since {newest.isoformat()}"
                              if newest else "never seen or reviewed")


@evaluator("RG-ASSET-UNCONFIRMED")
def asset_unconfirmed(ctx: CheckContext) -> Iterator[Observation]:
    for asset in ctx.assets():
        if not asset.confirmed:
            yield Observation(asset_id=asset.id, evidence={"source": asset.source, "confirmed": False,
                                                           "last_seen": asset.last_seen},
                              exposure=0.5, summary=f"created by {asset.source}, not yet confirmed")


@evaluator("RG-NO-OWNER")
def no_owner(ctx: CheckContext) -> Iterator[Observation]:
    for asset in ctx.assets():
        if not (asset.owner or "").strip():
            yield Observation(asset_id=asset.id, evidence={"owner": None}, exposure=0.2, summary="no owner recorded")


@evaluator("RG-CRITICALITY-UNKNOWN")
def criticality_unknown(ctx: CheckContext) -> Iterator[Observation]:
    for asset in ctx.assets():
        if asset.criticality is None:
            yield Observation(asset_id=asset.id, evidence={"criticality": None}, exposure=0.2,
                              summary="clinical criticality not rated")


@evaluator("RG-ENDPOINT-UNINVENTORIED")
def endpoint_uninventoried(ctx: CheckContext) -> Iterator[Observation]:
    for probe in latest_probes(ctx):
        if probe.asset_id is None and probe.is_open:
            yield Observation(subject=f"host:{probe.host}", key=probe.where,
                              evidence={**probe.cite(), "service": probe.service}, exposure=0.5,
                              summary=f"{probe.service or 'unknown'} service on {probe.where} is in no inventory")
