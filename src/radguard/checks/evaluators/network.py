"""Evaluators for catalog/network.yaml: TLS quality, web auth, HL7, segmentation, exposure."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from radguard.checks.attestations import attestation_index
from radguard.checks.evaluators._support import (
    Probe,
    answer,
    is_exposed_zone,
    is_general_zone,
    is_imaging,
    latest_probes,
    mds2_statements,
    param,
    probes_by_asset,
    probes_by_vantage,
    zone_words,
)
from radguard.checks.registry import CheckContext, Observation, evaluator

OLD_TLS = frozenset({"sslv2", "sslv3", "tlsv1", "tlsv1.0", "tls1.0", "tlsv1.1", "tls1.1", "ssl2", "ssl3"})
REMOTE_ZONE_WORDS = frozenset({"remote", "vendor", "vpn", "partner", "supplier", "extranet"})


def _subject(probe: Probe) -> dict[str, Any]:
    return {"asset_id": probe.asset_id, "subject": None if probe.asset_id is not None else f"host:{probe.host}"}


def parse_when(value: Any) -> datetime | None:
    """A certificate date as ISO 8601 or OpenSSL's ``Jan  1 00:00:00 2030 GMT``."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = datetime.strptime(text, "%b %d %H:%M:%S %Y %Z")
        except ValueError:
            try:
                parsed = parsedate_to_datetime(text)
            except (TypeError, ValueError):
                return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


WEAK_CLASS_WORDS = {"NULL": "NULL (no encryption)", "export": "export-grade (40/56-bit)", "RC4": "RC4",
                    "DES": "single DES", "3DES": "3DES", "anonymous": "anonymous (unauthenticated)"}
MIN_KEY_BITS = {"RSA": 2048, "DSA": 2048, "EC": 224}


def tls_weaknesses(tls: dict[str, Any], now: datetime) -> list[str]:
    """Why a TLS description is weak, in words: the versions and cipher classes the server
    *accepts* (discovery enumerates them), else the one version negotiated; the certificate."""
    reasons: list[str] = []
    accepted = tls.get("versions")
    if isinstance(accepted, list) and accepted:
        old = [str(v) for v in accepted if str(v).replace(" ", "").lower() in OLD_TLS]
        if old:
            reasons.append(f"accepts {', '.join(old)}, older than TLS 1.2")
    else:
        version = str(tls.get("version") or "").replace(" ", "").lower()
        if version in OLD_TLS:
            reasons.append(f"protocol {tls.get('version')} is older than TLS 1.2")
    classes = tls.get("weak_cipher_classes")
    if isinstance(classes, list) and classes:
        words = [WEAK_CLASS_WORDS.get(str(c), str(c)) for c in classes]
        ciphers = tls.get("weak_ciphers") if isinstance(tls.get("weak_ciphers"), list) else []
        reasons.append(f"accepts {', '.join(words)} cipher suites" + (f" ({', '.join(map(str, ciphers))})"
                                                                       if ciphers else ""))
    raw_cert = tls.get("certificate")
    cert: dict[str, Any] = raw_cert if isinstance(raw_cert, dict) else {}
    bits, kind = cert.get("key_bits"), cert.get("key_type")
    if isinstance(bits, int) and isinstance(kind, str) and bits < MIN_KEY_BITS.get(kind, 0):
        reasons.append(f"certificate key is {kind} {bits} bits (under {MIN_KEY_BITS[kind]})")
    not_after = parse_when(cert.get("not_after"))
    if not_after is not None and not_after <= now:
        reasons.append(f"certificate expired on {not_after.date().isoformat()}")
    if cert.get("self_signed") is True:
        reasons.append("certificate is self-signed")
    return reasons


@evaluator("RG-TLS-WEAK")
def weak_tls(ctx: CheckContext) -> Iterator[Observation]:
    for probe in latest_probes(ctx):
        tls = probe.section("tls")
        if not probe.is_open or not tls:
            continue
        reasons = tls_weaknesses(tls, ctx.now)
        if reasons:
            yield Observation(**_subject(probe), key=probe.where,
                              evidence={**probe.cite(), "tls_version": tls.get("version"),
                                        **({"tls_versions": tls["versions"]} if tls.get("versions") else {}),
                                        "reasons": reasons},
                              exposure=0.6, summary=f"{probe.where}: {'; '.join(reasons)}")


@evaluator("RG-WEB-NO-AUTH")
def web_without_auth(ctx: CheckContext) -> Iterator[Observation]:
    assets = {a.id: a for a in ctx.assets()}
    for probe in latest_probes(ctx):
        http = probe.section("http")
        if not probe.is_open or not http:
            continue
        asset = assets.get(probe.asset_id) if probe.asset_id is not None else None
        imaging_web = (probe.service == "dicomweb" or bool(http.get("product"))
                       or (asset is not None and (is_imaging(asset) or asset.asset_class == "cloud_service")))
        anonymous = http.get("dicomweb_anonymous") is True or (http.get("auth_required") is False and imaging_web)
        if anonymous:
            yield Observation(**_subject(probe), key=probe.where,
                              evidence={**probe.cite(), "service": probe.service, "status": http.get("status"),
                                        "product": http.get("product"), "auth_required": http.get("auth_required"),
                                        "dicomweb_anonymous": http.get("dicomweb_anonymous")},
                              exposure=0.9, summary=f"{probe.where} ({http.get('product') or probe.service}) "
                                                    "answered without credentials")


@evaluator("RG-HL7-CLEARTEXT")
def hl7_cleartext(ctx: CheckContext) -> Iterator[Observation]:
    attested = attestation_index(ctx)
    by_asset = probes_by_asset(ctx)
    for asset in ctx.assets():
        found = {f"{e.host}:{e.port}" for e in asset.endpoints if e.protocol == "hl7-mllp"}
        found |= {p.where for p in by_asset.get(asset.id, []) if p.is_open and p.service == "hl7-mllp"}
        if found and attested.value(asset, "hl7_encrypted") != "yes":
            yield Observation(asset_id=asset.id, evidence={"hl7_mllp": sorted(found)}, exposure=0.5,
                              summary=f"HL7 MLLP in cleartext on {', '.join(sorted(found))}")


# RG-NOT-SEGMENTED: the groups that must not share a zone with each other (NIST SP 1800-24 and
# the NHS imaging pattern put archives, modalities and user workstations in separate zones).
ARCHIVE_CLASSES = frozenset({"pacs", "vna"})
SEPARATE_GROUPS: dict[str, str] = {"modality": "modalities", "pacs": "PACS/VNA", "vna": "PACS/VNA",
                                   "workstation": "workstations"}
# What each group must not share its zone with.
MUST_NOT_SHARE: dict[str, tuple[str, ...]] = {"modalities": ("PACS/VNA", "workstations"),
                                              "PACS/VNA": ("modalities", "workstations")}
NAMES_SHOWN = 5  # names quoted per group in a finding; the count is always complete


def _zone_groups(ctx: CheckContext) -> dict[tuple[int, str], dict[str, dict[str, Any]]]:
    """(site, zone name ignoring case) → group → {count, first names}. Zone names are compared
    within a site: two sites may both call a zone "imaging" and mean different VLANs."""
    names: dict[tuple[int, str], dict[str, list[str]]] = {}
    for asset in ctx.assets():
        group = SEPARATE_GROUPS.get(asset.asset_class)
        zone = (asset.network_zone or "").strip().lower()
        if group is not None and zone:
            names.setdefault((asset.site_id, zone), {}).setdefault(group, []).append(asset.name)
    return {where: {g: {"count": len(n), "names": sorted(n)[:NAMES_SHOWN]} for g, n in members.items()}
            for where, members in names.items()}


def _reached_from_general_it(ctx: CheckContext) -> dict[int, dict[str, list[Probe]]]:
    """Modality asset → general-IT vantage zone → open probes from a scan run in that zone."""
    modalities = {a.id for a in ctx.assets() if a.asset_class == "modality"}
    out: dict[int, dict[str, list[Probe]]] = {}
    for zone, probes in probes_by_vantage(ctx).items():
        if not is_general_zone(ctx, zone):
            continue
        for probe in probes:
            if probe.is_open and probe.asset_id in modalities:
                out.setdefault(probe.asset_id, {}).setdefault(zone, []).append(probe)
    return out


# Roles a host has because it is an imaging system; a peer placed in one of these only by a zone
# name or a policy range is not trusted to be one (a flat network names every zone "imaging").
IMAGING_ROLES = frozenset({"modality", "archive", "ai", "workstation", "integration", "remote_gateway"})
NOT_OFFICE_CLASSES = frozenset({"remote_access", "network_device", "cloud_service"})
FLOWS_SHOWN = 10  # flows quoted per finding; the count is always complete


def _office_flows(ctx: CheckContext) -> dict[int, list[tuple[Any, str]]]:
    """Imaging asset → (verdict, office peer address) for each observed flow between it and a
    host that is not an imaging system, on a port the policy does not allow between their roles.

    Zone names are not trusted here: the imaging end's role comes from its asset class, the
    peer's from its zone only when that zone is not an imaging one (else general for an
    inventory asset, unknown for an address no asset holds), and the pair is judged even when
    the inventory puts both in one zone. Office peers: confirmed inventory assets outside the
    imaging, remote-access, network and cloud classes, and private addresses no asset holds.
    Internet peers are left to RG-FLOW-MODALITY-EGRESS; hosts that passive import found speaking
    DICOM or HL7 (unconfirmed) to the unknown-AE checks."""
    from radguard.checks.segmentation import CLASS_ROLES, Zone, allowing_rule

    def build() -> dict[int, list[tuple[Any, str]]]:
        assets = {a.id: a for a in ctx.assets()}
        out: dict[int, list[tuple[Any, str]]] = {}
        for verdict in _judged_flows(ctx):
            flow = verdict.flow
            ends = ((flow.client_asset_id, flow.server_asset_id, verdict.source, verdict.target, flow.server, True),
                    (flow.server_asset_id, flow.client_asset_id, verdict.target, verdict.source, flow.client, False))
            for own_id, peer_id, own_zone, peer_zone, peer_host, own_is_client in ends:
                own = assets.get(own_id) if own_id is not None else None
                if own is None or not is_imaging(own) or peer_zone.role == "internet":
                    continue
                peer = assets.get(peer_id) if peer_id is not None else None
                if peer is not None and (is_imaging(peer) or peer.asset_class in NOT_OFFICE_CLASSES
                                         or not peer.confirmed):
                    continue
                peer_role = peer_zone.role if peer_zone.role not in IMAGING_ROLES else \
                    ("general" if peer is not None else "unknown")
                mine = Zone(own_zone.name, CLASS_ROLES.get(own.asset_class, "other"))
                theirs = Zone(peer_zone.name, peer_role)
                src, dst = (mine, theirs) if own_is_client else (theirs, mine)
                if allowing_rule(verdict.policy, flow.proto, flow.server_port, src, dst) is None:
                    out.setdefault(own.id, []).append((verdict, peer_host))
        return out

    return ctx.memo("segmentation.office_flows", build)


@evaluator("RG-NOT-SEGMENTED")
def not_segmented(ctx: CheckContext) -> Iterator[Observation]:
    attested = attestation_index(ctx)
    groups = _zone_groups(ctx)
    reached = _reached_from_general_it(ctx)
    office = _office_flows(ctx)
    for asset in ctx.assets():
        if not is_imaging(asset):
            continue
        # Nor is traffic seen on the wire: whatever the zones are called, the hosts talked.
        if asset.id in office:
            seen = office[asset.id]
            peers = sorted({peer for _, peer in seen})
            yield Observation(
                asset_id=asset.id, key="observed-flows", exposure=0.8,
                evidence={"zone": asset.network_zone, "office_peers": peers[:NAMES_SHOWN],
                          "office_peer_count": len(peers), "flow_count": len(seen),
                          "flows": [v.document() for v, _ in seen[:FLOWS_SHOWN]]},
                summary=f"exchanged traffic with {len(peers)} non-imaging "
                        f"{'host' if len(peers) == 1 else 'hosts'} on ports the segmentation policy does not "
                        f"allow ({', '.join(v.flow.where for v, _ in seen[:3])}"
                        f"{', …' if len(seen) > 3 else ''}), whatever the zone names say",
            )
        # What a scan saw is not excused by an attestation: the network let it through.
        for zone, probes in sorted(reached.get(asset.id, {}).items()):
            probes = sorted(probes, key=lambda p: (p.host, p.port))
            yield Observation(
                asset_id=asset.id, key=f"reachable-from:{zone}", exposure=0.8,
                evidence={"vantage_zone": zone, "reached": [p.cite() for p in probes]},
                summary=f"reachable from general-IT zone {zone} on {', '.join(p.where for p in probes)}",
            )
        if attested.value(asset, "segmented") == "yes":
            continue
        if asset.network_zone is None or not asset.network_zone.strip():
            yield Observation(asset_id=asset.id, evidence={"zone": None}, exposure=0.6,
                              summary="no network zone recorded")
        elif is_general_zone(ctx, asset.network_zone):
            yield Observation(asset_id=asset.id, evidence={"zone": asset.network_zone}, exposure=0.7,
                              summary=f"zone {asset.network_zone} is shared with general IT")
        elif (own := SEPARATE_GROUPS.get(asset.asset_class)) in MUST_NOT_SHARE:
            members = groups.get((asset.site_id, asset.network_zone.strip().lower()), {})
            shared = {g: members[g] for g in MUST_NOT_SHARE[own] if g in members}
            if shared:
                yield Observation(
                    asset_id=asset.id, exposure=0.6, evidence={"zone": asset.network_zone, "shared_with": shared},
                    summary=f"zone {asset.network_zone} also holds {' and '.join(shared)}; {own} need a zone "
                            "of their own",
                )


@evaluator("RG-RDP-EXPOSED")
def rdp_exposed(ctx: CheckContext) -> Iterator[Observation]:
    by_asset = probes_by_asset(ctx)
    for asset in ctx.assets():
        if not is_imaging(asset):
            continue
        found = {f"{e.host}:{e.port}" for e in asset.endpoints if e.protocol == "rdp"}
        found |= {p.where for p in by_asset.get(asset.id, []) if p.is_open and p.port == 3389}
        if found:
            yield Observation(asset_id=asset.id, evidence={"rdp": sorted(found)}, exposure=0.7,
                              summary=f"RDP open on {', '.join(sorted(found))}")


# RDP (3389) has its own check, RG-RDP-EXPOSED.
LEGACY_PORTS = {445: "SMB", 23: "Telnet", 21: "FTP", 5900: "VNC"}


@evaluator("RG-LEGACY-SERVICE-OPEN")
def legacy_service_open(ctx: CheckContext) -> Iterator[Observation]:
    """SMB, Telnet, FTP or VNC on an imaging asset: discovery's connect-only probe of those
    ports (open = it accepted a TCP connection), or an endpoint the inventory lists."""
    by_asset = probes_by_asset(ctx)
    for asset in ctx.assets():
        if not is_imaging(asset):
            continue
        found = {f"{LEGACY_PORTS.get(e.port, 'SMB')} {e.host}:{e.port}" for e in asset.endpoints
                 if e.protocol == "smb" or (e.port in LEGACY_PORTS and e.protocol == "other")}
        found |= {f"{LEGACY_PORTS[p.port]} {p.where}" for p in by_asset.get(asset.id, [])
                  if p.is_open and p.port in LEGACY_PORTS}
        if found:
            yield Observation(asset_id=asset.id, evidence={"legacy_services": sorted(found)}, exposure=0.7,
                              summary=f"legacy services open: {', '.join(sorted(found))}")


@evaluator("RG-REMOTE-GW-NOT-DMZ")
def remote_gateway_zone(ctx: CheckContext) -> Iterator[Observation]:
    for asset in ctx.assets():
        if asset.asset_class != "remote_access":
            continue
        zone = asset.network_zone
        if is_exposed_zone(ctx, zone) or zone_words(zone) & REMOTE_ZONE_WORDS:
            continue
        yield Observation(asset_id=asset.id, evidence={"zone": zone}, exposure=0.6,
                          summary=f"remote-access gateway in zone {zone or '(none recorded)'}")


@evaluator("RG-NETDEV-CLEARTEXT-ADMIN")
def netdev_cleartext_admin(ctx: CheckContext) -> Iterator[Observation]:
    by_asset = probes_by_asset(ctx)
    for asset in ctx.assets():
        if asset.asset_class != "network_device":
            continue
        found = {f"{e.protocol}://{e.host}:{e.port}" for e in asset.endpoints
                 if e.protocol == "http" or (e.port == 23 and e.protocol == "other")}
        for probe in by_asset.get(asset.id, []):
            if probe.is_open and (probe.port == 23 or (probe.service == "http" and not probe.section("tls"))):
                found.add(f"{probe.service or 'tcp'}://{probe.where}")
        if found:
            yield Observation(asset_id=asset.id, evidence={"cleartext_management": sorted(found)}, exposure=0.6,
                              summary=f"cleartext management on {', '.join(sorted(found))}")


TIME_EXEMPT_CLASSES = frozenset({"cloud_service"})  # the provider keeps that clock


def _is_offset(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _clock_reading(probes: list[Probe]) -> Probe | None:
    """The newest probe of an asset that read its clock (an HTTP Date header)."""
    readings = [p for p in probes if _is_offset(p.section("http").get("clock_offset_s"))]
    return max(readings, key=lambda p: (p.collected_at, p.evidence_id)) if readings else None


@evaluator("RG-TIME-NOT-SYNCED")
def time_not_synced(ctx: CheckContext) -> Iterator[Observation]:
    """Evidence in order of weight: a measured offset (always reported), then a person's
    attestation, then the inventory's time_source/ntp attribute, then the MDS2 (AUDT-4.1.1)."""
    attested = attestation_index(ctx)
    mds2 = mds2_statements(ctx)
    by_asset = probes_by_asset(ctx)
    max_skew = float(param(ctx, "clock_skew_max_seconds"))
    for asset in ctx.assets():
        if asset.asset_class in TIME_EXEMPT_CLASSES:
            continue
        reasons: list[str] = []
        evidence: dict[str, Any] = {}
        reading = _clock_reading(by_asset.get(asset.id, []))
        if reading is not None:
            offset = int(reading.section("http")["clock_offset_s"])
            evidence["clock_offset_s"] = offset
            evidence["probe"] = reading.cite()
            if abs(offset) > max_skew:
                ahead = "ahead" if offset > 0 else "behind"
                reasons.append(f"clock {abs(offset)} s {ahead} (HTTP Date header on {reading.where})")
        row = attested.get(asset, "time_synchronised")
        attrs = asset.attributes or {}
        source = attrs.get("time_source")
        ntp = answer(attrs.get("ntp"))
        st = mds2.get(asset.id)
        if row is not None:
            evidence["attestation"] = {"id": row.id, "value": row.value, "attested_by": row.attested_by}
            if answer(row.value) == "no":
                reasons.append(f"attested not synchronised by {row.attested_by}")
        elif ntp == "no":
            evidence["ntp"] = attrs.get("ntp")
            reasons.append("inventory records ntp=false")
        elif not (isinstance(source, str) and source.strip()) and ntp != "yes" \
                and st is not None and st.get("AUDT-4.1.1") == "no":
            evidence["mds2"] = st.quote("AUDT-4.1", "AUDT-4.1.1")
            reasons.append("the MDS2 says the clock cannot follow NTP (AUDT-4.1.1) and no other time source is "
                           "recorded")
        if reasons:
            yield Observation(asset_id=asset.id, evidence={**evidence, "reasons": reasons}, exposure=0.4,
                              summary="; ".join(reasons))


EGRESS_ROLES = frozenset({"internet", "general", "guest"})


def _judged_flows(ctx: CheckContext) -> list[Any]:
    """Observed flows up to the assessment time, judged once per assessment with the stored
    segmentation policy of each flow's site (else the organisation's, else radguard's default;
    zones from the policy's ranges and the inventory's zone names), shared by every flow check."""
    from radguard.checks.segmentation import judge_configured

    return ctx.memo("segmentation.verdicts",
                    lambda: [v for v in judge_configured(ctx.session) if v.flow.first_seen <= ctx.now])


@evaluator("RG-FLOW-MODALITY-EGRESS")
def modality_egress(ctx: CheckContext) -> Iterator[Observation]:
    """Observed flows from a modality zone to the internet, general IT or guest zones that the
    segmentation policy does not allow (the default allows none; a rule in a site's stored
    policy, e.g. for a vendor's cloud service, is that site's recorded decision)."""
    for verdict in _judged_flows(ctx):
        flow = verdict.flow
        if verdict.source.role != "modality" or verdict.target.role not in EGRESS_ROLES or not verdict.violation:
            continue
        yield Observation(asset_id=flow.client_asset_id,
                          subject=None if flow.client_asset_id is not None else f"host:{flow.client}",
                          key=flow.where, evidence=verdict.document(), exposure=0.7,
                          summary=f"{flow.where}: modality zone {verdict.source.name} reached "
                                  f"{verdict.target.role} zone {verdict.target.name} "
                                  f"({flow.connections} connections)")


CLEARTEXT_SERVICES = frozenset({"dicom", "hl7-mllp"})
# Flow logs carry no payload, so their service is None: the well-known cleartext ports stand in.
CLEARTEXT_PORTS = {104: "dicom", 11112: "dicom", 2575: "hl7-mllp"}


@evaluator("RG-FLOW-CLEARTEXT-CROSS-ZONE")
def cleartext_cross_zone(ctx: CheckContext) -> Iterator[Observation]:
    """Observed DICOM or HL7 MLLP without TLS between two different zones (default policy and the
    inventory's zone names), allowed by a rule or not: the rule says who may talk, not that the
    images and reports may cross a zone boundary readable by anyone on the path."""
    for verdict in _judged_flows(ctx):
        flow = verdict.flow
        if flow.tls or not verdict.crosses:
            continue
        service = flow.service if flow.service in CLEARTEXT_SERVICES else (
            CLEARTEXT_PORTS.get(flow.server_port) if flow.service is None else None)
        if service is None:
            continue
        yield Observation(asset_id=flow.server_asset_id,
                          subject=None if flow.server_asset_id is not None else f"host:{flow.server}",
                          key=flow.where, evidence={**verdict.document(), "cleartext_service": service},
                          exposure=0.5,
                          summary=f"{flow.where}: {service} without TLS from zone {verdict.source.name} to "
                                  f"zone {verdict.target.name} ({flow.connections} connections)")


REMOTE_ACCESS_FILE = Path(__file__).resolve().parent.parent / "data" / "remote_access.yaml"


class RemoteService(BaseModel):
    """One remote-access protocol or tool of ``data/remote_access.yaml``."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=60)
    proto: Literal["tcp", "udp"]
    ports: list[StrictInt] = Field(min_length=1)

    @field_validator("ports")
    @classmethod
    def _ports(cls, value: list[int]) -> list[int]:
        bad = [p for p in value if not 1 <= p <= 65535]
        if bad:
            raise ValueError(f"port {bad[0]} is not 1-65535")
        return value


class _RemoteAccessFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    services: list[RemoteService] = Field(min_length=1)


@lru_cache(maxsize=4)
def remote_access_ports(path: Path = REMOTE_ACCESS_FILE) -> dict[tuple[str, int], str]:
    """(protocol, server port) → the remote-access service's name, from the content file."""
    from radguard.checks.loader import CatalogError
    from radguard.errors import InputError
    from radguard.textfiles import parse_yaml_nodes, read_text, validation_input_error

    # Content is data: a bad entry is a CatalogError naming the file, line and field (checked when
    # the catalog loads, radguard.checks.loader.default_catalog), never a pydantic traceback mid-run.
    try:
        doc, node = parse_yaml_nodes(read_text(path), str(path))
        if not isinstance(doc, dict):
            raise InputError(str(path), None, "services", "give a list of services (name, proto, ports)")
        try:
            entries = _RemoteAccessFile.model_validate(doc).services
        except ValidationError as exc:
            raise validation_input_error(str(path), node, exc) from None
    except InputError as exc:
        raise CatalogError(str(exc)) from None
    out: dict[tuple[str, int], str] = {}
    for entry in entries:
        for port in entry.ports:
            out.setdefault((entry.proto, port), entry.name)
    return out


def site_gateways(assets: list[Any]) -> Callable[[int], tuple[str, list[Any]]]:
    """Which gateways serve a site: its own remote-access assets (class remote_access at that
    site), else the organisation's, i.e. every declared gateway (a site without one of its own
    reaches its devices through a central one). Returns, per site id, the scope ("site" or
    "organisation") and the gateway assets.

    :param assets: the inventory's assets (``CheckContext.assets()``).
    """
    gateways = [a for a in assets if a.asset_class == "remote_access"]
    by_site: dict[int, list[Any]] = {}
    for gateway in gateways:
        by_site.setdefault(gateway.site_id, []).append(gateway)

    def serving(site_id: int) -> tuple[str, list[Any]]:
        own = by_site.get(site_id)
        return ("site", own) if own else ("organisation", gateways)

    return serving


@evaluator("RG-FLOW-REMOTE-NOT-VIA-GATEWAY")
def remote_access_bypassing_gateway(ctx: CheckContext) -> Iterator[Observation]:
    """Observed remote-access flows (SSH, RDP, VNC, TeamViewer, … of data/remote_access.yaml) to an
    imaging host that did not come from its site's gateway: neither from an address of a gateway
    serving the imaging host's site (that site's remote_access assets, else every declared one)
    nor from a zone the site's policy gives the role remote_gateway. Only judged when the inventory
    declares a gateway: without one there is no "through the gateway" to compare with
    (RG-REMOTE-GW-NOT-DMZ and the flow checks speak then)."""
    assets = ctx.assets()
    if not any(a.asset_class == "remote_access" for a in assets):
        return
    serving = site_gateways(assets)
    imaging = {a.id: a for a in assets if is_imaging(a)}
    services = remote_access_ports()
    for verdict in _judged_flows(ctx):
        flow = verdict.flow
        service = services.get((flow.proto, flow.server_port))
        if service is None or flow.server_asset_id not in imaging:
            continue
        site = imaging[flow.server_asset_id].site
        scope, gateways = serving(site.id)
        if flow.client_asset_id in {a.id for a in gateways} \
                or flow.client in {e.host for a in gateways for e in a.endpoints} \
                or verdict.source.role == "remote_gateway":
            continue
        outside = verdict.source.role == "internet"
        origin = "from outside the organisation" if outside else \
            f"from zone {verdict.source.name} ({verdict.source.role}), not the gateway"
        names = sorted(a.name for a in gateways)[:NAMES_SHOWN]
        served = f"site {site.code}'s gateway" if scope == "site" else \
            f"the organisation's gateways (site {site.code} declares none)"
        yield Observation(asset_id=flow.server_asset_id, key=flow.where, exposure=0.9 if outside else 0.7,
                          evidence={**verdict.document(), "remote_service": service, "gateway_scope": scope,
                                    "gateway_site": site.code, "declared_gateways": names},
                          summary=f"{flow.where}: {service} {origin}; {served}: {', '.join(names)} "
                                  f"({flow.connections} connections, last seen {flow.last_seen.date().isoformat()})")


ARCHIVE_CLASSES = frozenset({"pacs", "vna"})
STORE_OR_QUERY = ("C-STORE", "C-FIND", "C-MOVE", "C-GET")


def _passive_dicom(ctx: CheckContext) -> list[dict[str, Any]]:
    """The passive stage's DICOM association documents seen up to the assessment time."""
    from radguard.passive.store import passive_evidence

    def load() -> list[dict[str, Any]]:
        out = []
        for doc in passive_evidence(ctx.session, "passive.dicom"):
            try:
                first = datetime.fromisoformat(doc["first_seen"])
            except (KeyError, TypeError, ValueError):
                continue
            if first <= ctx.now:
                out.append(doc)
        return out

    return ctx.memo("passive.dicom", load)


def _archives_and_known_aes(ctx: CheckContext) -> tuple[dict[str, Any], set[str]]:
    archives = {e.host: a for a in ctx.assets() if a.asset_class in ARCHIVE_CLASSES for e in a.endpoints}
    known = {t.ae_title.strip() for a in ctx.assets() for t in a.ae_titles}
    return archives, known


@evaluator("RG-PASSIVE-UNKNOWN-AE-PACS")
def unknown_ae_at_archive(ctx: CheckContext) -> Iterator[Observation]:
    """A calling AE title that no inventory asset holds, seen storing to or querying a PACS/VNA
    (passive DICOM evidence: the association's AE titles and the DIMSE requests it sent)."""
    archives, known = _archives_and_known_aes(ctx)
    for doc in _passive_dicom(ctx):
        archive = archives.get(str(doc.get("server")))
        calling = (doc.get("calling_ae") or "").strip()
        commands = {c: n for c, n in (doc.get("commands") or {}).items() if c in STORE_OR_QUERY}
        if archive is None or not calling or calling in known or not commands:
            continue
        yield Observation(asset_id=archive.id, key=f"{calling}@{doc['client']}", exposure=0.6,
                          evidence={k: doc.get(k) for k in ("client", "server", "server_port", "calling_ae",
                                                            "called_ae", "associations", "accepted", "commands",
                                                            "first_seen", "last_seen")},
                          summary=f"AE {calling} at {doc['client']} (in no inventory asset) sent "
                                  + ", ".join(f"{n} {c}" for c, n in sorted(commands.items()))
                                  + f" to {archive.name} ({doc['server']}:{doc['server_port']})")


@evaluator("RG-PASSIVE-MOVE-DEST-UNKNOWN")
def unknown_move_destination(ctx: CheckContext) -> Iterator[Observation]:
    """A C-MOVE asked a PACS/VNA to send images to an AE title no inventory asset holds
    (passive DICOM evidence: the Move Destination of the C-MOVE command set)."""
    archives, known = _archives_and_known_aes(ctx)
    for doc in _passive_dicom(ctx):
        archive = archives.get(str(doc.get("server")))
        if archive is None:
            continue
        for dest in doc.get("move_destinations") or []:
            dest = str(dest).strip()
            if not dest or dest in known:
                continue
            yield Observation(asset_id=archive.id, key=f"move:{dest}", exposure=0.6,
                              evidence={"move_destination": dest,
                                        **{k: doc.get(k) for k in ("client", "server", "server_port", "calling_ae",
                                                                   "called_ae", "commands", "first_seen",
                                                                   "last_seen")}},
                              summary=f"{doc.get('calling_ae') or doc['client']} asked {archive.name} to move "
                                      f"images to AE {dest}, which no inventory asset holds")
