"""What to scan: hosts, CIDRs, ``host:port`` and address ranges, and what never to touch.

Targets are expanded lazily (a /16 is 65,534 hosts) so memory does not grow with the range.

A device may be named by host name in one place (a target, ``--exclude``, a do-not-scan asset,
the scope) and by address in another. Every comparison therefore goes through a
:class:`Resolver`: host names are resolved once per scan, to all their addresses, and two
entries match when their names are equal *or* their addresses meet.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from radguard.errors import InputError

# Services modalities are found with in the wild; connect only (see docs/safety.md).
LEGACY_SERVICES = {21: "FTP", 23: "Telnet", 445: "SMB", 3389: "RDP", 5900: "VNC"}
DEFAULT_PORTS = (104, 11112, 4242, 2761, 2762, 8042, 80, 443, 2575, *LEGACY_SERVICES)
MAX_HOSTS_PER_TARGET = 65536

IPv4 = ipaddress.IPv4Address


def _lookup(name: str) -> list[str]:
    """Every address the system resolver gives for ``name`` (IPv4 and IPv6); [] if none."""
    try:
        infos = socket.getaddrinfo(name, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        return []
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


class Resolver:
    """Host name → all its addresses, looked up once per scan and then fixed.

    The scan connects only to the addresses resolved here (see ``ScanOptions.pinned``), so a
    second lookup answering differently cannot take it somewhere the exclusions were not
    checked against.
    """

    def __init__(self, lookup: Callable[[str], list[str]] | None = None) -> None:
        self._lookup = lookup or _lookup
        self._cache: dict[str, tuple[str, ...]] = {}

    def addresses(self, name: str) -> tuple[str, ...]:
        """The addresses of a host name, in the resolver's order, without duplicates; () if it
        does not resolve. An address literal is its own (only) address."""
        literal = _address(name)
        if literal is not None:
            return (literal,)
        key = host_key(name)
        if key not in self._cache:
            found: list[str] = []
            for text in self._lookup(key):
                address = _address(text)
                if address is not None and address not in found:
                    found.append(address)
            self._cache[key] = tuple(found)
        return self._cache[key]


def _address(text: str) -> str | None:
    """The canonical form of an IP address literal, or None for anything else.

    An IPv4-mapped IPv6 address (``::ffff:10.0.0.1``) is the IPv4 address: connecting to one
    reaches the IPv4 host, so rules written either way must meet.
    """
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


def host_key(text: str) -> str:
    """A host name as compared everywhere: case-insensitive, without the root dot."""
    return text.lower().rstrip(".")


_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$")


@dataclass(frozen=True)
class Target:
    """One TARGET argument: a network (first..last addresses) or a host name, maybe with a port."""

    spec: str
    first: int | None  # IPv4 addresses as integers, inclusive; None for a host name
    last: int | None
    hostname: str | None
    port: int | None

    def hosts(self) -> Iterator[str]:
        if self.hostname is not None:
            yield self.hostname
            return
        assert self.first is not None and self.last is not None
        for value in range(self.first, self.last + 1):
            yield str(IPv4(value))

    @property
    def size(self) -> int:
        if self.first is None or self.last is None:
            return 1
        return self.last - self.first + 1

    def allows_port(self, port: int | None) -> bool:
        """True when this target reaches ``port`` (None: every port of the other entry)."""
        return self.port is None or port == self.port

    def includes_address(self, address: str, resolver: Resolver) -> bool:
        """True when ``address`` (an IP literal) is one of this target's hosts."""
        if self.hostname is not None:
            return address in resolver.addresses(self.hostname)
        try:
            value = int(IPv4(address))
        except ValueError:  # IPv6: IPv4 ranges never hold it
            return False
        assert self.first is not None and self.last is not None
        return self.first <= value <= self.last

    def covers(self, other: Target, resolver: Resolver | None = None) -> bool:
        """True when every endpoint ``other`` names is inside this target (scope checks), by
        name or by address: ``pacs.example.org`` covers ``10.0.0.5`` when it resolves to it, and
        ``10.0.0.0/24`` covers ``pacs.example.org`` when all of its addresses are inside."""
        resolver = resolver or Resolver()
        if not self.allows_port(other.port):
            return False
        if self.hostname is not None and other.hostname is not None and \
                host_key(self.hostname) == host_key(other.hostname):
            return True
        if other.hostname is not None:
            addresses = resolver.addresses(other.hostname)
            return bool(addresses) and all(self.includes_address(a, resolver) for a in addresses)
        assert other.first is not None and other.last is not None
        if self.hostname is None:
            assert self.first is not None and self.last is not None
            return self.first <= other.first and other.last <= self.last
        mine = set(resolver.addresses(self.hostname))
        return other.size <= len(mine) and all(host in mine for host in other.hosts())

    def contains(self, host: str, port: int, resolver: Resolver | None = None) -> bool:
        """True when the endpoint ``host:port`` is one of this target's, by name or by any of
        the addresses ``host`` resolves to (so ``localhost`` is inside ``127.0.0.1``)."""
        resolver = resolver or Resolver()
        if not self.allows_port(port):
            return False
        if self.hostname is not None and host_key(host) == host_key(self.hostname):
            return True
        return any(self.includes_address(a, resolver) for a in resolver.addresses(host))


def _port(text: str, spec: str, source: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise InputError(source, None, spec, f"port {text!r} is not a number from 1 to 65535")
    return int(text)


_BRACKETED = re.compile(r"^\[([^\]]+)\](?::([^:]*))?$")


def _ipv6_literal(text: str, spec: str, source: str) -> tuple[str, int | None] | None:
    """``2001:db8::5`` or ``[2001:db8::5]:104`` → (canonical address, port); None if not IPv6.

    An IPv6 address is handled like a host name that resolves to itself: it can be a single
    target, an exclusion or a do-not-scan endpoint, compared by canonical form. IPv6 networks
    are refused: radguard does not sweep IPv6 ranges.
    """
    bracketed = _BRACKETED.match(text)
    if bracketed is None and text.count(":") < 2:
        return None
    address_text, port_text = bracketed.groups() if bracketed else (text, None)
    if "/" in address_text:
        raise InputError(source, None, spec, "IPv6 networks cannot be swept; name single IPv6 addresses "
                                             "(or host names)")
    if "%" in address_text:
        raise InputError(source, None, spec, "IPv6 addresses with a zone (%interface) are not supported; "
                                             "name the device by a global address or a host name")
    try:
        address = ipaddress.IPv6Address(address_text)
    except ValueError as exc:
        raise InputError(source, None, spec, f"not a valid IPv6 address ({exc}); write a port as [address]:port"
                         ) from None
    return str(address), _port(port_text, spec, source) if port_text is not None else None


def parse_target(spec: str, source: str = "TARGET") -> Target:
    """Parse ``10.0.0.5``, ``10.0.0.0/24``, ``10.0.0.5:104``, ``10.0.0.1-40``,
    ``10.0.0.1-10.0.0.40``, ``pacs.example.org[:port]``, ``2001:db8::5`` or ``[2001:db8::5]:104``."""
    text = spec.strip()
    port: int | None = None
    six = _ipv6_literal(text, spec, source)
    if six is not None:
        mapped = ipaddress.IPv6Address(six[0]).ipv4_mapped
        if mapped is not None:  # ::ffff:10.0.0.1 is 10.0.0.1: held against the IPv4 rules
            return Target(spec, int(mapped), int(mapped), None, six[1])
        return Target(spec, None, None, six[0], six[1])
    if text.count(":") == 1:
        text, port_text = text.split(":")
        port = _port(port_text, spec, source)
    try:
        if "/" in text:
            net = ipaddress.IPv4Network(text, strict=False)
            if net.num_addresses > MAX_HOSTS_PER_TARGET:
                raise InputError(source, None, spec, f"{net} has {net.num_addresses} addresses; "
                                 f"split it into ranges of at most {MAX_HOSTS_PER_TARGET}")
            hosts = list(net.hosts()) if net.prefixlen < 31 else [net.network_address, net.broadcast_address]
            return Target(spec, int(hosts[0]), int(hosts[-1]), None, port)
        if "-" in text and re.match(r"^\d+\.\d+\.\d+\.\d+-", text):
            start_text, end_text = text.split("-", 1)
            start = IPv4(start_text)
            if "." in end_text:
                end = IPv4(end_text)
            else:
                if not end_text.isdigit() or int(end_text) > 255:
                    raise InputError(source, None, spec, "a range ends with a last octet (0-255) or an address")
                end = IPv4(int(start) - (int(start) & 0xFF) + int(end_text))
            if int(end) < int(start):
                raise InputError(source, None, spec, "the range ends before it starts")
            if int(end) - int(start) + 1 > MAX_HOSTS_PER_TARGET:
                raise InputError(source, None, spec, f"more than {MAX_HOSTS_PER_TARGET} addresses; split it")
            return Target(spec, int(start), int(end), None, port)
        address = IPv4(text)
        return Target(spec, int(address), int(address), None, port)
    except (ipaddress.AddressValueError, ipaddress.NetmaskValueError, ValueError) as exc:
        if isinstance(exc, InputError):
            raise
        if re.match(r"^[\d./-]+$", text):
            raise InputError(source, None, spec, f"not a valid address, CIDR or range ({exc})") from None
    if not _HOSTNAME.match(text):
        raise InputError(source, None, spec, "not a host name, address, CIDR, range or host:port")
    return Target(spec, None, None, text, port)


def parse_targets(specs: Iterable[str], source: str = "TARGET") -> list[Target]:
    return [parse_target(spec, source) for spec in specs]


def parse_ports(text: str, option: str = "--ports") -> tuple[int, ...]:
    """``104,11112,8000-8010`` → ports, in the order given, without duplicates."""
    ports: list[int] = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        if "-" in part:
            low, high = (_port(x, text, option) for x in part.split("-", 1))
            if high < low or high - low > 1024:
                raise InputError(option, None, part, "a port range goes from low to high, at most 1024 ports")
            ports.extend(range(low, high + 1))
        else:
            ports.append(_port(part, text, option))
    if not ports:
        raise InputError(option, None, None, "give at least one port")
    return tuple(dict.fromkeys(ports))


class Exclusions:
    """Endpoints never to contact, each with the reason shown to the user.

    Rules and endpoints are compared by name and by resolved address (see :class:`Resolver`).
    """

    def __init__(self, resolver: Resolver | None = None) -> None:
        self.resolver = resolver or Resolver()
        self._rules: list[tuple[Target, str]] = []

    def add(self, target: Target, reason: str) -> None:
        if target.hostname is not None:
            self.resolver.addresses(target.hostname)  # resolve now, once, before any packet
        self._rules.append((target, reason))

    def unresolved(self) -> list[tuple[Target, str]]:
        """Rules naming a host that does not resolve: radguard cannot tell which addresses
        they protect, so the plan refuses targets that could hold them."""
        return [(t, why) for t, why in self._rules
                if t.hostname is not None and not self.resolver.addresses(t.hostname)]

    def match(self, host: str, port: int) -> Target | None:
        """The first rule that covers this endpoint (its ``port`` says if it was port-specific)."""
        for target, _why in self._rules:
            if target.contains(host, port, self.resolver):
                return target
        return None

    def reason(self, host: str, port: int) -> str | None:
        for target, why in self._rules:
            if target.contains(host, port, self.resolver):
                return why
        return None

    def __len__(self) -> int:
        return len(self._rules)
