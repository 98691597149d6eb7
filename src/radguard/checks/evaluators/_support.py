"""Shared, bulk-loaded views for evaluators: newest probes, MDS2 answers, zones, parameters.

Each is computed once per assessment through ``ctx.memo``, so fifty checks over fifty thousand
assets still make a handful of queries. Not an evaluator module: it registers nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache
from typing import Any

from sqlalchemy import select

from radguard.checks.registry import CheckContext
from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Asset
from radguard.discovery.probes import Probe
from radguard.discovery.probes import latest_probes as discovery_probes
from radguard.inventory.mds2 import EVIDENCE_KIND as MDS2_KIND
from radguard.inventory.vocab import IMAGING_CLASSES

DEFAULTS: dict[str, Any] = {
    # Zone-name words that mean "shared with general IT" (RG-NOT-SEGMENTED).
    "general_zones": ["general", "corporate", "corp", "office", "guest", "user", "users", "flat", "default",
                      "enterprise", "lan", "wifi", "byod"],
    # Zone-name words that mean "reachable from the Internet or an untrusted network".
    "exposed_zones": ["dmz", "internet", "public", "perimeter", "edge"],
    "stale_days": 180,
    "eos_near_years": 3,
}


def param(ctx: CheckContext, name: str) -> Any:
    """A check parameter from the settings file, else radguard's default."""
    params: dict[str, Any] = ctx.settings.get("parameters") or {}
    return params.get(name, DEFAULTS[name])


@lru_cache(maxsize=4096)
def zone_words(zone: str | None) -> frozenset[str]:
    """The words of a zone name: ``Imaging-DMZ_2`` → {imaging, dmz, 2}. Zones repeat, so cached."""
    return frozenset(re.split(r"[^a-z0-9]+", zone.lower())) - {""} if zone else frozenset()


def _word_set(ctx: CheckContext, name: str) -> frozenset[str]:
    def build() -> frozenset[str]:
        if name == "exposed_zones":
            sla = ctx.settings.get("sla")
            words = getattr(sla, "exposed_zones", None) or param(ctx, name)
        else:
            words = param(ctx, name)
        return frozenset(w.lower() for w in words)

    return ctx.memo(f"zone_words.{name}", build)


def is_exposed_zone(ctx: CheckContext, zone: str | None) -> bool:
    return bool(zone_words(zone) & _word_set(ctx, "exposed_zones"))


def is_general_zone(ctx: CheckContext, zone: str | None) -> bool:
    return bool(zone_words(zone) & _word_set(ctx, "general_zones"))


def is_imaging(asset: Asset) -> bool:
    return asset.asset_class in IMAGING_CLASSES


def asset_ids_by_host(ctx: CheckContext) -> dict[str, int]:
    """Inventory endpoint host → asset, to attach probes that discovery left unattached."""

    def build() -> dict[str, int]:
        out: dict[str, int] = {}
        for asset in ctx.assets():
            for ep in asset.endpoints:
                out.setdefault(ep.host, asset.id)
        return out

    return ctx.memo("asset_ids_by_host", build)


def latest_probes(ctx: CheckContext) -> list[Probe]:
    """Newest probe per (host, port) as of the assessment time (discovery's read side)."""
    return ctx.memo("latest_probes", lambda: discovery_probes(ctx.session, now=ctx.now,
                                                              hosts=asset_ids_by_host(ctx)))


def probes_by_asset(ctx: CheckContext) -> dict[int, list[Probe]]:
    def build() -> dict[int, list[Probe]]:
        out: dict[int, list[Probe]] = defaultdict(list)
        for probe in latest_probes(ctx):
            if probe.asset_id is not None:
                out[probe.asset_id].append(probe)
        return dict(out)

    return ctx.memo("probes_by_asset", build)


def mds2_answers(ctx: CheckContext) -> dict[int, dict[str, Any]]:
    """Newest MDS2 answers per asset (``doc.mds2`` evidence)."""

    def load() -> dict[int, dict[str, Any]]:
        rows = ctx.session.execute(
            select(Evidence.id, Evidence.asset_id, Evidence.received)
            .where(Evidence.kind == MDS2_KIND, Evidence.asset_id.is_not(None), Evidence.collected_at <= ctx.now)
            .order_by(Evidence.collected_at, Evidence.id)
        )
        out: dict[int, dict[str, Any]] = {}
        for eid, asset_id, received in rows:
            answers = (received or {}).get("answers") if isinstance(received, dict) else None
            if isinstance(answers, dict):
                out[int(asset_id)] = {"evidence_id": eid, "answers": answers}
        return out

    return ctx.memo("mds2_answers", load)


def answer(value: Any) -> str | None:
    """``yes``/``no`` from an attestation value, MDS2 answer or attribute; None if unknown."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).strip().lower()
    if text in ("yes", "y", "true", "1"):
        return "yes"
    if text in ("no", "n", "false", "0"):
        return "no"
    return text or None
