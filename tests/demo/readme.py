"""The README's quoted demo summary against a run's summary (used by test_demo_end_to_end).

Kept apart from the test so the comparison itself can be checked without starting the demo
(tests/test_readme_demo.py): a wrong number, a missing line or a reordered top five is reported.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from radguard.cli.demo import summary_lines

README = Path(__file__).resolve().parents[2] / "README.md"
FIRST = re.compile(r"^radguard demo finished in \d+ s\. Database: radguard-demo/demo\.db$")


def quoted_summary(readme: str) -> list[str]:
    """The lines of the fenced block that follows "Its summary" in the README."""
    head = readme.index("Its summary")
    start = readme.index("```\n", head) + 4
    return readme[start:readme.index("```\n", start)].splitlines()


def readme_mismatches(readme: str, summary: dict[str, Any]) -> list[str]:
    """What in the README's quoted summary differs from what the demo prints for ``summary``.

    The run time and the database's absolute path vary from run to run; every other line must be
    exactly what ``radguard demo`` prints, the top-five table's cells those of the run's actions in
    order, and the report lines name the reports the run wrote.
    """
    quoted = quoted_summary(readme)
    printed = summary_lines(summary, "radguard-demo/demo.db")
    problems: list[str] = []
    if not quoted or not FIRST.match(quoted[0]):
        problems.append(f"first line {quoted[:1]!r} is not 'radguard demo finished in N s. Database: ...'")
    n = len(printed)
    for i, (want, got) in enumerate(zip(printed[1:], quoted[1:n], strict=False), start=2):
        if want != got:
            problems.append(f"line {i}: README has {got!r}, the demo prints {want!r}")
    rest = quoted[n:]
    if not rest or rest[0] != "Top five actions (radguard roadmap)":
        problems.append(f"line {n + 1}: expected the top-five title, found {rest[:1]!r}")
        return problems
    rows = [[cell.strip() for cell in line.split("|")] for line in rest[2:7]]
    actions = [[str(a["rank"]), a["title"], str(a["findings"] or ""), a["horizon"], a["owner"]]
               for a in summary["top_actions"]]
    if rows != actions:
        problems.append(f"top five: README has {rows}, the demo ranks {actions}")
    reports = [line.strip().split(":")[0] for line in rest[8:]] if rest[7:8] == ["Reports:"] else None
    if reports != [name.replace("_", " ") for name in summary.get("reports", {})]:
        problems.append(f"reports: README lists {reports}, the demo wrote {list(summary.get('reports', {}))}")
    return problems
