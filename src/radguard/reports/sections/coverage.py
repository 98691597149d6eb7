"""Framework coverage for the report: a summary per framework and the full mapping appendix."""

from __future__ import annotations

from dataclasses import dataclass

from radguard.frameworks.coverage import Observed, RequirementCoverage, Status, compute_coverage, summarize
from radguard.frameworks.loader import all_frameworks
from radguard.frameworks.model import Framework


@dataclass
class FrameworkCoverage:
    framework: Framework
    rows: list[RequirementCoverage]
    counts: dict[Status, int]


def coverage_section(observed: Observed) -> list[FrameworkCoverage]:
    out = []
    for fw in all_frameworks():
        rows = compute_coverage(fw, observed)
        out.append(FrameworkCoverage(fw, rows, dict(summarize(rows))))
    return out
