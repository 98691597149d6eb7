"""Version strings and the affected-version ranges advisories write.

Advisories describe affected versions in many ways: ``vers:`` URIs, ``< 3.6.7``,
``<= 12.2.x.x``, ``>=BT02 | <= BT06``, ``HD 16 | HD23``, "All versions prior to 12.2.8",
"version 4.0 and prior", and plain prose. :func:`parse_range` turns each into a
:class:`VersionSpec` once, at import, and the spec is stored as JSON so matching never parses
text again. Anything radguard cannot read with certainty becomes an ``unparseable`` spec, which
matching reports as *needs review* — never as affected. docs/advisories.md lists every form.

Comparison is token based: ``2023.3_Build_9342`` → ``(2023, 3, "build", 9342)``. Two versions
whose tokens cannot be ordered (a number against a word, or two different letter-prefixed
version lines such as ``U61`` and ``L81``) are *incomparable*, which again means needs review.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

Token = int | str
Outcome = Literal["in", "out", "unknown"]

_SEGMENT_SPLIT = re.compile(r"[._\-\s/+:,]+")
_RUNS = re.compile(r"\d+|[a-z]+")
_WILDCARDS = {"x", "*"}
_BUILD_HASH = re.compile(r"[-+](?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}$")


@dataclass(frozen=True)
class Version:
    """A tokenised version. ``wildcard`` marks a prefix pattern such as ``12.2.x.x``."""

    text: str
    tokens: tuple[Token, ...]
    wildcard: bool = False
    # Letters that name a version line ("U" in U61, "BT" in BT02, "HD" in "HD 16"); versions
    # on different lines are different products' numbering, never ordered against each other.
    line: str | None = None

    def __str__(self) -> str:
        return self.text


@lru_cache(maxsize=65536)
def parse_version(text: str) -> Version | None:
    """Tokenise a version; ``None`` when there is nothing version-like in it."""
    raw = text.strip()
    low = raw.lower()
    if low.startswith("v") and len(low) > 1 and low[1].isdigit():
        low = low[1:]
    # Build metadata such as a git hash ("1.4.2.0-9d9eff4") does not order releases.
    low = _BUILD_HASH.sub("", low)
    segments = [s for s in _SEGMENT_SPLIT.split(low) if s]
    if not segments:
        return None
    # Trailing "x" / "*" segments make a prefix pattern; an "x" in the middle is a literal.
    wildcard = False
    while segments and segments[-1] in _WILDCARDS:
        segments.pop()
        wildcard = True
    tokens: list[Token] = []
    for seg in segments:
        for run in _RUNS.findall(seg):
            tokens.append(int(run) if run.isdigit() else run)
    if not tokens:
        return None if not wildcard else Version(raw, (), True)
    first = segments[0]
    line = None
    if (m := re.match(r"[a-z]+", first)) and (len(m.group(0)) < len(first) or len(first) > 1):
        line = m.group(0)
    return Version(raw, tuple(tokens), wildcard, line)


def different_line(a: Version, b: Version) -> bool:
    """True when both versions name a line and the lines differ (``U61`` vs ``L81``)."""
    return a.line is not None and b.line is not None and a.line != b.line


def _cmp_tokens(a: tuple[Token, ...], b: tuple[Token, ...]) -> int | None:
    """Order two token tuples; ``None`` when they cannot be ordered with confidence."""
    for i in range(max(len(a), len(b))):
        x: Token | None = a[i] if i < len(a) else None
        y: Token | None = b[i] if i < len(b) else None
        if x is None:
            x = 0 if isinstance(y, int) else ""
        if y is None:
            y = 0 if isinstance(x, int) else ""
        if isinstance(x, int) and isinstance(y, int):
            if x != y:
                return -1 if x < y else 1
            continue
        if isinstance(x, str) and isinstance(y, str):
            if x != y:
                return -1 if x < y else 1
            continue
        return None  # a number against a word: no safe order
    return 0


def compare(candidate: Version, bound: Version) -> int | None:
    """Compare ``candidate`` with ``bound``; wildcards compare only the prefix they fix."""
    a, b = candidate.tokens, bound.tokens
    if bound.wildcard:
        a = a[: len(b)]
    if candidate.wildcard:
        n = len(a)
        result = _cmp_tokens(a, b[:n])
        if result == 0 and not (bound.wildcard and len(b) == n):
            return None  # "12.x" against "12.2": cannot tell
        return result
    return _cmp_tokens(a, b)


@dataclass(frozen=True)
class Interval:
    """One contiguous part of a range; ``None`` bounds are open-ended. ``lo == hi`` with both
    inclusive is an exact version."""

    lo: str | None = None
    lo_inc: bool = True
    hi: str | None = None
    hi_inc: bool = True

    def contains(self, v: Version) -> Outcome:
        if self.lo is not None and self.lo == self.hi and self.lo_inc and self.hi_inc:
            exact = parse_version(self.lo)
            if exact is None:
                return "unknown"
            c = compare(v, exact)
            if c == 0:
                return "in"
            # A different string is simply another version, unless the candidate is a pattern.
            return "unknown" if c is None and v.wildcard else "out"
        bounds = [parse_version(b) for b in (self.lo, self.hi) if b is not None]
        if any(b is not None and different_line(v, b) for b in bounds):
            return "out"
        unknown = False
        if self.lo is not None:
            bound = parse_version(self.lo)
            c = compare(v, bound) if bound else None
            if c is None:
                unknown = True
            elif c < 0 or (c == 0 and not self.lo_inc):
                return "out"
        if self.hi is not None:
            bound = parse_version(self.hi)
            c = compare(v, bound) if bound else None
            if c is None:
                unknown = True
            elif c > 0 or (c == 0 and not self.hi_inc):
                return "out"
        return "unknown" if unknown else "in"

    def describe(self) -> str:
        if self.lo is not None and self.lo == self.hi and self.lo_inc and self.hi_inc:
            return f"= {self.lo}"
        parts = []
        if self.lo is not None:
            parts.append(f"{'>=' if self.lo_inc else '>'} {self.lo}")
        if self.hi is not None:
            parts.append(f"{'<=' if self.hi_inc else '<'} {self.hi}")
        return ", ".join(parts) or "any version"


SpecKind = Literal["all", "ranges", "unparseable"]


@dataclass(frozen=True)
class VersionSpec:
    """The versions one advisory product entry covers.

    ``all``: every version. ``ranges``: the union of ``intervals``. ``unparseable``: radguard
    could not read it (``why`` says what it saw). ``condition`` is prose that limits an
    otherwise readable range ("running on Windows 2000"); radguard cannot verify it, so a
    match under a condition is reported as needs review.
    """

    kind: SpecKind
    intervals: tuple[Interval, ...] = ()
    why: str | None = None
    condition: str | None = None
    notes: tuple[str, ...] = field(default_factory=tuple)

    def evaluate(self, version: str | None) -> tuple[Outcome, str]:
        """Is ``version`` covered? Returns the outcome and a reason a person can check."""
        if self.kind == "unparseable":
            return "unknown", f"the advisory's version text could not be interpreted ({self.why})"
        if self.condition:
            return "unknown", f"the advisory limits it to a condition radguard cannot verify: {self.condition!r}"
        if self.kind == "all":
            return "in", "the advisory covers all versions"
        if not version or not version.strip():
            return "unknown", "no version is recorded, and the advisory covers only some versions"
        v = parse_version(version)
        if v is None:
            return "unknown", f"version {version!r} is not a version radguard can compare"
        unknown: list[Interval] = []
        for interval in self.intervals:
            outcome = interval.contains(v)
            if outcome == "in":
                return "in", f"version {version} is within {interval.describe()}"
            if outcome == "unknown":
                unknown.append(interval)
        if unknown:
            ranges = "; ".join(i.describe() for i in unknown)
            return "unknown", f"version {version} cannot be compared with {ranges}"
        return "out", f"version {version} is outside {self.describe()}"

    def describe(self) -> str:
        if self.kind == "all":
            text = "all versions"
        elif self.kind == "unparseable":
            text = f"unparseable ({self.why})"
        else:
            text = " or ".join(i.describe() for i in self.intervals)
        if self.condition:
            text += f" when {self.condition}"
        return text

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"kind": self.kind}
        if self.intervals:
            doc["intervals"] = [
                {"lo": i.lo, "lo_inc": i.lo_inc, "hi": i.hi, "hi_inc": i.hi_inc} for i in self.intervals
            ]
        if self.why:
            doc["why"] = self.why
        if self.condition:
            doc["condition"] = self.condition
        if self.notes:
            doc["notes"] = list(self.notes)
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> VersionSpec:
        return cls(
            kind=doc["kind"],
            intervals=tuple(Interval(**i) for i in doc.get("intervals", [])),
            why=doc.get("why"),
            condition=doc.get("condition"),
            notes=tuple(doc.get("notes", [])),
        )


ALL = VersionSpec("all")

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b(" + "|".join(_MONTHS) + r")[a-z]*\b", re.I)
_OP = re.compile(r"^(<=|>=|==|=|<|>)\s*(.*)$")
_PROSE_WORDS = {
    "and", "or", "with", "running", "on", "prior", "all", "through", "to", "the", "only", "for",
    "shipped", "between", "including", "model", "models", "edition", "operating", "system", "release",
    "integrated", "into", "using", "that", "have", "been", "not", "sold", "in", "of", "installed",
    "before", "after", "later", "earlier", "below", "above", "newer", "older", "lower", "higher",
    "previous", "modules", "module", "wireless", "battery", "replaced", "by", "part", "such", "as",
}
_LEAD_WORDS = re.compile(
    r"^(?:all\s+)?(?:(?:software|firmware|sw|fw)\s+)?(?:versions?|vers?\.?|releases?|revisions?|rev\.?)\s+", re.I
)
_SUFFIX_LE = re.compile(
    r"^(.*?)\s*,?\s+(?:and|or)\s+(?:prior|earlier|below|lower|older|previous|before)(?:\s+versions?)?$", re.I
)
_SUFFIX_GE = re.compile(r"^(.*?)\s*,?\s+(?:and|or)\s+(?:later|newer|above|higher|after)(?:\s+versions?)?$", re.I)
_PREFIX_LT = re.compile(
    r"^(?:all\s+)?(?:versions?\s+)?(?:prior\s+to|before|earlier\s+than|older\s+than|below)\s+(.+)$", re.I
)
_THROUGH = re.compile(r"^(.+?)\s+(?:through|thru|to|until)\s+(.+)$", re.I)
_ALL_WORDS = re.compile(r"^(?:\*|all|all\s+versions?|any(?:\s+versions?)?|vers:all/\*)$", re.I)
_PAREN = re.compile(r"\(([^()]*)\)")


def is_version_like(text: str) -> bool:
    """Short, tokenisable, and not prose: what an exact version or a range bound looks like."""
    s = text.strip().lower()
    if not s or len(s) > 40 or any(c in s for c in "()[]/,;|<>=\"'"):
        return False
    words = s.split()
    if len(words) > 4 or any(w in _PROSE_WORDS for w in words):
        return False
    if not all(re.fullmatch(r"[a-z0-9][a-z0-9._\-+*]*", w) for w in words):
        return False
    if any(c.isdigit() for c in s):
        return True
    # Letter-only revisions: "K", "N", "BT"? Only one or two letters count.
    return len(words) == 1 and len(s) <= 2


def _unparseable(why: str, notes: tuple[str, ...] = ()) -> VersionSpec:
    return VersionSpec("unparseable", why=why, notes=notes)


def _strip_version_words(text: str) -> str:
    t = _LEAD_WORDS.sub("", text.strip())
    if re.match(r"^v\d", t, re.I):
        t = t[1:]
    return t.strip()


def _piece(text: str) -> list[tuple[str, str]] | str:
    """One ``|``-separated piece → constraints ``[(op, version)]``, or an error string."""
    t = text.strip()
    if not t:
        return "an empty alternative"
    m = _OP.match(t)
    if m:
        op, rest = m.group(1), _strip_version_words(m.group(2))
        op = "=" if op == "==" else op
        if not is_version_like(rest):
            return f"{rest!r} after {op!r} is not a version"
        return [(op, rest)]
    if (m := _SUFFIX_LE.match(t)) and is_version_like(_strip_version_words(m.group(1))):
        return [("<=", _strip_version_words(m.group(1)))]
    if (m := _SUFFIX_GE.match(t)) and is_version_like(_strip_version_words(m.group(1))):
        return [(">=", _strip_version_words(m.group(1)))]
    if (m := _PREFIX_LT.match(t)) and is_version_like(_strip_version_words(m.group(1))):
        return [("<", _strip_version_words(m.group(1)))]
    if m := _THROUGH.match(t):
        lo, hi = _strip_version_words(m.group(1)), _strip_version_words(m.group(2))
        if is_version_like(lo) and is_version_like(hi):
            return [(">=", lo), ("<=", hi)]
    bare = _strip_version_words(t)
    if is_version_like(bare):
        return [("=", bare)]
    return f"{t!r} is neither a version nor a range"


def _intervals(constraints: list[tuple[str, str]]) -> tuple[Interval, ...] | str:
    """Fold an ordered constraint list into intervals, the way ``vers:`` reads them.

    A lower bound pairs with the next upper bound (``>= 4.0 | <= 4.6`` is one interval); a
    lone upper bound is open below; a lone lower bound is open above; bare versions are exact.
    """
    out: list[Interval] = []
    pending: tuple[str, bool] | None = None
    for op, ver in constraints:
        if op in (">=", ">"):
            if pending is not None:
                out.append(Interval(lo=pending[0], lo_inc=pending[1]))
            pending = (ver, op == ">=")
        elif op in ("<=", "<"):
            if pending is not None:
                out.append(Interval(lo=pending[0], lo_inc=pending[1], hi=ver, hi_inc=op == "<="))
                pending = None
            else:
                out.append(Interval(hi=ver, hi_inc=op == "<="))
        elif op == "=":
            if pending is not None:
                out.append(Interval(lo=pending[0], lo_inc=pending[1]))
                pending = None
            out.append(Interval(lo=ver, hi=ver))
        else:
            return f"operator {op!r} is not supported"
    if pending is not None:
        out.append(Interval(lo=pending[0], lo_inc=pending[1]))
    return tuple(out)


def _parse_vers(text: str) -> VersionSpec:
    """A ``vers:`` URI (``vers:generic/>=1.0|<2.0``, ``vers:all/*``)."""
    body = text[5:]
    scheme, _, constraints = body.partition("/")
    if not scheme or not constraints:
        return _unparseable(f"{text!r} is not a complete vers: URI")
    if constraints.strip() == "*":
        return ALL
    parsed: list[tuple[str, str]] = []
    for c in constraints.split("|"):
        c = c.strip()
        if c.startswith("!="):
            return _unparseable(f"{text!r} uses '!=', which radguard does not interpret")
        m = _OP.match(c)
        op, ver = (m.group(1), m.group(2).strip()) if m and m.group(1) else ("=", c)
        if not ver or parse_version(ver) is None:
            return _unparseable(f"{c!r} in {text!r} is not a version")
        parsed.append(("=" if op == "==" else op, ver))
    iv = _intervals(parsed)
    return _unparseable(iv) if isinstance(iv, str) else VersionSpec("ranges", iv)


@lru_cache(maxsize=8192)
def parse_range(text: str | None) -> VersionSpec:
    """Interpret the version text of one advisory product entry (see module docstring)."""
    if text is None or not text.strip():
        return _unparseable("no version text")
    t = " ".join(text.split())
    if t.lower().startswith("vers:"):
        return _parse_vers(t)
    notes: list[str] = []
    # A version text entirely in parentheses is just wrapped: "(Release 1.3.2 1.4.0)".
    if t.startswith("(") and t.endswith(")") and t.count("(") == 1:
        t = t[1:-1].strip()
    # Parenthetical remarks are notes ("(end-of-life 2011)") unless they constrain something.
    for inner in _PAREN.findall(t):
        if any(op in inner for op in ("<", ">", "|")):
            return _unparseable(f"{text!r} constrains a sub-component in parentheses")
        notes.append(inner.strip())
    t = _PAREN.sub(" ", t)
    t = " ".join(t.split())
    if _DATE.search(t) and not re.search(r"\d+\.\d+", t):
        return _unparseable(f"{text!r} is a release or manufacturing date, not a version", tuple(notes))
    if _ALL_WORDS.match(t):
        return VersionSpec("all", notes=tuple(notes))
    # Space-separated exact versions: "Release 1.3.2 1.4.0 1.4.1".
    stripped = _strip_version_words(t)
    words = stripped.split()
    if "|" not in t and len(words) > 1 and all(re.fullmatch(r"v?\d+(\.\d+)+", w, re.I) for w in words):
        return VersionSpec("ranges", tuple(Interval(lo=w.lstrip("vV"), hi=w.lstrip("vV")) for w in words),
                           notes=tuple(notes))
    pieces = re.split(r"\s*\|\s*", t)
    if len(pieces) == 1 and " and " in t.lower() and not _SUFFIX_LE.match(t) and not _SUFFIX_GE.match(t):
        pieces = re.split(r"\s+and\s+", t, flags=re.I)
    constraints: list[tuple[str, str]] = []
    for piece in pieces:
        result = _piece(piece)
        if isinstance(result, str):
            # "* running on old, unsupported operating systems": all versions under a condition.
            m = re.match(r"^(\*|all(?:\s+versions?)?)\s+(.+)$", t, re.I)
            if m and not _OP.match(m.group(2)):
                return VersionSpec("all", condition=m.group(2), notes=tuple(notes))
            return _unparseable(result, tuple(notes))
        constraints.extend(result)
    iv = _intervals(constraints)
    if isinstance(iv, str):
        return _unparseable(iv, tuple(notes))
    return VersionSpec("ranges", iv, notes=tuple(notes))
