"""The allow-list a network team can apply, proposed from observed, policy-allowed flows.

Only verdicts that cross a zone boundary *and* are allowed by a policy rule become proposals
(:func:`radguard.checks.segmentation.judge` owns that judgement): a violation is never proposed,
and traffic inside one zone is not a firewall's business between zones. One proposal per zone
pair, protocol and server port, with the exact source and destination hosts seen.

Two renderings: CSV (columns in :data:`CSV_COLUMNS`, hosts space-separated) and an nftables
ruleset for review. The ruleset is one ``inet`` table with a named set of hosts per zone and one
accept rule per proposal; its forward chain keeps ``policy accept`` so loading it changes nothing
until the administrator chooses the default (drop) after review.
"""

from __future__ import annotations

import io
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from radguard.checks.segmentation import Verdict
from radguard.csvcells import CsvDictWriter

CSV_COLUMNS = ("from_zone", "from_role", "to_zone", "to_role", "protocol", "port", "sources", "destinations",
               "connections", "first_seen", "last_seen", "allowed_by")
TABLE = "radguard_allowlist"


@dataclass(frozen=True)
class Proposal:
    """One allow rule: hosts of one zone may reach hosts of another on one protocol and port."""

    from_zone: str
    from_role: str
    to_zone: str
    to_role: str
    protocol: str
    port: int
    sources: tuple[str, ...]
    destinations: tuple[str, ...]
    connections: int
    first_seen: datetime
    last_seen: datetime
    allowed_by: str

    def document(self) -> dict[str, Any]:
        """The one serialised shape (CSV row, JSON): hosts as lists, times in ISO 8601."""
        return {"from_zone": self.from_zone, "from_role": self.from_role, "to_zone": self.to_zone,
                "to_role": self.to_role, "protocol": self.protocol, "port": self.port,
                "sources": list(self.sources), "destinations": list(self.destinations),
                "connections": self.connections, "first_seen": self.first_seen.isoformat(),
                "last_seen": self.last_seen.isoformat(), "allowed_by": self.allowed_by}


def _host_key(host: str) -> tuple[int, int | str]:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return (9, host)
    return (ip.version, int(ip))


def propose(verdicts: Iterable[Verdict]) -> list[Proposal]:
    """Group the allowed cross-zone verdicts by zone pair, protocol and port (violations never)."""
    groups: dict[tuple[str, str, str, int], list[Verdict]] = {}
    for v in verdicts:
        if v.crosses and v.rule is not None and not v.violation:
            key = (v.source.name, v.target.name, v.flow.proto, v.flow.server_port)
            groups.setdefault(key, []).append(v)
    out = []
    for (src, dst, proto, port), vs in sorted(groups.items(), key=lambda kv: (kv[0][0].lower(), kv[0][1].lower(),
                                                                              kv[0][2], kv[0][3])):
        out.append(Proposal(
            from_zone=src, from_role=vs[0].source.role, to_zone=dst, to_role=vs[0].target.role, protocol=proto,
            port=port, sources=tuple(sorted({v.flow.client for v in vs}, key=_host_key)),
            destinations=tuple(sorted({v.flow.server for v in vs}, key=_host_key)),
            connections=sum(v.flow.connections for v in vs), first_seen=min(v.flow.first_seen for v in vs),
            last_seen=max(v.flow.last_seen for v in vs),
            allowed_by="; ".join(sorted({v.rule.why for v in vs if v.rule is not None}))))
    return out


def to_csv(proposals: Iterable[Proposal]) -> str:
    """CSV with a header row (:data:`CSV_COLUMNS`); ``sources``/``destinations`` space-separated."""
    buf = io.StringIO()
    writer = CsvDictWriter(buf, CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for p in proposals:
        row = p.document()
        row["sources"], row["destinations"] = " ".join(p.sources), " ".join(p.destinations)
        writer.writerow(row)
    return buf.getvalue()


def _comment(text: str) -> str:
    """An nftables comment string: printable, no quotes or backslashes, at most 128 bytes."""
    clean = re.sub(r"[^\x20-\x7e]", "?", text).replace('"', "'").replace("\\", "/")
    return clean[:120]


def _ident(text: str) -> str:
    ident = re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_").lower() or "zone"
    return ident if ident[0].isalpha() else f"z_{ident}"


def to_nftables(proposals: list[Proposal], policy_source: str) -> str:
    """A reviewable nftables ruleset (``nft -c -f FILE`` accepts it; ``nft -f`` would load it).

    One set per zone and address family holds the zone's hosts seen in proposals; a rule uses the
    zone's set when its hosts are all of them, else an anonymous set of exactly its hosts.
    Hosts that are not IP addresses cannot be written as nftables addresses and are left out
    with a comment saying so.
    """
    zone_hosts: dict[str, dict[int, set[str]]] = {}
    skipped: set[str] = set()
    for p in proposals:
        for zone, hosts in ((p.from_zone, p.sources), (p.to_zone, p.destinations)):
            for host in hosts:
                try:
                    version = ipaddress.ip_address(host).version
                except ValueError:
                    skipped.add(host)
                    continue
                zone_hosts.setdefault(zone, {}).setdefault(version, set()).add(host)
    names: dict[str, str] = {}
    for zone in sorted(zone_hosts, key=str.lower):
        base, n = _ident(zone), 2
        name = base
        while name in names.values():
            name, n = f"{base}_{n}", n + 1
        names[zone] = name

    lines = [f"# radguard segmentation export: allow-list proposed from observed flows allowed by policy "
             f"{_comment(policy_source)}",
             "# Review before loading. The forward chain keeps 'policy accept': choose the default (drop) yourself.",
             f"table inet {TABLE} {{"]
    for zone, name in names.items():
        for family_version, members in sorted(zone_hosts[zone].items()):
            kind = "ipv4_addr" if family_version == 4 else "ipv6_addr"
            elements = ", ".join(sorted(members, key=_host_key))
            lines += [f"\tset {name}_v{family_version} {{", f"\t\ttype {kind}", f'\t\tcomment "zone {_comment(zone)}"',
                      f"\t\telements = {{ {elements} }}", "\t}"]
    lines += ["\tchain forward {", "\t\ttype filter hook forward priority filter; policy accept;"]
    for p in proposals:
        for version, family in ((4, "ip"), (6, "ip6")):
            src = [h for h in p.sources if h not in skipped and ipaddress.ip_address(h).version == version]
            dst = [h for h in p.destinations if h not in skipped and ipaddress.ip_address(h).version == version]
            if not src or not dst:
                continue
            comment = _comment(f"{p.from_zone} -> {p.to_zone} {p.protocol}/{p.port}: {p.allowed_by}")
            lines.append(f"\t\t{family} saddr {_ref(src, p.from_zone, names, zone_hosts, version)} "
                         f"{family} daddr {_ref(dst, p.to_zone, names, zone_hosts, version)} "
                         f'{p.protocol} dport {p.port} accept comment "{comment}"')
    lines += ["\t}", "}"]
    if skipped:
        lines.append(f"# left out (not IP addresses): {_comment(' '.join(sorted(skipped)))}")
    return "\n".join(lines) + "\n"


def _ref(hosts: list[str], zone: str, names: dict[str, str], zone_hosts: dict[str, dict[int, set[str]]],
         version: int) -> str:
    if set(hosts) == zone_hosts[zone][version]:
        return f"@{names[zone]}_v{version}"
    return "{ " + ", ".join(hosts) + " }"
