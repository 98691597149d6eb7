"""Plain-language wording of each check for executives: title, what could happen, what to do.

A check's catalog entry is written for the people who fix it (``remediation: set
DicomAlwaysAllowFind to false``); a board reads the same finding as "an imaging archive
answers searches from unknown devices". The executive report, the dashboard and the finding
page's "what could happen" take their words from ``executive.yaml``, one entry per check, so a
new check cannot reach an executive page without them: the catalog loader refuses a catalog
with a check that has no entry (:func:`missing_wording`).

The vocabulary is checked here too (:func:`vocabulary_problems`), by the loader for the
YAML and by the tests for every rendered executive page, so command-line and configuration
words (``record x=true``, ``--immutable``, ``probe.endpoint``, ``DicomAlwaysAllowFind``,
``snake_case`` names, rule IDs) never reach a board pack.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from radguard.errors import ConfigError

EXECUTIVE_PATH = Path(__file__).resolve().parent / "executive.yaml"
FIELDS = ("title", "consequence", "action")


class ExecutiveWordingError(ConfigError):
    """``executive.yaml`` is unreadable, incomplete, or uses words a board should not read."""


@dataclass(frozen=True)
class ExecutiveWording:
    """What a check means to an executive."""

    title: str
    consequence: str
    action: str


# (pattern, what it is): each pattern finds a word an executive page must not contain.
_BANNED: tuple[tuple[re.Pattern[str], str], ...] = (
    # "record X on the asset" is what the CLI-era remediation said; an executive is told what to do instead.
    (re.compile(r"\brecord\s", re.IGNORECASE), "a 'record ...' instruction"),
    (re.compile(r"(?<![\w-])--[a-z]"), "a command-line option"),
    (re.compile(r"\w\s*=\s*\w|\w=|=\w"), "a key=value setting"),
    (re.compile(r"\bprobe\.", re.IGNORECASE), "a probe evidence key"),
    (re.compile(r"\bDicomAlwaysAllowFind\b"), "an Orthanc configuration option"),
    (re.compile(r"\b[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+){2,}\b"), "a configuration key in CamelCase"),
    (re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"), "a snake_case identifier"),
    (re.compile(r"\bRG-[A-Z0-9]+(?:-[A-Z0-9]+)*\b"), "a rule ID"),
    (re.compile(r"\b[a-z]+\.[a-z_]{2,}\b(?!\.[a-z])"), "a dotted configuration key"),
    (re.compile(r"`"), "code formatting"),
    (re.compile(r"[−-]\d+(?:\.\d+)? risk\b"), "a raw risk score"),
    (re.compile(r"\bradguard (?:assess|backup|checklist|inventory|findings|report|services|team|user|serve|drill|"
                r"vendor|discover|feeds|roadmap|init|demo|db|web|sensor|schedule|attest|mds2|sbom)\b"),
     "a radguard command"),
    (re.compile(r"\(s\)"), "a '(s)' plural"),
    (re.compile(r"\b(?:None|True|False)\b"), "a Python value"),
    (re.compile(r"\[\]|\['|'\]"), "a Python list"),
)


def vocabulary_problems(text: str) -> list[str]:
    """Each banned word in ``text`` with what it is, e.g. ``"'--immutable' (a command-line option)"``.

    Used on the YAML entries and, by the tests, on the visible text of every executive page.

    :param text: plain text (no HTML markup: attributes legitimately hold ``=``).
    """
    out = []
    for pattern, what in _BANNED:
        for m in pattern.finditer(text):
            start, end = max(0, m.start() - 10), min(len(text), m.end() + 10)
            out.append(f"{text[start:end].strip()!r} ({what})")
    return out


def _entry(check_id: str, raw: Any, path: Path) -> ExecutiveWording:
    if not isinstance(raw, dict):
        raise ExecutiveWordingError(f"{path}, check {check_id}: expected a mapping with {', '.join(FIELDS)}")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise ExecutiveWordingError(f"{path}, check {check_id}: unknown field {', '.join(unknown)}; "
                                    f"the fields are {', '.join(FIELDS)}")
    values: dict[str, str] = {}
    for name in FIELDS:
        text = raw.get(name)
        if not isinstance(text, str) or len(text.strip()) < 5:
            raise ExecutiveWordingError(f"{path}, check {check_id}: field '{name}' is missing or empty; "
                                        "write it in plain words for an executive")
        problems = vocabulary_problems(text)
        if problems:
            raise ExecutiveWordingError(f"{path}, check {check_id}: field '{name}' uses technical vocabulary: "
                                        f"{'; '.join(problems)}; say it in plain words (the technical detail "
                                        "belongs in the check's remediation)")
        values[name] = " ".join(text.split())
    return ExecutiveWording(**values)


# libyaml's safe loader when PyYAML has it (as checks.loader): every assessment reads this file.
_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=4)
def load_wording(path: Path = EXECUTIVE_PATH) -> Mapping[str, ExecutiveWording]:
    """Check ID → its executive wording, every entry validated (read once per process).

    :param path: the wording file (default: the packaged ``checks/executive.yaml``).
    """
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except (OSError, yaml.YAMLError) as exc:
        raise ExecutiveWordingError(f"{path}: cannot read the executive wording: {exc}") from exc
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ExecutiveWordingError(f"{path}: expected a mapping of check ID to title, consequence and action")
    return {str(cid): _entry(str(cid), raw, path) for cid, raw in doc.items()}


def missing_wording(check_ids: Iterable[str], path: Path = EXECUTIVE_PATH) -> list[str]:
    """The check IDs that have no executive wording (the loader refuses the catalog if any)."""
    wording = load_wording(path)
    return [cid for cid in check_ids if cid not in wording]


def wording_for(check_id: str) -> ExecutiveWording | None:
    """The packaged wording of one check, or None for a check no longer in the catalog."""
    # The path given as the loader gives it: lru_cache keys ``f()`` and ``f(path)`` apart, and the
    # file was read and validated twice per process.
    return load_wording(EXECUTIVE_PATH).get(check_id)


def executive_title(check_id: str, fallback: str) -> str:
    """The check's plain title, or ``fallback`` (its catalog title) for a retired check."""
    w = wording_for(check_id)
    return w.title if w else fallback


def plain_action(action: Mapping[str, Any]) -> dict[str, str]:
    """A roadmap action (``build_roadmap``'s dict) in an executive's words: title, consequence, what to do.

    A check's action takes the check's executive wording; a checklist action keeps its
    question and the checklist's action text, which are written for managers already.
    """
    w = wording_for(str(action["id"])) if action.get("kind") == "finding" else None
    if w is not None:
        return {"title": w.title, "consequence": w.consequence, "what": w.action}
    return {"title": str(action.get("title") or ""), "consequence": "", "what": str(action.get("what") or "")}


def action_name(action_id: str | None, actions: Iterable[Mapping[str, Any]]) -> str | None:
    """The plain title of the roadmap action with ``action_id`` (for "ranked with ..." notes)."""
    if not action_id:
        return None
    for a in actions:
        if a["id"] == action_id:
            return plain_action(a)["title"]
    w = wording_for(action_id)
    return w.title if w else None
