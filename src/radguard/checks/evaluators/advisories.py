"""RG-KEV and RG-ADVISORY: advisory matches turned into observations.

Both checks read one shared result, :func:`radguard.feeds.matching.match_assets`, computed once
per assessment. One observation per (asset, advisory), keyed by the advisory ID. Only matches
radguard is sure of (``affected``) become observations; ``needs_review`` matches stay in
``radguard advisories`` for a person to settle, unless the settings ask for them
(``parameters: {advisories_include_needs_review: true}``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from radguard.checks.registry import CheckContext, Observation, evaluator
from radguard.feeds.matching import AssetAdvisoryMatch, match_assets

_EXPOSED_ZONE_WORDS = {"dmz", "internet", "public", "perimeter", "edge", "external"}
_GENERAL_ZONE_WORDS = {"general", "corporate", "corp", "office", "guest", "user", "users", "flat", "default",
                       "enterprise", "lan", "wifi", "byod"}


def _parameter(ctx: CheckContext, name: str, default: Any) -> Any:
    params: dict[str, Any] = ctx.settings.get("parameters") or {}
    return params.get(name, default)


def exposure(network_zone: str | None, remote_access: str | None) -> tuple[float, str]:
    """How reachable an asset is, 0–1, and why: the most exposed of its zone and remote access."""
    words = set(re.split(r"[^a-z0-9]+", (network_zone or "").lower())) - {""}
    candidates = [(0.4, f"zone {network_zone!r} is a restricted segment")]
    if not words:
        candidates.append((0.7, "no network zone is recorded"))
    elif words & _EXPOSED_ZONE_WORDS:
        candidates.append((1.0, f"zone {network_zone!r} is reachable from outside"))
    elif words & _GENERAL_ZONE_WORDS:
        candidates.append((0.7, f"zone {network_zone!r} is shared with general IT"))
    if remote_access == "always-on":
        candidates.append((0.9, "remote access is always on"))
    elif remote_access == "on-demand":
        candidates.append((0.6, "remote access is enabled on demand"))
    return max(candidates, key=lambda c: c[0])


def _exposures(ctx: CheckContext) -> dict[int, tuple[float, str]]:
    """Exposure per asset, worked out once per distinct (zone, remote access) pair."""
    def load() -> dict[int, tuple[float, str]]:
        by_pair: dict[tuple[str | None, str | None], tuple[float, str]] = {}
        out: dict[int, tuple[float, str]] = {}
        for asset in ctx.assets():
            pair = (asset.network_zone, asset.remote_access)
            found = by_pair.get(pair)
            if found is None:
                found = by_pair[pair] = exposure(*pair)
            out[asset.id] = found
        return out
    return ctx.memo("feeds.asset_exposure", load)


def _matches(ctx: CheckContext) -> list[AssetAdvisoryMatch]:
    return ctx.memo("feeds.asset_advisory_matches", lambda: match_assets(ctx.session, assets=ctx.assets()))


def _epss(ctx: CheckContext) -> dict[str, Any]:
    """The imported EPSS score of every CVE of a matched advisory (read once per assessment)."""
    from radguard.feeds.epss import lookup

    return ctx.memo("feeds.epss", lambda: lookup(ctx.session, {c.id for am in _matches(ctx) for c in am.match.cves}))


def _observations(ctx: CheckContext, *, kev_only: bool) -> Iterator[Observation]:
    include_review = bool(_parameter(ctx, "advisories_include_needs_review", False))
    exposures = _exposures(ctx)
    epss = _epss(ctx)
    # Thousands of assets share a component version, hence the same AdvisoryMatch object and
    # the same exposure basis: build each distinct evidence document and summary once. The
    # shared documents are never mutated (observations are read-only).
    shared: dict[tuple[int, str, str | None, str], tuple[dict[str, Any], str, dict[str, Any]]] = {}
    for am in _matches(ctx):
        m = am.match
        if m.status != "affected" and not include_review:
            continue
        if kev_only and not m.kev:
            continue
        if am.asset_id not in exposures:
            continue
        level, basis = exposures[am.asset_id]
        key = (id(m), am.origin, am.endpoint, basis)
        built = shared.get(key)
        if built is None:
            # What matched and why, with CVE IDs. Per-CVE scores and the vendor's remediation
            # text stay in the feed: `findings show` and the finding page add them from there
            # (radguard.checks.findings.advisory_detail). Copying them into each of tens of
            # thousands of findings made these two checks 90% of what an assessment wrote.
            kev_ids = [c.id for c in m.cves if c.kev]
            evidence = {
                "advisory_id": m.advisory_id, "title": m.title, "source": m.source, "url": m.url,
                "status": m.status, "component": am.component, "vendor": m.vendor, "product": m.product,
                "version": m.version, "origin": am.origin, "endpoint": am.endpoint,
                "matched_range": m.matched_range, "interpreted_range": m.interpreted_range,
                "advisory_product": m.advisory_product, "reason": m.reason,
                "cves": kev_ids if kev_only else [c.id for c in m.cves], "kev_cves": kev_ids, "kev": m.kev,
                "ransomware": m.ransomware, "max_cvss": m.max_cvss, "exposure_basis": basis,
            }
            summary = (f"{am.component} is affected by {m.advisory_id}"
                       + (f"; KEV-listed: {', '.join(kev_ids)}" if kev_ids else "")
                       + ("; used in ransomware campaigns" if m.ransomware else ""))
            top = max((epss[c.id].epss for c in m.cves if c.id in epss), default=None)
            signal: dict[str, Any] = {"kev": m.kev, "ransomware": m.ransomware}
            if top is not None:
                signal["epss"] = top
            built = shared[key] = (evidence, summary, signal)
        evidence, summary, exploit = built
        yield Observation(asset_id=am.asset_id, key=m.advisory_id, evidence=evidence, exposure=level,
                          exploit=exploit, summary=summary)


@evaluator("RG-KEV")
def kev_listed(ctx: CheckContext) -> Iterator[Observation]:
    """Affected by an advisory with at least one CVE in CISA KEV."""
    yield from _observations(ctx, kev_only=True)


@evaluator("RG-ADVISORY")
def advisory_affected(ctx: CheckContext) -> Iterator[Observation]:
    """Affected by any stored advisory (CSAF or NVD)."""
    yield from _observations(ctx, kev_only=False)
