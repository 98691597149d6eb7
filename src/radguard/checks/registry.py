"""Evaluators: the small typed functions that turn stored data into observations.

An evaluator receives a :class:`CheckContext` and yields one :class:`Observation` per subject
where the safeguard is missing *now*. It never writes: the engine turns observations into
findings (creating, reopening, or closing them as mitigated) in one transaction.

Register with ``@evaluator("RG-SOMETHING")`` in a module under ``checks/evaluators/``; every
module there is imported by :func:`load_evaluators`.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy.orm import Session

from radguard.checks.snapshot import load_snapshot
from radguard.db.base import utcnow
from radguard.db.models.inventory import Asset

T = TypeVar("T")


@dataclass(slots=True)
class Observation:
    """One place where a check's safeguard is missing.

    ``asset_id`` is set for asset findings; ``subject`` names non-asset subjects (a vendor, a
    service, a backup set, ``organization``). ``key`` tells apart several findings of one check
    on one subject (an endpoint ``10.1.2.3:104``, a CVE ID). ``evidence`` is what showed it,
    JSON-serialisable and free of patient data. ``exposure`` (0–1) and ``exploit`` (KEV,
    ransomware use) feed the risk score.

    Observations are read-only once yielded, evidence included: the engine serialises each
    evidence document object once, so several observations may share one document. (Not a
    frozen dataclass only because a large fleet yields hundreds of thousands of observations and
    a frozen one costs three times as much to create.)
    """

    asset_id: int | None = None
    subject: str | None = None
    key: str = ""
    evidence: dict[str, Any] = field(default_factory=dict)
    exposure: float = 0.5
    exploit: dict[str, Any] = field(default_factory=dict)
    summary: str | None = None


class CheckContext:
    """What evaluators read: a session, the assessment time, and memoised shared loads."""

    def __init__(self, session: Session, now: datetime | None = None,
                 settings: dict[str, Any] | None = None) -> None:
        self.session = session
        self.now = now or utcnow()
        self.settings = settings or {}
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, factory: Callable[[], T]) -> T:
        """Compute a shared value once per assessment (e.g. all endpoints by host)."""
        if key not in self._memo:
            self._memo[key] = factory()
        return cast(T, self._memo[key])

    def assets(self) -> list[Asset]:
        """Every asset with site, endpoints, AE titles and components, as a read-only snapshot.

        The snapshot (:mod:`radguard.checks.snapshot`) has the ORM attribute names but none of
        the ORM's per-object cost, so evaluators called directly (as in tests) see exactly
        what they see inside an assessment.
        """
        return self.memo("assets", lambda: load_snapshot(self.session))


Evaluator = Callable[[CheckContext], Iterable[Observation]]
_REGISTRY: dict[str, Evaluator] = {}


def evaluator(check_id: str) -> Callable[[Evaluator], Evaluator]:
    def register(fn: Evaluator) -> Evaluator:
        if check_id in _REGISTRY and _REGISTRY[check_id] is not fn:
            raise RuntimeError(f"two evaluators registered for {check_id}")
        _REGISTRY[check_id] = fn
        return fn

    return register


def load_evaluators() -> dict[str, Evaluator]:
    """Import every evaluator module and return the registry (ID → function)."""
    from radguard.checks import evaluators

    for mod in pkgutil.iter_modules(evaluators.__path__):
        importlib.import_module(f"{evaluators.__name__}.{mod.name}")
    return dict(_REGISTRY)
