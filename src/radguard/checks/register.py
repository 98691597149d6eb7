"""The findings register as an assessment leaves it, held in memory for what runs right after.

An assessment reads every finding's state, score and title and decides every new one, so when
it has written the register it already knows what the dashboard cards and the inventory's
roll-ups summarise. Reading the register back for them (every open finding with its asset, for
the roadmap; a grouped count; a grouped roll-up per asset) took as long as writing it at
50,000 assets (issue #18). :class:`AssessedRegister` gives the same answers as those queries —
:func:`radguard.checks.findings.open_findings`, :func:`~radguard.checks.findings.finding_counts`
and the figures of :func:`~radguard.checks.findings.refresh_asset_rollups` — from the rows the
engine holds; tests/checks/test_assessed_register.py compares the two on both databases.

It is valid only in the assessment's own transaction, before anything else changes a finding:
the engine hands it on in its result, and ``readiness.dashboard.assess`` uses it at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from functools import partial
from operator import attrgetter
from typing import NamedTuple

from radguard.checks.findings import FindingCounts, FindingRef
from radguard.db.models.findings import OPEN_STATES


class RegisterRow(NamedTuple):
    """One finding as the assessment left it: the columns the summaries read."""

    id: int
    check_id: str
    asset_id: int | None
    subject: str | None
    key: str
    title: str
    severity: str
    state: str
    risk_score: int
    due: date | str | None  # a date, or SQLite's stored ISO text (read straight from the driver)


_ID, _RISK = attrgetter("id"), attrgetter("risk_score")
# A FindingRef from a plain tuple in C (every field given): a third of what its generated
# __new__ costs, for one per open finding.
_finding_ref = partial(tuple.__new__, FindingRef)


@dataclass(frozen=True)
class AssessedRegister:
    """Every finding after an assessment, with each asset's name and owner as the run read them.

    :param rows: one row per finding in the register (every state), any order.
    :param assets: asset ID → (name, owner), for every asset a finding names.
    """

    rows: list[RegisterRow]
    assets: Mapping[int, tuple[str, str | None]]

    def open_findings(self) -> dict[str, list[FindingRef]]:
        """What :func:`radguard.checks.findings.open_findings` returns for this register."""
        groups: dict[str, list[RegisterRow]] = {}
        for row in self.rows:
            if row.state in OPEN_STATES:
                groups.setdefault(row.check_id, []).append(row)
        named = self.assets
        days: dict[date | str | None, str | None] = {None: None}  # few distinct due dates: format each once
        grouped: dict[str, list[FindingRef]] = {}
        for check_id in sorted(groups):
            rows = groups[check_id]
            # Highest risk first, then by ID: two stable sorts in C (reverse keeps ties in order).
            rows.sort(key=_ID)
            rows.sort(key=_RISK, reverse=True)
            refs = grouped[check_id] = []
            for row in rows:
                asset = named.get(row.asset_id) if row.asset_id is not None else None
                label = (asset[0] if asset else None) or row.subject or "organization"
                if row.key:
                    label += f" ({row.key})"
                due = row.due
                if due not in days:
                    days[due] = due if isinstance(due, str) else due.isoformat()  # type: ignore[union-attr]
                refs.append(_finding_ref((row.id, check_id, row.title, row.severity, row.risk_score, label,
                                          asset[1] if asset else None, days[due], row.asset_id)))
        return grouped

    def counts(self) -> FindingCounts:
        """What :func:`radguard.checks.findings.finding_counts` returns (whole register, no scope)."""
        counted = Counter((r.check_id, r.state, r.severity) for r in self.rows)
        return FindingCounts(tuple((c, st, sv, n) for (c, st, sv), n in sorted(counted.items())))

    def rollups(self) -> dict[int, tuple[int, int]]:
        """Asset ID → (highest open risk score, open findings), for assets with open findings."""
        out: dict[int, tuple[int, int]] = {}
        for row in self.rows:
            if row.asset_id is None or row.state not in OPEN_STATES:
                continue
            found = out.get(row.asset_id)
            out[row.asset_id] = ((row.risk_score, 1) if found is None
                                 else (max(found[0], row.risk_score), found[1] + 1))
        return out
