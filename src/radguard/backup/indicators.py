"""Ransomware indicators (extensions, ransom-note names, entropy) loaded from ``indicators.yaml``.

The lists are data so that a hospital can add a new family's extension without a release.
"""

from __future__ import annotations

import fnmatch
import math
import re
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from radguard.errors import ConfigError

INDICATORS_FILE = Path(__file__).with_name("indicators.yaml")


class Indicators(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    extensions: list[str] = Field(min_length=1)
    notes: list[str] = Field(min_length=1)
    entropy_threshold: float = Field(gt=0, le=8)
    ignore: list[str] = Field(default_factory=list)

    def model_post_init(self, _context: object) -> None:
        self._ext = frozenset(e.lower() if e.startswith(".") else "." + e.lower() for e in self.extensions)
        self._notes = re.compile("|".join(fnmatch.translate(p.lower()) for p in self.notes))
        self._ignore = re.compile("|".join(fnmatch.translate(p.lower()) for p in self.ignore) or r"(?!)")

    def ransomware_extension(self, name: str) -> str | None:
        """The ransomware suffix of ``name`` (e.g. ``.locked``), or None."""
        dot = name.rfind(".")
        if dot <= 0:
            return None
        ext = name[dot:].lower()
        return ext if ext in self._ext else None

    def is_ransom_note(self, name: str) -> bool:
        return self._notes.match(name.lower()) is not None

    def is_ignored(self, name: str) -> bool:
        return self._ignore.match(name.lower()) is not None


@lru_cache(maxsize=1)
def load_indicators(path: Path = INDICATORS_FILE) -> Indicators:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Indicators.model_validate(raw)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot load ransomware indicators: {exc}") from exc


def shannon_entropy(sample: bytes) -> float:
    """Bits per byte of ``sample``; encrypted or compressed data is close to 8."""
    if not sample:
        return 0.0
    n = len(sample)
    total = 0.0
    for i in range(256):
        c = sample.count(i)
        if c:
            p = c / n
            total -= p * math.log2(p)
    return total
