"""Shared, bulk-loaded views for evaluators: newest probes, MDS2 answers, zones, parameters.

Each is computed once per assessment through ``ctx.memo``, so fifty checks over fifty thousand
assets still make a handful of queries. Not an evaluator module: it registers nothing.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import select

from radguard.checks.registry import CheckContext
from radguard.db.models.evidence import Evidence
from radguard.db.models.inventory import Asset
from radguard.discovery.vantage import vantage_zones
from radguard.inventory.mds2 import EVIDENCE_KIND as MDS2_KIND
from radguard.inventory.mds2 import FORM as MDS2_FORM
from radguard.inventory.vocab import IMAGING_CLASSES

DEFAULTS: dict[str, Any] = {
    # Zone-name words that mean "shared with general IT" (RG-NOT-SEGMENTED).
    "general_zones": ["general", "corporate", "corp", "office", "guest", "user", "users", "flat", "default",
                      "enterprise", "lan", "wifi", "byod"],
    # Zone-name words that mean "reachable from the Internet or an untrusted network".
    "exposed_zones": ["dmz", "internet", "public", "perimeter", "edge"],
    "stale_days": 180,
    # Largest clock offset (seconds) a probe may measure before RG-TIME-NOT-SYNCED fires; the
    # HTTP Date header has one-second resolution, so a few seconds is measurement noise.
    "clock_skew_max_seconds": 60,
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


@dataclass(frozen=True)
class Probe:
    """The newest ``probe.endpoint`` observation of one host:port."""

    evidence_id: int
    asset_id: int | None
    host: str
    port: int
    collected_at: datetime
    received: dict[str, Any]
    scan_id: int | None = None
    vantage_zone: str | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def is_open(self) -> bool:
        return self.received.get("state", "open") == "open"

    @property
    def service(self) -> str | None:
        value = self.received.get("service")
        return value if isinstance(value, str) else None

    def section(self, name: str) -> dict[str, Any]:
        value = self.received.get(name)
        return value if isinstance(value, dict) else {}

    def cite(self) -> dict[str, Any]:
        cited = {"evidence_id": self.evidence_id, "endpoint": self.where, "collected_at": self.collected_at}
        if self.vantage_zone is not None:
            cited.update(scan_id=self.scan_id, vantage_zone=self.vantage_zone)
        return cited


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
    """Newest ``probe.endpoint`` evidence per (host, port), with its asset resolved."""

    def load() -> list[Probe]:
        hosts = asset_ids_by_host(ctx)
        rows = ctx.session.execute(
            select(Evidence.id, Evidence.asset_id, Evidence.host, Evidence.port, Evidence.collected_at,
                   Evidence.received)
            .where(Evidence.kind == "probe.endpoint", Evidence.collected_at <= ctx.now)
            .order_by(Evidence.collected_at, Evidence.id)
        )
        newest: dict[tuple[str, int], Probe] = {}
        for eid, asset_id, host, port, at, received in rows:
            doc = received if isinstance(received, dict) else {}
            host = host or doc.get("host")
            port = port if port is not None else doc.get("port")
            if not host or port is None:
                continue
            newest[(host, int(port))] = Probe(eid, asset_id if asset_id is not None else hosts.get(host),
                                              host, int(port), at, doc)
        return list(newest.values())

    return ctx.memo("latest_probes", load)


def probes_by_vantage(ctx: CheckContext) -> dict[str, list[Probe]]:
    """Newest ``probe.endpoint`` per (vantage zone, host, port), grouped by the zone the scan
    ran from (``radguard discover --vantage-zone``). Scans without a vantage are left out:
    reachability means something only when it is known where the scan started."""

    def load() -> dict[str, list[Probe]]:
        zones = vantage_zones(ctx.session)
        if not zones:
            return {}
        hosts = asset_ids_by_host(ctx)
        rows = ctx.session.execute(
            select(Evidence.id, Evidence.asset_id, Evidence.host, Evidence.port, Evidence.collected_at,
                   Evidence.received, Evidence.scan_id)
            .where(Evidence.kind == "probe.endpoint", Evidence.collected_at <= ctx.now,
                   Evidence.scan_id.in_(sorted(zones)))
            .order_by(Evidence.collected_at, Evidence.id)
        )
        newest: dict[tuple[str, str, int], Probe] = {}
        for eid, asset_id, host, port, at, received, scan_id in rows:
            doc = received if isinstance(received, dict) else {}
            host = host or doc.get("host")
            port = port if port is not None else doc.get("port")
            if not host or port is None:
                continue
            zone = zones[int(scan_id)]
            newest[(zone.lower(), host, int(port))] = Probe(
                eid, asset_id if asset_id is not None else hosts.get(host), host, int(port), at, doc,
                scan_id=int(scan_id), vantage_zone=zone)
        out: dict[str, list[Probe]] = defaultdict(list)
        for probe in newest.values():
            out[probe.vantage_zone or ""].append(probe)
        return dict(out)

    return ctx.memo("probes_by_vantage", load)


def probes_by_asset(ctx: CheckContext) -> dict[int, list[Probe]]:
    def build() -> dict[int, list[Probe]]:
        out: dict[int, list[Probe]] = defaultdict(list)
        for probe in latest_probes(ctx):
            if probe.asset_id is not None:
                out[probe.asset_id].append(probe)
        return dict(out)

    return ctx.memo("probes_by_asset", build)


@dataclass(frozen=True)
class Statement:
    """The newest MDS2 answers on file for one asset (``doc.mds2`` evidence, 2019 form).

    Only explicit answers count: :meth:`get` gives the lower-cased answer ("yes", "no", "n/a" or
    the manufacturer's free text), and a check treats anything but yes/no as unknown.
    """

    asset_id: int
    evidence_id: int
    answers: dict[str, str]

    def get(self, qid: str) -> str | None:
        value = self.answers.get(qid)
        return value.strip().lower() if isinstance(value, str) else None

    def quote(self, *qids: str) -> dict[str, Any]:
        """The answers behind a finding, for its evidence."""
        return {"mds2_evidence_id": self.evidence_id,
                "answers": {q: self.answers[q] for q in qids if q in self.answers}}

    def transmission_gaps(self) -> list[str]:
        """Why PII the device handles may travel in clear text: no TLS (CONN-7 no), or no
        encryption before sending that the customer could turn on (TXCF-2 no, TXCF-2.1 not
        yes). Empty when the device handles no PII (MPII-1 no) or the form does not say."""
        if self.get("MPII-1") == "no":
            return []
        gaps = []
        if self.get("CONN-7") == "no":
            gaps.append("no TLS (CONN-7)")
        if self.get("TXCF-2") == "no" and self.get("TXCF-2.1") != "yes":
            gaps.append("PII sent unencrypted (TXCF-2)")
        return gaps


def mds2_statements(ctx: CheckContext) -> dict[int, Statement]:
    """Asset → its newest MDS2 statement collected up to the assessment time."""

    def load() -> dict[int, Statement]:
        newest: dict[int, Statement] = {}
        rows = ctx.session.execute(
            select(Evidence.id, Evidence.asset_id, Evidence.received)
            .where(Evidence.kind == MDS2_KIND, Evidence.asset_id.is_not(None), Evidence.collected_at <= ctx.now)
            .order_by(Evidence.collected_at, Evidence.id)
        )
        for eid, asset_id, received in rows:
            answers = received.get("answers") if isinstance(received, dict) else None
            if isinstance(answers, dict) and received.get("form") == MDS2_FORM:
                newest[int(asset_id)] = Statement(int(asset_id), int(eid), dict(answers))
        return dict(sorted(newest.items()))

    return ctx.memo("mds2.statements", load)


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
