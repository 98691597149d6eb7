"""Evaluators for catalog/dicom.yaml: DICOM access control, TLS and exposure."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from radguard.checks.evaluators._support import Probe, is_exposed_zone, latest_probes, probes_by_asset
from radguard.checks.registry import CheckContext, Observation, evaluator
from radguard.db.models.inventory import Asset

DICOM_SERVICES = frozenset({"dicom", "dicom-tls"})
CLEARTEXT_WEB = frozenset({"http"})


def _probe_observation(probe: Probe, facts: dict[str, Any], exposure: float, summary: str) -> Observation:
    return Observation(
        asset_id=probe.asset_id, subject=None if probe.asset_id is not None else f"host:{probe.host}",
        key=probe.where, evidence={**probe.cite(), **facts}, exposure=exposure, summary=summary,
    )


def _dicom_flag(ctx: CheckContext, flag: str) -> Iterator[tuple[Probe, dict[str, Any]]]:
    for probe in latest_probes(ctx):
        dicom = probe.section("dicom")
        if probe.is_open and dicom.get(flag) is True:
            yield probe, dicom


@evaluator("RG-DICOM-ANY-CALLING-AE")
def any_calling_ae(ctx: CheckContext) -> Iterator[Observation]:
    for probe, dicom in _dicom_flag(ctx, "accepts_unknown_calling_ae"):
        yield _probe_observation(probe, {"accepts_unknown_calling_ae": True, "product": dicom.get("product")},
                                 0.8, f"{probe.where} accepted an association from a random calling AE title")


@evaluator("RG-DICOM-ANY-CALLED-AE")
def any_called_ae(ctx: CheckContext) -> Iterator[Observation]:
    for probe, dicom in _dicom_flag(ctx, "accepts_any_called_ae"):
        yield _probe_observation(probe, {"accepts_any_called_ae": True, "product": dicom.get("product")},
                                 0.6, f"{probe.where} accepted an association addressed to a wrong called AE title")


@evaluator("RG-DICOM-ANON-QUERY")
def anonymous_query(ctx: CheckContext) -> Iterator[Observation]:
    for probe, dicom in _dicom_flag(ctx, "anonymous_query"):
        yield _probe_observation(probe, {"anonymous_query": True, "product": dicom.get("product")},
                                 0.9, f"{probe.where} answered a count-only query from an unknown AE title")


def _dicom_endpoints(ctx: CheckContext, asset: Asset,
                    probes: dict[int, list[Probe]] | None = None) -> tuple[list[str], list[str]]:
    """(cleartext, tls) DICOM endpoints of an asset from inventory and open probes."""
    clear = {f"{e.host}:{e.port}" for e in asset.endpoints if e.protocol == "dicom"}
    tls = {f"{e.host}:{e.port}" for e in asset.endpoints if e.protocol == "dicom-tls"}
    for probe in (probes if probes is not None else probes_by_asset(ctx)).get(asset.id, []):
        if probe.is_open and probe.service == "dicom":
            clear.add(probe.where)
        elif probe.is_open and probe.service == "dicom-tls":
            tls.add(probe.where)
    return sorted(clear - tls), sorted(tls)


@evaluator("RG-DICOM-NO-TLS")
def dicom_without_tls(ctx: CheckContext) -> Iterator[Observation]:
    probes = probes_by_asset(ctx)
    for asset in ctx.assets():
        if not asset.endpoints and asset.id not in probes:
            continue
        clear, tls = _dicom_endpoints(ctx, asset, probes)
        if clear and not tls:
            yield Observation(asset_id=asset.id, evidence={"cleartext_dicom": clear},
                              exposure=0.5, summary=f"DICOM only in cleartext on {', '.join(clear)}")
    hosts_with_tls = {p.host for p in latest_probes(ctx) if p.is_open and p.service == "dicom-tls"}
    for probe in latest_probes(ctx):
        if probe.asset_id is None and probe.is_open and probe.service == "dicom" and probe.host not in hosts_with_tls:
            yield _probe_observation(probe, {"cleartext_dicom": [probe.where]}, 0.5,
                                     f"uninventoried DICOM service {probe.where} without TLS")


@evaluator("RG-DICOM-EXPOSED-DMZ")
def dicom_in_exposed_zone(ctx: CheckContext) -> Iterator[Observation]:
    for asset in ctx.assets():
        if not is_exposed_zone(ctx, asset.network_zone):
            continue
        clear, tls = _dicom_endpoints(ctx, asset)
        if clear or tls:
            yield Observation(asset_id=asset.id, evidence={"zone": asset.network_zone, "dicom": clear + tls},
                              exposure=1.0, summary=f"DICOM {', '.join(clear + tls)} in zone {asset.network_zone}")


@evaluator("RG-TELERAD-NO-TLS")
def telerad_without_tls(ctx: CheckContext) -> Iterator[Observation]:
    for asset in ctx.assets():
        if asset.asset_class not in ("remote_access", "cloud_service"):
            continue
        clear = {f"{e.protocol}://{e.host}:{e.port}" for e in asset.endpoints
                 if e.protocol == "dicom" or e.protocol in CLEARTEXT_WEB}
        for probe in probes_by_asset(ctx).get(asset.id, []):
            if probe.is_open and probe.service in ("dicom", "http", "dicomweb") and not probe.section("tls"):
                clear.add(f"{probe.service}://{probe.where}")
        if clear:
            yield Observation(asset_id=asset.id, evidence={"cleartext_endpoints": sorted(clear)}, exposure=0.9,
                              summary=f"cleartext image transport on {', '.join(sorted(clear))}")
