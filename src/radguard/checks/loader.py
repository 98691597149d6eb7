"""Loading the check catalog: every ``catalog/*.yaml`` file, validated, matched to evaluators.

The catalog is content written by several people; a typo in one entry must not silently drop
a check or leave an evaluator running without metadata. So loading is strict: each entry is
validated with :class:`CheckSpec`, IDs are unique across files, and every catalog check has an
evaluator and every evaluator a catalog entry. Errors name the file and the check ID.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from radguard.checks.executive import EXECUTIVE_PATH, ExecutiveWordingError, missing_wording
from radguard.checks.registry import Evaluator, load_evaluators
from radguard.checks.spec import CheckSpec
from radguard.errors import ConfigError
from radguard.frameworks.loader import validate_refs

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"

# Formats of framework IDs (docs/developing.md); the tests also compare them with the
# framework catalogs themselves.
FRAMEWORK_ID_FORMATS: dict[str, re.Pattern[str]] = {
    "csf2": re.compile(r"^(GV|ID|PR|DE|RS|RC)\.[A-Z]{2}-\d{2}$"),
    "hicp": re.compile(r"^(10|[1-9])\.[SML]\.[A-F]$"),
    "hph_cpg": re.compile(r"^[EX](10|[1-9])$"),
    "hipaa": re.compile(r"^16[04]\.\d{3}(\((?:[a-z]{1,2}|\d{1,2}|[ivx]{1,5}|[A-Z])\))*$"),
}


class CatalogError(ConfigError):
    """A catalog file is unreadable or one of its checks is invalid."""


@dataclass(frozen=True)
class CatalogEntry:
    spec: CheckSpec
    source: Path
    evaluator: Evaluator


@dataclass
class Catalog:
    """The validated checks, in file then entry order, each with its evaluator."""

    entries: dict[str, CatalogEntry] = field(default_factory=dict)

    def __iter__(self) -> Iterator[CatalogEntry]:
        return iter(self.entries.values())

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, check_id: object) -> bool:
        return check_id in self.entries

    def spec(self, check_id: str) -> CheckSpec | None:
        entry = self.entries.get(check_id)
        return entry.spec if entry else None


# libyaml's safe loader when PyYAML was built with it (Debian's and PyPI's wheels are): the
# catalog is read at the start of every assessment, and the C loader is several times faster.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _entries_of(path: Path) -> list[Any]:
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise CatalogError(f"{path}{where}: not valid YAML ({exc}); fix the file") from exc
    if doc is None:
        return []
    if isinstance(doc, dict):
        doc = doc.get("checks")
    if not isinstance(doc, list):
        raise CatalogError(f"{path}: expected a list of checks (or a mapping with a 'checks' list)")
    return doc


def _validate(raw: Any, path: Path, index: int) -> CheckSpec:
    ident = raw.get("id") if isinstance(raw, dict) else None
    label = f"check {ident}" if ident else f"entry {index + 1}"
    if not isinstance(raw, dict):
        raise CatalogError(f"{path}, {label}: each check must be a mapping of fields")
    try:
        spec = CheckSpec.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"field '{'.'.join(str(p) for p in err['loc'])}': {err['msg']}" for err in exc.errors()
        )
        raise CatalogError(f"{path}, {label}: {problems}") from exc
    for framework, pattern in FRAMEWORK_ID_FORMATS.items():
        for ref in getattr(spec.frameworks, framework):
            if not pattern.match(ref):
                raise CatalogError(
                    f"{path}, {label}: field 'frameworks.{framework}': {ref!r} is not a valid ID "
                    "(see docs/developing.md, Framework IDs)"
                )
        unknown = validate_refs(framework, getattr(spec.frameworks, framework))
        if unknown:
            raise CatalogError(
                f"{path}, {label}: field 'frameworks.{framework}': {', '.join(map(repr, unknown))} "
                f"is not in radguard's {framework} catalog (radguard/frameworks/catalog/)"
            )
    return spec


def read_specs(directory: Path = CATALOG_DIR, executive: Path | None = None) -> list[tuple[CheckSpec, Path]]:
    """Every check of every ``*.yaml`` file in ``directory``, validated, IDs unique, each with executive wording.

    :param directory: the catalog directory.
    :param executive: the executive wording file every check needs an entry in (default: the
        packaged ``checks/executive.yaml`` for the packaged catalog; none for another directory
        unless given, so tests can load a catalog of their own).
    """
    seen: dict[str, Path] = {}
    out: list[tuple[CheckSpec, Path]] = []
    for path in sorted(directory.glob("*.yaml")):
        for index, raw in enumerate(_entries_of(path)):
            spec = _validate(raw, path, index)
            if spec.id in seen:
                raise CatalogError(
                    f"{path}, check {spec.id}: the ID is already used in {seen[spec.id]}; IDs must be unique"
                )
            seen[spec.id] = path
            out.append((spec, path))
    if executive is None and directory == CATALOG_DIR:
        executive = EXECUTIVE_PATH
    if executive is not None:
        try:
            missing = missing_wording((spec.id for spec, _ in out), executive)
        except ExecutiveWordingError as exc:
            raise CatalogError(str(exc)) from exc
        if missing:
            where = ", ".join(f"{cid} ({seen[cid].name})" for cid in missing)
            raise CatalogError(
                f"{executive}: no executive wording for check {where}; add an entry with a plain-language "
                "title, consequence and action (docs/developing.md, Executive wording)"
            )
    return out


def load_catalog(directory: Path = CATALOG_DIR, evaluators: dict[str, Evaluator] | None = None,
                 executive: Path | None = None) -> Catalog:
    """Validate the catalog and pair each check with its evaluator (both ways, or an error).

    :param directory: the catalog directory.
    :param evaluators: check ID → evaluator (default: the registered ones).
    :param executive: the executive wording file (see :func:`read_specs`).
    """
    specs = read_specs(directory, executive)
    registry = load_evaluators() if evaluators is None else evaluators
    catalog = Catalog()
    for spec, path in specs:
        fn = registry.get(spec.id)
        if fn is None:
            raise CatalogError(
                f"{path}, check {spec.id}: no evaluator is registered for it; add "
                f"@evaluator({spec.id!r}) in radguard/checks/evaluators/"
            )
        catalog.entries[spec.id] = CatalogEntry(spec, path, fn)
    orphans = sorted(set(registry) - set(catalog.entries))
    if orphans:
        where = ", ".join(f"{cid} ({getattr(registry[cid], '__module__', '?')})" for cid in orphans)
        raise CatalogError(
            f"{directory}: evaluators without a catalog entry: {where}; add them to a catalog/*.yaml file"
        )
    return catalog


@lru_cache(maxsize=1)
def catalog_specs() -> dict[str, CheckSpec]:
    """Check ID → validated spec of the packaged catalog, read once per process, no evaluators.

    With :func:`default_catalog` (which adds the evaluators) the one reader of the check
    catalog: framework coverage, the reports and the roadmap use it instead of parsing the YAML.
    When the process has already loaded :func:`default_catalog` (an assessment has), its specs
    are these, so the files are not read and validated a second time.
    """
    if default_catalog.cache_info().currsize:
        return {entry.spec.id: entry.spec for entry in default_catalog()}
    return {spec.id: spec for spec, _ in read_specs()}


@lru_cache(maxsize=1)
def default_catalog() -> Catalog:
    """The packaged catalog, loaded once per process, with the content files its evaluators read."""
    from radguard.checks.evaluators.network import remote_access_ports

    catalog = load_catalog()
    remote_access_ports()  # validated at start-up, not at the first flow judged
    return catalog
