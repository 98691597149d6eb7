"""One discovery run from start to finish: authorize, expand, probe, store.

The order matters for safety: the scope is checked and the do-not-scan list read *before*
any packet is sent, and nothing is written until the scan has finished, in one transaction.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from radguard.db.base import utcnow
from radguard.db.models.discovery import Scan
from radguard.db.session import Database
from radguard.discovery.engine import PortHints, Probed, ScanOptions, run_scan
from radguard.discovery.limits import Deadline
from radguard.discovery.merge import protected_hosts, sort_results, store_scan
from radguard.discovery.scope import Scope, authorize, load_scope
from radguard.discovery.targets import (
    DEFAULT_PORTS,
    Exclusions,
    Resolver,
    Target,
    host_key,
    parse_target,
    parse_targets,
)
from radguard.discovery.vantage import OPTION_KEY as VANTAGE_KEY
from radguard.errors import InputError, SafetyError

_AE = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")  # printable ASCII without backslash


def check_ae(value: str | None, option: str) -> str | None:
    if value is None:
        return None
    if not _AE.match(value) or not value.strip():
        raise InputError(option, None, None, f"{value!r} is not a DICOM AE title (1-16 printable characters, no \\)")
    return value.strip()


@dataclass
class DiscoveryRequest:
    targets: list[str]
    ports: tuple[int, ...] = DEFAULT_PORTS
    level: int = 2
    scope_file: Path | None = None
    exclude: list[str] = field(default_factory=list)
    options: ScanOptions = field(default_factory=ScanOptions)
    site: str | None = None
    # The network zone the scan runs from (radguard.discovery.vantage), kept with the scan.
    vantage_zone: str | None = None


@dataclass
class Plan:
    """An authorized scan, ready to run: what will be contacted and what will not."""

    request: DiscoveryRequest
    targets: list[Target]
    scope: Scope | None
    exclusions: Exclusions
    total: int
    skipped: list[dict[str, Any]] = field(default_factory=list)
    # seconds of the scope's window left when the scan was authorized (None: no scope)
    window_left: float | None = None
    _skipped_keys: set[tuple[str, int | None]] = field(default_factory=set)

    @property
    def pinned(self) -> dict[str, tuple[str, ...]]:
        """Each host-name target → the addresses checked against the exclusions; the engine
        connects only to these (no second lookup)."""
        resolver = self.exclusions.resolver
        return {t.hostname: resolver.addresses(t.hostname) for t in self.targets if t.hostname is not None}

    def endpoints(self) -> Iterator[tuple[str, int]]:
        """Every endpoint to probe, lazily; excluded ones are recorded in ``skipped`` instead."""
        for target in self.targets:
            ports = (target.port,) if target.port is not None else self.request.ports
            if target.hostname is not None and not self.exclusions.resolver.addresses(target.hostname):
                key = (target.hostname, target.port)
                if key not in self._skipped_keys:
                    self._skipped_keys.add(key)
                    self.skipped.append({"host": target.hostname, "port": target.port,
                                         "reason": "the host name does not resolve; nothing was sent"})
                continue
            for host in target.hosts():
                for port in ports:
                    rule = self.exclusions.match(host, port)
                    if rule is None:
                        yield host, port
                        continue
                    key = (host, port if rule.port is not None else None)
                    if key not in self._skipped_keys:
                        self._skipped_keys.add(key)
                        self.skipped.append({"host": host, "port": key[1],
                                             "reason": self.exclusions.reason(host, port)})


def plan(database: Database, request: DiscoveryRequest, now: datetime | None = None,
         resolver: Resolver | None = None) -> Plan:
    """Validate and authorize; raises SafetyError/InputError before anything touches the network.

    Host names (targets, exclusions, do-not-scan assets, the scope) are resolved once, here;
    ``resolver`` replaces the system's lookup (tests use it for names that must not resolve).
    """
    if not request.targets:
        raise InputError("TARGET", None, None, "name at least one host, CIDR, host:port or range")
    targets = parse_targets(request.targets)
    scope = load_scope(request.scope_file) if request.scope_file else None
    resolver = resolver or Resolver()  # every name below is looked up once, here, before any packet
    for target in targets:
        if target.hostname is not None:
            resolver.addresses(target.hostname)
    moment = now or utcnow()
    authorize(scope, request.level, targets, moment, resolver)
    exclusions = Exclusions(resolver)
    for spec in request.exclude:
        t = parse_target(spec, "--exclude")
        exclusions.add(t, f"excluded by --exclude {spec}")
    if scope is not None:
        for t in scope.exclude:
            exclusions.add(t, f"excluded by the scope file ({t.spec})")
    with database.read() as session:
        for protected in protected_hosts(session):
            exclusions.add(parse_target(protected.host, "inventory"), protected.reason)
    _refuse_unresolved(exclusions, targets, request.ports)
    total = sum(t.size * (1 if t.port is not None else len(request.ports)) for t in targets)
    return Plan(request, targets, scope, exclusions, total,
                window_left=(scope.doc.window.end - moment).total_seconds() if scope else None)


def _refuse_unresolved(exclusions: Exclusions, targets: list[Target], ports: tuple[int, ...]) -> None:
    """An excluded or protected host name that does not resolve could be behind any address
    and any other name, so no target that could reach it may start: refuse the scan."""
    for rule, why in exclusions.unresolved():
        assert rule.hostname is not None
        for target in targets:
            target_ports = (target.port,) if target.port is not None else ports
            if rule.port is not None and rule.port not in target_ports:
                continue
            if target.hostname is not None and host_key(target.hostname) == host_key(rule.hostname):
                continue  # the same name: excluded by name, nothing to guess
            raise SafetyError(
                f"{rule.hostname!r} ({why}) does not resolve, so radguard cannot tell whether target "
                f"{target.spec!r} includes it; nothing was sent. Fix its DNS entry, record the device by "
                "its address instead, or leave the target out")


def execute(database: Database, scan_plan: Plan, on_result: Callable[[Probed], None] | None = None
            ) -> dict[str, Any]:
    """Probe, then store everything in one transaction; return the ``--json`` document."""
    request = scan_plan.request
    started = utcnow()
    options = request.options
    options.level = request.level
    options.pinned = scan_plan.pinned
    scope = scan_plan.scope
    # a scope's window bounds the whole scan, not only its start: no probe starts after it closes
    # (counted from the moment the plan was authorized, the clock ``plan`` was given)
    deadline = options.deadline = None if scan_plan.window_left is None else \
        Deadline(time.time() + scan_plan.window_left)
    results = run_scan(scan_plan.endpoints(), options, on_result)
    finished = utcnow()
    results = sort_results(results)
    scan = Scan(
        started=started, finished=finished, level=request.level, targets=list(request.targets),
        authorized_by=scope.doc.authorized_by if scope else None, reason=scope.doc.reason if scope else None,
        scope=scope.document() if scope else None,
        options={"ports": list(request.ports), "rate": options.rate, "concurrency": options.concurrency,
                 "per_host": options.per_host, "timeout": options.timeout, "calling_ae": options.calling_ae,
                 "called_ae": options.called_ae, "exclude": list(request.exclude), "site": request.site,
                 **({VANTAGE_KEY: request.vantage_zone} if request.vantage_zone else {}),
                 **({"port_hints": {k: sorted(v) for k, v in asdict(options.port_hints).items()}}
                    if options.port_hints != PortHints() else {})},
    )
    with database.transaction() as session:
        store_scan(session, scan, results, request.site, len(scan_plan.skipped))
        scan_id, counts = scan.id, dict(scan.counts)
    return {
        "scan": {"id": scan_id, "started": started.isoformat(), "finished": finished.isoformat(),
                 "level": request.level, "targets": list(request.targets),
                 "authorized_by": scope.doc.authorized_by if scope else None,
                 "vantage_zone": request.vantage_zone},
        "endpoints": [p.doc.document() for p in results],
        "skipped": scan_plan.skipped,
        "counts": counts,
        # endpoints never started because the scope's window closed during the scan (0: none)
        "not_probed": deadline.not_started if deadline else 0,
        "window_end": scope.doc.window.end.isoformat() if scope else None,
    }
