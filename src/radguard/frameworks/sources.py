"""What maps to a framework requirement: checks from the check catalog, questions from the checklist.

Checks come from the check catalog's one reader (``checks.loader.catalog_specs``, which imports
no evaluators); checklist questions are read from the checklist YAML as it exists on disk, so
coverage (and the reference test) follow whatever content ships. Each mapping
names the framework key, the requirement ID as cited, and the check or question that cites it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from radguard.checks.loader import catalog_specs
from radguard.checks.spec import CheckSpec

FRAMEWORK_FIELDS = ("csf2", "hicp", "hph_cpg", "hipaa")
# libyaml when available: the pure-Python loader takes seconds over the whole content tree.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Source:
    """A check or checklist question, with what the report needs to show about it."""

    kind: str  # "check" or "question"
    id: str
    title: str
    refs: tuple[tuple[str, str], ...]  # (framework key, requirement ID as cited)
    checks: tuple[str, ...] = ()  # questions: checks whose findings contradict a high answer
    domain: str | None = None


def _package_dir(*parts: str) -> Path:
    return Path(str(resources.files("radguard").joinpath(*parts)))


def _yaml_files(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.yaml")) if directory.is_dir() else []


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)


def _refs_of(frameworks: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(frameworks, dict):
        return ()
    refs: list[tuple[str, str]] = []
    for key in FRAMEWORK_FIELDS:
        values = frameworks.get(key) or []
        if isinstance(values, str):
            values = [values]
        refs.extend((key, str(v)) for v in values)
    return tuple(refs)


@cache
def check_sources() -> tuple[Source, ...]:
    """Every check of the check catalog (read by ``checks.loader``) with its framework references."""
    return tuple(Source("check", spec.id, spec.title, _refs_of(spec.frameworks.model_dump()))
                 for spec in check_specs().values())


@cache
def question_sources() -> tuple[Source, ...]:
    """Every checklist question under ``radguard/readiness/checklists/`` with its references."""
    out = []
    for path in _yaml_files(_package_dir("readiness", "checklists")):
        for e in _records(_load(path)):
            if _kind(e) == "questions":
                out.append(
                    Source(
                        "question",
                        str(e["id"]),
                        str(e.get("text", e["id"])),
                        _refs_of(e.get("frameworks")),
                        tuple(e.get("checks") or ()),
                        e.get("domain"),
                    )
                )
    return tuple(out)


def all_refs_in(directory: Path) -> Iterator[tuple[Path, str, str]]:
    """Every (file, framework key, ID) cited anywhere in the YAML files under ``directory``.

    Walks the documents generically (any mapping with a ``frameworks`` mapping), so the reference
    test keeps working whatever shape the other catalogs take.
    """

    def walk(node: Any) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            fw = node.get("frameworks")
            if isinstance(fw, dict):
                yield from _refs_of(fw)
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for item in node:
                yield from walk(item)

    for path in _yaml_files(directory):
        for key, ident in walk(_load(path)):
            yield path, key, ident


def check_specs() -> dict[str, CheckSpec]:
    """Check ID → validated metadata: the check catalog's one reader, ``checks.loader.catalog_specs``."""
    return catalog_specs()


@cache
def checklist_catalog() -> dict[str, list[dict[str, Any]]]:
    """The checklist catalog's domains, questions and size profiles, merged from its YAML files."""
    merged: dict[str, list[dict[str, Any]]] = {"domains": [], "questions": [], "profiles": []}
    for path in _yaml_files(_package_dir("readiness", "checklists")):
        for e in _records(_load(path)):
            kind = _kind(e)
            if kind is not None:
                merged[kind].append(e)
    return merged


def _records(doc: Any) -> list[dict[str, Any]]:
    """The mappings of a YAML document that is a list, or a mapping of lists."""
    lists = (
        [doc]
        if isinstance(doc, list)
        else [v for v in doc.values() if isinstance(v, list)]
        if isinstance(doc, dict)
        else []
    )
    return [e for lst in lists for e in lst if isinstance(e, dict)]


def _kind(entry: dict[str, Any]) -> str | None:
    """Tell checklist domains, questions and size profiles apart by their fields."""
    if {"id", "domain", "frameworks"} <= entry.keys():
        return "questions"
    if {"size", "targets"} <= entry.keys():
        return "profiles"
    if {"key", "title"} <= entry.keys():
        return "domains"
    return None
