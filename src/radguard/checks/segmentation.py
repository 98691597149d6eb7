"""Segmentation as a policy that is checked: zones as address ranges, allowed flows between zones.

A policy file (YAML) names zones by address range (with the inventory's zone names) and a role
each (modality, archive, ai, workstation, integration, remote_gateway, general, guest, internet,
management, dmz, other), and lists the flows allowed between roles or named zones. Everything
between two different zones that no rule allows is a violation: default deny, as NIST SP 1800-24
and the NHS imaging pattern describe. The default rules ship in ``checks/data``.

An address is placed in a zone by, in order: the most specific range of the policy; the
inventory asset that holds it (its ``network_zone``; the role from the policy zone of that name,
else from the zone's words, else from the asset's class); otherwise ``internet`` for a public
address and ``unknown`` for a private one. Observed flows come from the passive stage's read
side (:func:`radguard.passive.store.observed_flows`).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.db.models.inventory import Asset, Endpoint, Site
from radguard.db.models.segmentation import SegmentationPolicy
from radguard.errors import InputError, NotFoundError
from radguard.passive.store import ObservedFlow, observed_flows
from radguard.textfiles import line_of, parse_yaml_nodes, read_text, validation_input_error

DEFAULT_POLICY = Path(__file__).parent / "data" / "segmentation-default.yaml"
Role = Literal["modality", "archive", "ai", "workstation", "integration", "remote_gateway", "general", "guest",
               "internet", "management", "dmz", "other", "unknown"]
ROLES: tuple[str, ...] = Role.__args__  # type: ignore[attr-defined]
CLASS_ROLES = {"modality": "modality", "pacs": "archive", "vna": "archive", "ai_application": "ai",
               "workstation": "workstation", "reporting": "integration", "integration_engine": "integration",
               "remote_access": "remote_gateway", "network_device": "management", "cloud_service": "internet"}
WORD_ROLES = {"guest": "guest", "byod": "guest", "wifi": "guest", "general": "general", "corporate": "general",
              "corp": "general", "office": "general", "users": "general", "user": "general", "flat": "general",
              "dmz": "dmz", "perimeter": "dmz", "internet": "internet", "management": "management",
              "mgmt": "management"}


class ZoneSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    role: Role
    ranges: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = Field(default_factory=list)


class RuleSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    ports: list[StrictInt] = Field(min_length=1)  # strict: ``true`` or ``"104"`` is a mistake, not port 1/104
    proto: Literal["tcp", "udp"] = "tcp"
    why: str = Field(min_length=1, max_length=300)

    @model_validator(mode="after")
    def _ports(self) -> RuleSpec:
        bad = [p for p in self.ports if not 1 <= p <= 65535]
        if bad:
            raise ValueError(f"port {bad[0]} is not 1-65535")
        return self


class PolicyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: Literal[1]
    extends: Literal["default"] | None = None
    dicom_ports: list[int] = Field(default_factory=list)  # an anchor for the rules; not used itself
    zones: list[ZoneSpec] = Field(default_factory=list)
    rules: list[RuleSpec] = Field(default_factory=list)


@dataclass(frozen=True)
class Zone:
    name: str
    role: str


@dataclass(frozen=True)
class Policy:
    """A validated policy: zones with their ranges, and the rules (the default's first if extended)."""

    source: str
    zones: tuple[ZoneSpec, ...]
    rules: tuple[RuleSpec, ...]

    def role_of_zone(self, name: str) -> str | None:
        return next((z.role for z in self.zones if z.name.lower() == name.lower()), None)


def _load_file(path: Path) -> PolicyFile:
    return _parse(read_text(path), str(path))


# A policy is written by hand: tens of zones and rules, a few KiB. The general YAML bound (64 MiB)
# let a 14 MB file of rules run the pure-Python YAML parser past 1.4 GB of memory for minutes.
POLICY_CHARS = 256 * 1024


def _parse(text: str, source: str) -> PolicyFile:
    if len(text) > POLICY_CHARS:
        raise InputError(source, f"line {line_of(text, POLICY_CHARS)}", None,
                         f"a segmentation policy is at most {POLICY_CHARS // 1024} KiB (thousands of zones and "
                         "rules); this file passes that here. Give whole networks as ranges rather than "
                         "one zone per address")
    raw, node = parse_yaml_nodes(text, source)
    if not isinstance(raw, dict):
        raise InputError(source, None, None, "a segmentation policy is a YAML mapping with version, zones, rules")
    try:
        return PolicyFile.model_validate(raw)
    except ValidationError as exc:
        raise validation_input_error(source, node, exc) from None


def load_policy(path: Path | None = None) -> Policy:
    """The policy in ``path`` (validated; errors name the file and the field), or the default."""
    if path is None:
        doc = _load_file(DEFAULT_POLICY)
        return Policy("default", tuple(doc.zones), tuple(doc.rules))
    return policy_from_text(read_text(path), str(path))


def policy_from_text(text: str, source: str) -> Policy:
    """A policy from its YAML text; ``source`` names it in errors and in what people are shown."""
    doc = _parse(text, source)
    names = {z.name.lower() for z in doc.zones}
    if len(names) != len(doc.zones):
        raise InputError(source, None, "zones", "two zones have the same name")
    for i, rule in enumerate(doc.rules):
        for side, value in (("from", rule.from_), ("to", rule.to)):
            if value not in ROLES and value != "any" and value.lower() not in names:
                raise InputError(source, None, f"rules.{i}.{side}",
                                 f"{value!r} is neither a zone of this file nor a role ({', '.join(ROLES)})")
    rules = tuple(doc.rules)
    if doc.extends == "default":
        rules = tuple(_load_file(DEFAULT_POLICY).rules) + rules
    return Policy(source, tuple(doc.zones), rules)


# Stored policies: the one configuration every reader uses (checks, report, web, CLI).

def _site_id(session: Session, site: str) -> int:
    site_id = session.scalar(select(Site.id).where(Site.code == site))
    if site_id is None:
        raise NotFoundError(f"no site {site!r}; see `radguard inventory list`")
    return site_id


def _stored_row(session: Session, site_id: int | None) -> SegmentationPolicy | None:
    where = SegmentationPolicy.site_id.is_(None) if site_id is None else SegmentationPolicy.site_id == site_id
    return session.scalar(select(SegmentationPolicy).where(where))


def store_policy(session: Session, path: Path, site: str | None = None) -> Policy:
    """Validate the policy file and keep it as the organisation's (``site`` None) or a site's
    policy, replacing the one stored before; an invalid file stores nothing."""
    text = read_text(path)
    policy = policy_from_text(text, str(path))
    site_id = _site_id(session, site) if site is not None else None
    row = _stored_row(session, site_id)
    if row is None:
        row = SegmentationPolicy(site_id=site_id)
        session.add(row)
    row.source, row.text, row.stored_at = path.name, text, datetime.now(UTC)
    session.flush()
    return policy


def clear_policy(session: Session, site: str | None = None) -> bool:
    """Forget the stored policy of the organisation or of ``site``; False if none was stored."""
    row = _stored_row(session, _site_id(session, site) if site is not None else None)
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def _stored_policy(row: SegmentationPolicy, site: str | None) -> Policy:
    label = f"{row.source} (stored for site {site})" if site else f"{row.source} (stored for the organisation)"
    return policy_from_text(row.text, label)


def policy_for(session: Session, site: str | None = None) -> Policy:
    """The policy that judges ``site``'s flows: the site's stored policy, else the organisation's
    (``radguard segmentation set-policy``), else radguard's default. ``site`` None: the
    organisation's, else the default."""
    if site is not None:
        row = session.scalar(select(SegmentationPolicy).join(Site, Site.id == SegmentationPolicy.site_id)
                             .where(Site.code == site))
        if row is not None:
            return _stored_policy(row, site)
    row = _stored_row(session, None)
    return _stored_policy(row, None) if row is not None else load_policy(None)


class Zoner:
    """Places addresses in zones (policy ranges, then the inventory, then internet/unknown)."""

    def __init__(self, session: Session, policy: Policy) -> None:
        self.policy = policy
        self.ranges = sorted(((net, Zone(z.name, z.role)) for z in policy.zones for net in z.ranges),
                             key=lambda item: -item[0].prefixlen)
        self._session = session
        self._assets: dict[str, tuple[str, str | None, str]] | None = None
        self._cache: dict[str, Zone] = {}

    @property
    def assets(self) -> dict[str, tuple[str, str | None, str]]:
        """Address → (name, network zone, class) of the first asset holding an endpoint there.

        Read on the first address no policy range places, as plain columns: an assessment judges
        flows once, and loading every asset of a 50,000-asset fleet as ORM objects for it took
        a second (issue #18).
        """
        if self._assets is None:
            found: dict[str, tuple[str, str | None, str]] = {}
            for host, name, zone, asset_class in self._session.execute(
                    select(Endpoint.host, Asset.name, Asset.network_zone, Asset.asset_class)
                    .join(Asset, Endpoint.asset_id == Asset.id).order_by(Endpoint.id)):
                if host not in found:
                    found[host] = (name, zone, asset_class)
            self._assets = found
        return self._assets

    def zone(self, address: str) -> Zone:
        if address not in self._cache:
            self._cache[address] = self._zone(address)
        return self._cache[address]

    def _zone(self, address: str) -> Zone:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            ip = None
        if ip is not None:
            for net, zone in self.ranges:
                if ip.version == net.version and ip in net:
                    return zone
        asset = self.assets.get(address)
        if asset is not None:
            asset_name, network_zone, asset_class = asset
            name = (network_zone or "").strip() or f"(no zone: {asset_name})"
            role = self.policy.role_of_zone(name)
            if role is None:
                words = {w for w in name.lower().replace("_", "-").split("-") if w}
                role = next((WORD_ROLES[w] for w in sorted(words) if w in WORD_ROLES), None)
            return Zone(name, role or CLASS_ROLES.get(asset_class, "other"))
        if ip is not None and ip.is_global:
            return Zone("internet", "internet")
        return Zone("unknown", "unknown")


def _matches(side: str, zone: Zone) -> bool:
    return side == "any" or side == zone.role or side.lower() == zone.name.lower()


@dataclass(frozen=True)
class Verdict:
    """One observed flow judged against the policy."""

    flow: ObservedFlow
    source: Zone
    target: Zone
    rule: RuleSpec | None
    policy: Policy | None = None  # the policy that judged it

    @property
    def crosses(self) -> bool:
        return self.source.name.lower() != self.target.name.lower()

    @property
    def violation(self) -> bool:
        return self.crosses and self.rule is None

    def document(self) -> dict[str, Any]:
        return {**self.flow.cite(), "from_zone": self.source.name, "from_role": self.source.role,
                "to_zone": self.target.name, "to_role": self.target.role, "crosses_zones": self.crosses,
                "allowed_by": self.rule.why if self.rule else None, "violation": self.violation}


def allowing_rule(policy: Policy, proto: str, port: int, source: Zone, target: Zone) -> RuleSpec | None:
    """The first rule of ``policy`` that lets ``source`` open ``proto``/``port`` to ``target``
    (by role or zone name), or None. It does not look at whether the zones are the same one."""
    return next((r for r in policy.rules if r.proto == proto and port in r.ports
                 and _matches(r.from_, source) and _matches(r.to, target)), None)


def judge(session: Session, policy: Policy, since: datetime | None = None) -> list[Verdict]:
    """Every observed flow with its zones and the rule that allows it (None: not allowed)."""
    flows = observed_flows(session, since=since)
    if not flows:
        return []
    zoner = Zoner(session, policy)
    out = []
    for flow in flows:
        src, dst = zoner.zone(flow.client), zoner.zone(flow.server)
        rule = None
        if src.name.lower() != dst.name.lower():
            rule = allowing_rule(policy, flow.proto, flow.server_port, src, dst)
        out.append(Verdict(flow, src, dst, rule, policy))
    return out


def judge_configured(session: Session, since: datetime | None = None) -> list[Verdict]:
    """Every observed flow judged with the stored policy of its site: the server asset's site,
    else the client asset's, else the organisation's policy (else the default). The flow checks,
    the technical report, the web's zones page and ``radguard segmentation check`` without
    ``--policy`` all judge this way."""
    base = policy_for(session, None)
    verdicts = judge(session, base, since)
    own = dict(session.execute(select(Site.code, SegmentationPolicy.id)
                               .join(SegmentationPolicy, SegmentationPolicy.site_id == Site.id)).all())
    if not own or not verdicts:
        return verdicts
    ids = {i for v in verdicts for i in (v.flow.client_asset_id, v.flow.server_asset_id) if i is not None}
    site_of: dict[int, str] = {}
    for start in range(0, len(ids), 500):
        chunk = sorted(ids)[start:start + 500]
        for asset_id, code in session.execute(select(Asset.id, Site.code).join(Site, Site.id == Asset.site_id)
                                              .where(Asset.id.in_(chunk))):
            site_of[asset_id] = code
    by_site: dict[str, dict[tuple[str, str, str, int], Verdict]] = {}
    out = []
    for v in verdicts:
        sites = [site_of.get(i) for i in (v.flow.server_asset_id, v.flow.client_asset_id) if i is not None]
        site = next((s for s in sites if s in own), None)
        if site is None:
            out.append(v)
            continue
        if site not in by_site:
            by_site[site] = {(x.flow.proto, x.flow.client, x.flow.server, x.flow.server_port): x
                             for x in judge(session, policy_for(session, site), since)}
        out.append(by_site[site][(v.flow.proto, v.flow.client, v.flow.server, v.flow.server_port)])
    return out


def site_verdicts(session: Session, verdicts: list[Verdict], site: str | None, *,
                  scope: frozenset[str] | None = None) -> list[Verdict]:
    """The verdicts of flows that touch an asset of ``site`` (None: every flow), and, for a
    caller limited to the sites in ``scope``, only flows touching an asset of one of those sites.

    :param scope: the sites the caller may see (:mod:`radguard.inventory.scope`); None: all.
    """
    if site is None and scope is None:
        return verdicts
    wanted = {site} if site is not None else set(scope or ())
    if scope is not None:
        wanted &= set(scope)
    if not wanted:
        return []
    ids = set(session.scalars(select(Asset.id).join(Site, Site.id == Asset.site_id)
                              .where(Site.code.in_(sorted(wanted)))))
    return [v for v in verdicts if v.flow.client_asset_id in ids or v.flow.server_asset_id in ids]


@dataclass
class ZoneView:
    """One zone as the report and the web app show it: what was observed, allowed, violating."""

    name: str
    role: str
    hosts: set[str]
    outbound: list[Verdict]
    inbound: list[Verdict]
    internal: list[Verdict]
    rules: list[RuleSpec]

    @property
    def violations(self) -> list[Verdict]:
        return [v for v in self.outbound + self.inbound if v.violation]


def zone_views(verdicts: list[Verdict], policy: Policy) -> list[ZoneView]:
    """Per zone seen in ``verdicts``: its flows out, in and inside, and the policy rules naming it."""
    views: dict[str, ZoneView] = {}

    def view(zone: Zone) -> ZoneView:
        key = zone.name.lower()
        if key not in views:
            rules = [r for r in policy.rules if _matches(r.from_, zone) or _matches(r.to, zone)]
            views[key] = ZoneView(zone.name, zone.role, set(), [], [], [], rules)
        return views[key]

    for v in verdicts:
        src, dst = view(v.source), view(v.target)
        src.hosts.add(v.flow.client)
        dst.hosts.add(v.flow.server)
        if v.crosses:
            src.outbound.append(v)
            dst.inbound.append(v)
        else:
            src.internal.append(v)
    return sorted(views.values(), key=lambda z: z.name.lower())
