"""Ransomware indicators (extensions, ransom-note names, entropy) loaded from ``indicators.yaml``.

The lists are data so that a hospital can add a new family's extension without a release.
"""

from __future__ import annotations

import codecs
import fnmatch
import math
import re
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from radguard.errors import ConfigError

INDICATORS_FILE = Path(__file__).with_name("indicators.yaml")


def _globs(patterns: list[str]) -> re.Pattern[str]:
    return re.compile("|".join(fnmatch.translate(p.lower()) for p in patterns) or r"(?!)")


def _words(words: list[str]) -> re.Pattern[str]:
    """Any of ``words`` as a whole word (not inside a longer word), case-insensitive."""
    alternatives = "|".join(re.escape(w.lower()).replace(r"\ ", r"\s+") for w in sorted(words, key=len, reverse=True))
    return re.compile(rf"(?<![a-z0-9])(?:{alternatives})(?![a-z0-9])")


class NoteText(BaseModel):
    """How a ransom note is recognised by what it says (see indicators.yaml)."""

    model_config = ConfigDict(extra="forbid")

    sample_bytes: int = Field(ge=256, le=1024 * 1024)
    min_groups: int = Field(ge=1)
    required_groups: list[str] = Field(default_factory=list)
    suspect_names: list[str] = Field(default_factory=list)
    suspect_min_groups: int = Field(ge=1)
    groups: dict[str, list[str]] = Field(min_length=1)

    def model_post_init(self, _context: object) -> None:
        unknown = set(self.required_groups) - set(self.groups)
        if unknown:
            raise ValueError(f"required_groups names unknown groups: {', '.join(sorted(unknown))}")
        if any(not words for words in self.groups.values()):
            raise ValueError("every group needs at least one word")
        self._groups = {name: _words(words) for name, words in self.groups.items()}
        self._suspect = _globs(self.suspect_names)

    def groups_in(self, text: str) -> list[str]:
        """The names of the groups whose words ``text`` uses."""
        low = text.lower()
        return [name for name, rx in self._groups.items() if rx.search(low)]

    def is_note(self, name: str, groups: list[str]) -> bool:
        if self._suspect.match(name.lower()) and len(groups) >= self.suspect_min_groups:
            return True
        required = not self.required_groups or any(g in self.required_groups for g in groups)
        return len(groups) >= self.min_groups and required


class PreambleExecutable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    magic: str = Field(pattern=r"^(?:[0-9a-fA-F]{2}){2,16}$")
    what: str = Field(min_length=1)


class Indicators(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    extensions: list[str] = Field(min_length=1)
    notes: list[str] = Field(min_length=1)
    note_text: NoteText
    preamble_executables: list[PreambleExecutable] = Field(min_length=1)
    entropy_threshold: float = Field(gt=0, le=8)
    ignore: list[str] = Field(default_factory=list)

    def model_post_init(self, _context: object) -> None:
        self._ext = frozenset(e.lower() if e.startswith(".") else "." + e.lower() for e in self.extensions)
        self._notes = _globs(self.notes)
        self._ignore = _globs(self.ignore)
        self._exe = [(bytes.fromhex(p.magic), p.what) for p in self.preamble_executables]

    def ransomware_extension(self, name: str) -> str | None:
        """The ransomware suffix of ``name`` (e.g. ``.locked``), or None."""
        dot = name.rfind(".")
        if dot <= 0:
            return None
        ext = name[dot:].lower()
        return ext if ext in self._ext else None

    def is_ransom_note(self, name: str) -> bool:
        """Whether ``name`` is a known ransom-note name (the content does not matter)."""
        return self._notes.match(name.lower()) is not None

    def note_by_text(self, name: str, head: bytes) -> list[str] | None:
        """The word groups that make ``head`` (a file's first bytes) a ransom note, or None.

        Only text is considered: binary data never matches, so a damaged image is not taken for
        a note because some bytes happen to spell a word.
        """
        text = as_text(head[: self.note_text.sample_bytes])
        if text is None:
            return None
        groups = self.note_text.groups_in(text)
        return groups if groups and self.note_text.is_note(name, groups) else None

    def preamble_executable(self, data: bytes) -> str | None:
        """What executable the first bytes of a DICOM file's preamble hold (CVE-2019-11687), or None."""
        for magic, what in self._exe:
            if data[: len(magic)] == magic:
                return what
        return None

    def is_ignored(self, name: str) -> bool:
        return self._ignore.match(name.lower()) is not None


@lru_cache(maxsize=1)
def load_indicators(path: Path = INDICATORS_FILE) -> Indicators:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return Indicators.model_validate(raw)
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot load ransomware indicators: {exc}") from exc


def as_text(sample: bytes) -> str | None:
    """``sample`` decoded when it is text (UTF-16 with a BOM or NULs between ASCII, UTF-8, Latin-1), else None."""
    if not sample:
        return None
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = sample.decode("utf-16", "replace")
    elif len(sample) >= 8 and sample[1::2].count(0) > len(sample) * 0.4:
        text = sample.decode("utf-16-le", "replace")
    elif len(sample) >= 8 and sample[0::2].count(0) > len(sample) * 0.4:
        text = sample.decode("utf-16-be", "replace")
    else:
        try:
            text = sample.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A sample cut inside a multi-byte character still counts as UTF-8; anything else is Latin-1.
            text = sample[: exc.start].decode("utf-8") if exc.start >= len(sample) - 3 else sample.decode("latin-1")
    printable = sum(1 for ch in text if ch.isprintable() or ch in "\t\r\n\f")
    return text if printable >= 0.95 * len(text) else None


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
