"""What the feed parsers produce: plain records, validated, before anything touches the database.

Parsing a whole batch of files into these records first, and writing only when every file has
parsed, is what makes ``radguard feeds import`` all-or-nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from radguard.errors import InputError
from radguard.feeds.normalize import product_name, vendor_keys
from radguard.feeds.versions import VersionSpec
from radguard.validate import cve_id, cvss_score, plausible_day, plausible_time

T = TypeVar("T")


@dataclass
class ParsedProduct:
    ref: str
    vendor: str
    product: str
    version_text: str | None
    full_name: str | None
    spec: VersionSpec
    cpe: str | None = None
    name_version: str | None = None
    keys: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def build(cls, ref: str, vendor: str, product: str, version_text: str | None, full_name: str | None,
              spec: VersionSpec, cpe: str | None = None) -> ParsedProduct:
        """Compute the normalised keys once, here, so matching is a pure look-up."""
        pn = product_name(product, vendor)
        keys = {(v, p) for v in vendor_keys(vendor) for p in pn.keys} if vendor.strip() else set()
        return cls(ref, vendor.strip(), product.strip(), version_text, full_name, spec, cpe, pn.version, keys)


@dataclass
class ParsedVulnerability:
    cve_id: str | None
    title: str | None
    cwe: str | None
    cvss_score: float | None
    cvss_vector: str | None
    product_status: dict[str, str]
    remediations: list[dict[str, Any]]


@dataclass
class ParsedAdvisory:
    advisory_id: str
    source: str  # csaf, nvd
    title: str
    publisher: str | None
    revision: str | None
    released_at: datetime | None
    updated_at: datetime | None
    url: str | None
    sha256: str
    products: list[ParsedProduct]
    vulnerabilities: list[ParsedVulnerability]


@dataclass
class ParsedKev:
    cve_id: str
    vendor_project: str | None
    product: str | None
    name: str | None
    date_added: date | None
    due_date: date | None
    ransomware: str | None
    short_description: str | None
    required_action: str | None
    notes: str | None
    cwes: list[str]


@dataclass
class ParsedCve:
    cve_id: str
    description: str | None
    cvss_score: float | None
    cvss_vector: str | None
    severity: str | None
    published_at: datetime | None
    modified_at: datetime | None


@dataclass
class ParsedFeed:
    """One feed document, parsed: its kind, identity, and the records it carries."""

    kind: str  # kev, csaf, nvd
    name: str
    sha256: str
    version: str | None
    released_at: datetime | None
    advisories: list[ParsedAdvisory] = field(default_factory=list)
    kev: list[ParsedKev] = field(default_factory=list)
    cves: list[ParsedCve] = field(default_factory=list)

    @property
    def records(self) -> int:
        return len(self.advisories) + len(self.kev) + len(self.cves)


class Reader:
    """Typed access to a JSON document that reports problems with the file and JSON path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, problem: str) -> InputError:
        return InputError(self.source, path, None, problem)

    def get(self, obj: Any, key: str, path: str, kind: type[T], *, required: bool = True) -> T | None:
        if not isinstance(obj, dict):
            raise self.fail(path, f"expected an object, found {type(obj).__name__}")
        value = obj.get(key)
        if value is None:
            if required:
                raise self.fail(f"{path}.{key}", "is missing; the file does not follow the feed's format")
            return None
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)  # type: ignore[return-value]
        if not isinstance(value, kind):
            raise self.fail(f"{path}.{key}", f"expected {kind.__name__}, found {type(value).__name__}")
        return value

    def req(self, obj: Any, key: str, path: str, kind: type[T]) -> T:
        value = self.get(obj, key, path, kind)
        assert value is not None
        return value

    def items(self, obj: Any, key: str, path: str, *, required: bool = False) -> list[tuple[str, Any]]:
        seq = self.get(obj, key, path, list, required=required) or []
        return [(f"{path}.{key}[{i}]", item) for i, item in enumerate(seq)]

    def timestamp(self, obj: Any, key: str, path: str) -> datetime | None:
        return self._parse(obj, key, path, lambda text: plausible_time(_parse_datetime(text)))

    def day(self, obj: Any, key: str, path: str) -> date | None:
        return self._parse(obj, key, path, lambda text: plausible_day(date.fromisoformat(text)))

    def cvss(self, obj: Any, key: str, path: str) -> float | None:
        """A CVSS base score (0.0–10.0), or None when absent."""
        if not isinstance(obj, dict) or obj.get(key) is None:
            return None
        try:
            return cvss_score(obj[key])
        except ValueError as exc:
            raise self.fail(f"{path}.{key}", str(exc)) from None

    def cve(self, obj: Any, key: str, path: str, *, required: bool = True) -> str | None:
        """A CVE ID (``CVE-YYYY-NNNN``), the same rule for KEV, CSAF and NVD."""
        value = self.get(obj, key, path, str, required=required)
        if value is None:
            return None
        try:
            return cve_id(value)
        except ValueError as exc:
            raise self.fail(f"{path}.{key}", str(exc)) from None

    def _parse(self, obj: Any, key: str, path: str, fn: Callable[[str], T]) -> T | None:
        text = self.get(obj, key, path, str, required=False)
        if not text:
            return None
        try:
            return fn(text)
        except ValueError as exc:
            raise self.fail(f"{path}.{key}", f"{text!r} is not a valid date ({exc})") from None


def _parse_datetime(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)
