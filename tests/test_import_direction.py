"""Data flows one way: no radguard package imports a package from a later stage.

sources → evidence → checks → findings → readiness → reports → web/cli (docs/architecture.md).
The test parses every module under src/radguard with ``ast`` — including imports inside
functions and under ``TYPE_CHECKING`` — so a back-edge such as ``checks`` importing
``readiness`` (which the response records used to cause) fails here instead of creeping back.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "radguard"

# Earlier layers first. A package may import its own layer or any earlier one, never a later one.
LAYERS: list[set[str]] = [
    {"errors", "textfiles", "config", "validate", "outfiles", "csvcells", "links", "wording"},
    {"db"},
    # sources and records: what was observed or recorded, before anything interprets it
    {"inventory", "feeds", "backup", "discovery", "passive", "response"},
    {"checks"},  # evidence → checks → findings
    {"frameworks", "readiness"},  # interpretation: checklists, maturity, roadmap, continuity
    {"reports"},
    {"distributed", "integrations"},  # running the stages elsewhere, and handing their results on
    {"web", "cli", "demo", "console"},  # console: the console script, in front of cli
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}
# Modules of a later package that are content, not interpretation: the framework catalogs (IDs and
# titles of CSF, HICP, CPG, HIPAA requirements) that the check catalog's mappings are validated
# against. They import nothing but errors and their own model.
CONTENT_MODULES = {"radguard.frameworks.loader", "radguard.frameworks.model"}


def _package(path: Path) -> str:
    return path.relative_to(SRC).parts[0].removesuffix(".py")


def _imports(path: Path) -> list[tuple[int, str]]:
    """Every absolute ``radguard.*`` import in ``path`` with its line number."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] if node.module != "radguard" else [f"radguard.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        found.extend((node.lineno, n) for n in names if n.startswith("radguard."))
    return found


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if p.name != "__main__.py" or p.parent != SRC)


def test_every_package_has_a_layer() -> None:
    packages = {_package(p) for p in _modules()} - {"__init__"}
    assert packages - RANK.keys() == set(), "place the new package in LAYERS (and docs/architecture.md)"


def test_no_import_goes_against_the_flow() -> None:
    wrong: list[str] = []
    for path in _modules():
        own = _package(path)
        if own not in RANK:
            continue
        for line, name in _imports(path):
            target = name.split(".")[1]
            if target in RANK and RANK[target] > RANK[own] and name not in CONTENT_MODULES:
                wrong.append(f"{path.relative_to(SRC.parent)}:{line} imports {name} ({own} → {target})")
    assert wrong == []


@pytest.mark.parametrize(("importer", "forbidden"), [("checks", "readiness"), ("response", "checks"),
                                                      ("response", "readiness")])
def test_the_named_back_edges_are_absent(importer: str, forbidden: str) -> None:
    """The edges issue #15 removed, named so a failure says which promise broke."""
    offenders = [f"{p.relative_to(SRC.parent)}:{line}" for p in (SRC / importer).rglob("*.py")
                 for line, name in _imports(p) if name.split(".")[1] == forbidden]
    assert offenders == []
