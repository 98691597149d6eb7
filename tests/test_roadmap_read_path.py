"""The roadmap has one read path: only its owners rank the register.

``readiness.roadmap.build_roadmap`` ranks every open finding (seconds at 100,000 assets), and
two callers ranking on their own is how the report came to show another order than the page
(closing note of session 29). Everything else reads ``readiness.roadmap_store.current_roadmap``.
The test parses every module under src/radguard (and benchmarks/) with ``ast`` and fails on any
other module, or any other function of the assessment's store step, that names ``build_roadmap``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "radguard"
NAME = "build_roadmap"
# Module → the functions in it that may name build_roadmap (None: any; the owner itself).
OWNERS: dict[str, set[str] | None] = {
    "radguard/readiness/roadmap.py": None,  # where it is defined
    "radguard/readiness/roadmap_store.py": None,  # the read path: stored, else ranked (another capacity…)
    "radguard/readiness/dashboard.py": {"store_cards"},  # the assessment's (and re-rank's) store step
    "benchmarks/roadmap_read.py": None,  # measures the stored read against ranking live
}


def _uses(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, enclosing function) of every import of, or reference to, ``build_roadmap``."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, func: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            func = node.name if func == "<module>" else func
        hit = (isinstance(node, ast.ImportFrom) and any(a.name == NAME for a in node.names)) \
            or (isinstance(node, ast.Name) and node.id == NAME) \
            or (isinstance(node, ast.Attribute) and node.attr == NAME)
        if hit:
            found.append((getattr(node, "lineno", 0), func))
        for child in ast.iter_child_nodes(node):
            visit(child, func)

    visit(tree, "<module>")
    return found


def _offenders(files: list[Path], base: Path) -> list[str]:
    wrong = []
    for path in files:
        rel = path.relative_to(base).as_posix()
        allowed = OWNERS.get(rel, set())
        for line, func in _uses(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if allowed is None:
                continue
            # An import at the top of an owner module is how its allowed function reaches it.
            if func in allowed or (func == "<module>" and allowed):
                continue
            wrong.append(f"{rel}:{line} ({func})")
    return wrong


def test_only_the_owners_rank_the_register() -> None:
    files = sorted(SRC.rglob("*.py")) + sorted((ROOT / "benchmarks").rglob("*.py"))
    src_files = [p for p in files if p.is_relative_to(SRC)]
    bench = [p for p in files if not p.is_relative_to(SRC)]
    assert _offenders(src_files, SRC.parent) + _offenders(bench, ROOT) == [], \
        "read the roadmap through readiness.roadmap_store.current_roadmap, not build_roadmap"


def test_the_check_finds_a_caller() -> None:
    """The walk sees imports inside functions and attribute calls, so the test above can fail."""
    tree = ast.parse("def f(s):\n    from radguard.readiness.roadmap import build_roadmap\n"
                     "    return build_roadmap(s)\n"
                     "def g(s):\n    from radguard.readiness import roadmap\n    return roadmap.build_roadmap(s)\n")
    assert [func for _, func in _uses(tree)] == ["f", "f", "g"]
    tmp = SRC / "reports" / "sections" / "roadmap.py"  # a module that must not rank
    assert OWNERS.get(tmp.relative_to(SRC.parent).as_posix(), set()) == set()
