"""Reading the files people hand to radguard: one strict layer for decoding, syntax and size.

Inventories, vendor lists, checklists, training exports, SBOMs, scope and settings files arrive
from spreadsheets, learning-management systems and vendor portals. Some are saved as Latin-1 or
UTF-16, some are truncated, some are not the syntax their name says, and some are hostile.
Every importer goes through these functions so that each of those cases becomes an
:class:`~radguard.errors.InputError` naming the file and the line, column, row or JSON path
(never a traceback), with the same wording whichever command read it.

Decoding rules: UTF-8, with or without a byte-order mark; UTF-16 when the file starts with a
UTF-16 byte-order mark (Windows tools and some LMS exports write that); anything else is
refused with the line of the first byte that is not UTF-8, because guessing a legacy code page
would silently corrupt names. A NUL character is refused wherever it is: no text format
radguard reads has a use for one, and databases and reports truncate at it.

Structure rules (the same for every importer): JSON and YAML are nested at most
:attr:`Limits.depth` levels; a key appears once per object; ``NaN``/``Infinity`` (``.nan``,
``.inf`` in YAML) and integers beyond 64 bits are refused, because the database cannot store
them and radguard's own exports must read back; one text value holds at most
:attr:`Limits.field_chars` characters. CSV rows have exactly as many cells as the header, the
header names each column once, and an unterminated quoted cell is an error rather than the
rest of the file swallowed into one cell. Sizes are bounded before anything is parsed; the
bounds are documented in docs/input-limits.md and can be changed with ``RADGUARD_LIMIT_*``
environment variables.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import json
import math
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from json import decoder as json_decoder
from json import scanner as json_scanner
from pathlib import Path
from typing import Any

import yaml

from radguard.errors import ConfigError, InputError

NOT_UTF8 = "not UTF-8 text; save the file as UTF-8"
NUL_REFUSED = "holds a NUL character (a binary or damaged file?); save it again as text"
_INT64 = 2**63


@dataclass(frozen=True)
class Limits:
    """Bounds on what one input file may hold; each is checked before or while parsing.

    Every field can be changed with the environment variable ``RADGUARD_LIMIT_<NAME>`` (for
    example ``RADGUARD_LIMIT_FILE_BYTES=200000000``); docs/input-limits.md lists them.
    """

    file_bytes: int = 64 * 1024 * 1024
    """A file read whole (YAML, JSON other than the inventory, CSV other than the inventory)."""
    stream_bytes: int = 1024 * 1024 * 1024
    """An inventory CSV or JSON file, which is streamed rather than read whole."""
    field_chars: int = 1024 * 1024
    """One text value: a CSV cell, a JSON or YAML string."""
    depth: int = 64
    """Nesting of JSON arrays/objects and YAML sequences/mappings."""
    yaml_nodes: int = 2_000_000
    """Values in a YAML document after aliases are expanded (a "billion laughs" file)."""
    zip_entries: int = 1000
    """Members of an xlsx (zip) file."""
    zip_bytes: int = 64 * 1024 * 1024
    """Uncompressed size of all members of an xlsx (zip) file together."""
    zip_ratio: int = 200
    """Largest uncompressed/compressed ratio of one member (zip bombs compress 1000:1 and more)."""
    sheet_rows: int = 10_000
    """Rows of one spreadsheet sheet."""
    sheet_columns: int = 64
    """Columns of one spreadsheet sheet."""


def limits() -> Limits:
    """The limits in force: the defaults, each overridable by ``RADGUARD_LIMIT_<NAME>``."""
    values: dict[str, int] = {}
    for f in fields(Limits):
        env = f"RADGUARD_LIMIT_{f.name.upper()}"
        raw = os.environ.get(env)
        if raw is None:
            continue
        try:
            value = int(raw.replace("_", ""))
        except ValueError:
            raise ConfigError(f"{env}={raw!r} is not a whole number") from None
        if value < 1:
            raise ConfigError(f"{env}={raw!r} must be at least 1")
        values[f.name] = value
    return Limits(**values)


def line_of(text: str, index: int) -> int:
    """1-based line of character ``index`` in ``text``."""
    return text.count("\n", 0, index) + 1


def _where(text: str, index: int) -> str:
    line = line_of(text, index)
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}"


def sniff_encoding(head: bytes) -> str:
    """The codec for a file starting with ``head`` (its first 4+ bytes), for streaming large files."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not head.startswith(codecs.BOM_UTF32_LE):
        return "utf-16"
    return "utf-8-sig"


def decode_text(data: bytes, source: str) -> str:
    """Decode file contents by the rules above; ``source`` names the file in errors."""
    if sniff_encoding(data[:4]) == "utf-16":
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(source, None, None, "the UTF-16 text is damaged (cut short?); "
                                                 "save the file again as UTF-8") from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise InputError(source, f"line {line}", None, NOT_UTF8) from None
    nul = text.find("\x00")
    if nul >= 0:
        raise InputError(source, f"line {line_of(text, nul)}", None, NUL_REFUSED)
    return text


def check_size(path: Path, limit: int | None = None) -> int:
    """The file's size in bytes; a missing file, a directory or one over ``limit`` is an InputError."""
    source = str(path)
    limit = limits().file_bytes if limit is None else limit
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(source, None, None, "file not found") from None
    except OSError as exc:
        raise InputError(source, None, None, f"cannot read the file ({exc.strerror or exc})") from None
    if path.is_dir():
        raise InputError(source, None, None, "is a directory; give a file")
    if size > limit:
        raise InputError(source, None, None,
                         f"the file is {size:,} bytes, more than the {limit:,} radguard reads "
                         "(see docs/input-limits.md to raise the limit)")
    return size


def read_bytes(path: Path, limit: int | None = None) -> bytes:
    """The file's bytes; a missing, unreadable, empty or too large file is an InputError.

    ``limit`` defaults to :attr:`Limits.file_bytes`; the size is checked before reading.
    """
    source = str(path)
    check_size(path, limit)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise InputError(source, None, None, "is a directory; give a file") from None
    except OSError as exc:
        raise InputError(source, None, None, f"cannot read the file ({exc.strerror or exc})") from None
    if not data.strip():
        raise InputError(source, None, None, "the file is empty")
    return data


def read_text(path: Path) -> str:
    """The file as text (see the module's decoding rules); never empty."""
    text = decode_text(read_bytes(path), str(path))
    if not text.strip():
        raise InputError(str(path), None, None, "the file is empty")
    return text


def stream_lines(path: Path) -> Iterator[str]:
    """The file's lines, decoded as :func:`decode_text` does, without reading it whole.

    For the inventory CSV, which may hold 100,000 assets. Errors name the line of the bad
    byte; the size is bounded by :attr:`Limits.stream_bytes`.
    """
    source = str(path)
    check_size(path, limits().stream_bytes)
    with path.open("rb") as fh:
        head = fh.read(4)
        fh.seek(0)
        if sniff_encoding(head) == "utf-16":  # rare and small: decode whole
            yield from decode_text(fh.read(), source).splitlines(keepends=True)
            return
        for number, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError:
                raise InputError(source, f"line {number}", None, NOT_UTF8) from None
            if "\x00" in line:
                raise InputError(source, f"line {number}", None, NUL_REFUSED)
            yield line


# --- YAML ---------------------------------------------------------------------------------

class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark | None) -> None:
        self.mark = mark


class _StrictLoader(yaml.SafeLoader):
    """The safe loader, refusing nesting deeper than the limit while it composes."""

    max_depth = 64
    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _mark(mark: yaml.Mark | None) -> str | None:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else None


def yaml_error(source: str, exc: yaml.YAMLError) -> InputError:
    """The InputError for a YAML syntax error, with the line and column PyYAML marked."""
    if isinstance(exc, yaml.reader.ReaderError):
        return InputError(source, None, None, f"not valid YAML: {exc.reason} (character {exc.character!r})")
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)  # e.g. "while scanning a quoted scalar"
    return InputError(source, _mark(mark), None, f"not valid YAML: {context + ', ' if context else ''}{problem}")


_YAML_FLOAT_SPECIAL = re.compile(r"^[-+]?\.(inf|nan)$", re.IGNORECASE)


def _check_yaml_nodes(root: yaml.Node, source: str, lim: Limits) -> None:
    """Duplicate keys, non-finite numbers, huge integers, long strings and alias blow-up."""
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            children = ([v for pair in node.value for v in pair] if isinstance(node, yaml.MappingNode)
                        else node.value)
            sizes[key] = 1 + sum(sizes.get(id(c), 1) for c in children)
            if sizes[key] > lim.yaml_nodes:
                raise InputError(source, _mark(node.start_mark), None,
                                 f"the document expands to more than {lim.yaml_nodes:,} values "
                                 "(aliases repeated too often)")
            continue
        if key in sizes:
            continue
        if isinstance(node, yaml.ScalarNode):
            sizes[key] = 1
            value = node.value
            if len(value) > lim.field_chars:
                raise InputError(source, _mark(node.start_mark), None,
                                 f"a value of {len(value):,} characters; at most {lim.field_chars:,} are read")
            if "\x00" in value:
                raise InputError(source, _mark(node.start_mark), None, "holds a NUL character")
            if node.tag == "tag:yaml.org,2002:float" and _YAML_FLOAT_SPECIAL.match(value):
                raise InputError(source, _mark(node.start_mark), None,
                                 f"{value!r} is not a finite number; give a number")
            if node.tag == "tag:yaml.org,2002:int":
                digits = value.lstrip("+-").replace("_", "")
                if len(digits) > 18 and digits.isdigit() and abs(int(digits)) >= _INT64:
                    raise InputError(source, _mark(node.start_mark), None,
                                     f"the number {value} is too large (at most 19 digits)")
            continue
        stack.append((node, True))
        if isinstance(node, yaml.MappingNode):
            seen: dict[tuple[str, str], yaml.Node] = {}
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    ident = (k.tag, k.value)
                    if ident in seen:
                        first = seen[ident].start_mark.line + 1
                        raise InputError(source, _mark(k.start_mark), k.value,
                                         f"the key appears twice in one mapping (first on line {first})")
                    seen[ident] = k
                stack.append((k, False))
                stack.append((v, False))
        else:
            stack.extend((c, False) for c in node.value)


_C_LOADER: Any = getattr(yaml, "CSafeLoader", None)
_OPEN = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_LEAF = (yaml.ScalarEvent, yaml.AliasEvent)


class _NotFast(Exception):
    """The fast path gives up; the strict pure-Python path then runs and names the error."""


def _compose_fast(text: str, max_depth: int) -> yaml.Node | None:
    """Compose with libyaml (several times faster than PyYAML's reader and composer in Python).

    libyaml's composer recurses in C, so the nesting is measured first on its event stream (also
    C-speed) exactly as the strict loader counts it: the root is level 1, each node one level
    deeper than the collection holding it. Anything the fast path cannot take — too deep, any
    syntax or reader error — raises :class:`_NotFast`, and the caller runs the strict path, so
    every refusal keeps the strict path's wording, line and column.
    """
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_C_LOADER):
            if isinstance(event, _OPEN):
                depth += 1
                if depth > max_depth:
                    raise _NotFast
            elif isinstance(event, _CLOSE):
                depth -= 1
            elif isinstance(event, _LEAF) and depth + 1 > max_depth:
                raise _NotFast
        loader = _C_LOADER(text)
        try:
            node: yaml.Node | None = loader.get_single_node()
        finally:
            loader.dispose()
    except (yaml.YAMLError, RecursionError):
        raise _NotFast from None
    return node


def parse_yaml_nodes(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document into data and its node tree (for mapping paths back to lines).

    The document is parsed once; the data is constructed from the same nodes, so the two always
    agree. Multiple documents in one file, and everything the module's structure rules refuse,
    are InputErrors with the line and column. With libyaml installed (Debian's python3-yaml and
    the PyYAML wheels have it) a document is composed in C; a document it refuses is parsed again
    by the strict pure-Python loader, whose error is the one raised.
    """
    lim = limits()
    nul = text.find("\x00")
    if nul >= 0:
        raise InputError(source, f"line {line_of(text, nul)}", None, NUL_REFUSED)
    if _C_LOADER is not None:
        try:
            node = _compose_fast(text, lim.depth)
        except _NotFast:
            pass
        else:
            if node is None:
                return None, None
            _check_yaml_nodes(node, source, lim)
            constructor = yaml.SafeLoader("")  # the same constructor the strict loader uses
            try:
                return constructor.construct_document(node), node
            except yaml.YAMLError as exc:
                raise yaml_error(source, exc) from None
            finally:
                constructor.dispose()
    return _parse_strict(text, source, lim)


def _parse_strict(text: str, source: str, lim: Limits) -> tuple[Any, yaml.Node | None]:
    """PyYAML's safe loader in Python, with the nesting bounded while it composes."""
    try:
        loader = _StrictLoader(text)  # PyYAML's reader refuses control characters here, before parsing
    except yaml.reader.ReaderError as exc:
        raise InputError(source, f"line {line_of(text, exc.position)}", None,
                         f"not valid YAML: {exc.reason} (character {exc.character!r})") from None
    loader.max_depth = lim.depth
    try:
        node = loader.get_single_node()
        if node is not None:
            _check_yaml_nodes(node, source, lim)
        data = loader.construct_document(node) if node is not None else None
    except _TooDeep as exc:
        raise InputError(source, _mark(exc.mark), None,
                         f"nested more than {lim.depth} levels deep") from None
    except RecursionError:
        raise InputError(source, _mark(loader.get_mark()), None,
                         f"nested more than {lim.depth} levels deep") from None
    except yaml.YAMLError as exc:
        raise yaml_error(source, exc) from None
    finally:
        loader.dispose()
    return data, node


def node_line(node: yaml.Node | None, loc: Iterable[str | int]) -> int | None:
    """1-based line where the value at path ``loc`` starts in a composed YAML document (or its
    nearest existing parent); for naming the line of a validation error."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    child, line = value, key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def validation_input_error(source: str, node: yaml.Node | None, exc: Any) -> InputError:
    """A pydantic ``ValidationError`` on a YAML document as an InputError naming the file, the
    line and the field by its path in the file (``zones.0.ranges.0``), not by pydantic's internal
    validator names (``lax-or-strict[...]``, ``function-after[...]``), which people cannot act on.

    :param source: the file's name, as shown.
    :param node: the document's node tree from :func:`parse_yaml_nodes` (None: no line named).
    :param exc: the ``pydantic.ValidationError`` raised validating that document.
    """
    err = exc.errors()[0]
    loc = [p for p in err["loc"] if isinstance(p, int) or "[" not in p]  # "[key]", "lax-or-strict[...]"
    line = node_line(node, loc) if node is not None else None
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err.get("type") == "extra_forbidden":
        msg = "unknown name; check the spelling against the documentation"
    return InputError(source, f"line {line}" if line else None, ".".join(str(p) for p in loc) or None, msg)


def parse_yaml(text: str, source: str) -> Any:
    """Parse one YAML document (safe loader); syntax errors name the line and column."""
    return parse_yaml_nodes(text, source)[0]


def load_yaml(path: Path) -> Any:
    """Read and parse a YAML file (never empty; see :func:`read_text`)."""
    return parse_yaml(read_text(path), str(path))


# --- JSON ---------------------------------------------------------------------------------

class _Refused(Exception):
    """Raised from inside the JSON decoder's hooks; located afterwards."""

    def __init__(self, kind: str, token: str) -> None:
        self.kind = kind
        self.token = token


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Refused("duplicate", key)
        out[key] = value
    return out


def _constant(name: str) -> Any:
    raise _Refused("constant", name)


def _int(text: str) -> int:
    value = int(text)
    if abs(value) >= _INT64:
        raise _Refused("int", text)
    return value


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused("float", text)
    return value


_STRICT_JSON = json.JSONDecoder(object_pairs_hook=_pairs_hook, parse_constant=_constant,
                                parse_int=_int, parse_float=_float)
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def _blank_strings(text: str) -> str:
    """``text`` with the contents of every JSON string blanked, positions kept."""
    return _JSON_STRING.sub(lambda m: '"' + " " * (len(m.group()) - 2) + '"', text)


def _locate_duplicate(text: str, key: str) -> str | None:
    """Where the object holding ``key`` twice starts, by a second (pure Python) parse."""
    found: list[int] = []

    def parse_object(s_and_end: tuple[str, int], strict: bool, scan_once: Any, object_hook: Any,
                     object_pairs_hook: Any, memo: Any = None, *rest: Any) -> Any:
        def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            keys = [k for k, _ in pairs]
            if len(set(keys)) != len(keys):
                found.append(s_and_end[1] - 1)
                raise _Refused("duplicate", key)
            return dict(pairs)
        parse = json_decoder.JSONObject  # type: ignore[attr-defined]
        return parse(s_and_end, strict, scan_once, object_hook, hook, memo)

    dec = json.JSONDecoder(object_pairs_hook=dict)
    dec.parse_object = parse_object  # type: ignore[attr-defined]
    dec.scan_once = json_scanner.py_make_scanner(dec)  # type: ignore[attr-defined]
    with contextlib.suppress(_Refused, RecursionError, ValueError):
        dec.decode(text)
    return _where(text, found[0]) if found else None


def _locate_token(text: str, token: str) -> str | None:
    blanked = _blank_strings(text)
    m = re.search(r"(?<![\w.+-])" + re.escape(token) + r"(?![\w.+-])", blanked)
    return _where(text, m.start()) if m else None


def _locate_depth(text: str, depth: int) -> str | None:
    level = 0
    for m in re.finditer(r"[\[\]{}]", _blank_strings(text)):
        level += 1 if m.group() in "[{" else -1
        if level > depth:
            return _where(text, m.start())
    return None


def _json_path(path: list[str | int]) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (
            f".{part}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part) else f"[{json.dumps(part)}]")
    return out


def check_values(value: Any, source: str, lim: Limits | None = None) -> None:
    """Depth, string length and NUL characters of parsed JSON data, with the JSON path."""
    lim = lim or limits()
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if len(path) > lim.depth:
            raise InputError(source, _json_path(path[:6]) + "…", None,
                             f"nested more than {lim.depth} levels deep")
        if isinstance(item, str):
            if len(item) > lim.field_chars:
                raise InputError(source, _json_path(path), None,
                                 f"a value of {len(item):,} characters; at most {lim.field_chars:,} are read")
            if "\x00" in item:
                raise InputError(source, _json_path(path), None, "holds a NUL character")
        elif isinstance(item, dict):
            for k, v in item.items():
                if len(k) > lim.field_chars or "\x00" in k:
                    raise InputError(source, _json_path(path), None, "a key is too long or holds a NUL character")
                stack.append((v, [*path, k]))
        elif isinstance(item, list):
            stack.extend((v, [*path, i]) for i, v in enumerate(item))


def parse_json(text: str, source: str) -> Any:
    """Parse a JSON document by the module's structure rules; errors name the line and column.

    Errors found after parsing (depth, a long or NUL-holding value) name the JSON path.
    """
    lim = limits()
    try:
        value = _STRICT_JSON.decode(text)
    except json.JSONDecodeError as exc:
        raise InputError(source, f"line {exc.lineno}, column {exc.colno}", None,
                         f"not valid JSON: {exc.msg}") from None
    except RecursionError:
        raise InputError(source, _locate_depth(text, lim.depth), None,
                         f"nested more than {lim.depth} levels deep") from None
    except _Refused as exc:
        if exc.kind == "duplicate":
            raise InputError(source, _locate_duplicate(text, exc.token), exc.token,
                             "the key appears twice in one object") from None
        where = _locate_token(text, exc.token)
        if exc.kind == "int":
            raise InputError(source, where, None, f"the number {exc.token} is too large (at most 19 digits)") from None
        raise InputError(source, where, None, f"{exc.token} is not a finite number; give a number") from None
    check_values(value, source, lim)
    return value


def load_json(path: Path) -> Any:
    """Read and parse a JSON file (never empty; see :func:`read_text`)."""
    return parse_json(read_text(path), str(path))


# --- CSV ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class CsvRow:
    """One data row: its 1-based number (the header is not counted), the line it starts on, its cells."""

    number: int
    line: int
    cells: dict[str, str]

    @property
    def location(self) -> str:
        """``row 3 (line 4)``: what errors about this row say."""
        return f"row {self.number} (line {self.line})"


@dataclass
class CsvTable:
    """A CSV file's header and a stream of its rows, each checked against the header."""

    source: str
    header: list[str]
    header_line: int
    rows: Iterator[CsvRow]


def csv_records(lines: Iterable[str], source: str, dialect: Any = csv.excel) -> Iterator[tuple[int, list[str]]]:
    """(line it starts on, cells) for each non-blank record of CSV text, read strictly.

    An unterminated quoted cell and a cell longer than :attr:`Limits.field_chars` are
    InputErrors naming the line; blank lines are skipped.
    """
    lim = limits()
    csv.field_size_limit(lim.field_chars)
    reader = csv.reader(lines, dialect, strict=True)
    last_line = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            message = str(exc)
            if "field larger than field limit" in message:
                problem = f"a cell longer than {lim.field_chars:,} characters"
            elif "unexpected end of data" in message or "EOF" in message:
                problem = "a quoted cell is not closed (a missing \" ?)"
            else:
                problem = f"malformed CSV: {message}"
            raise InputError(source, f"line {last_line + 1}", None, problem) from None
        start, last_line = last_line + 1, reader.line_num
        if len(record) > 1 or (record and record[0].strip()):
            yield start, record


def sniff_dialect(text: str) -> Any:
    """The CSV dialect of an export whose separator may be ``,``, ``;`` or a tab."""
    sample = text[:4096]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t") if sample else csv.excel
    except csv.Error:
        return csv.excel


def read_csv(lines: Iterable[str], source: str, dialect: Any = csv.excel) -> CsvTable:
    """The header and rows of CSV text, read strictly.

    ``lines`` are text lines with their line endings (``text.splitlines(keepends=True)`` or
    :func:`stream_lines`). The header's cells are stripped; a header naming one column twice
    (ignoring case), a row with fewer or more cells than the header, an unterminated quoted
    cell and a cell longer than :attr:`Limits.field_chars` are InputErrors naming the row and
    line. Blank lines are skipped. The rows are read as the iterator is consumed.
    """
    records = csv_records(lines, source, dialect)

    def next_record() -> tuple[int, list[str]] | None:
        return next(records, None)

    first = next_record()
    if first is None:
        raise InputError(source, None, None, "the file has no header row")
    header_line, raw_header = first
    header = [h.strip() for h in raw_header]
    seen: dict[str, int] = {}
    for index, name in enumerate(header):
        if not name:
            if index == len(header) - 1 and index > 0:
                continue  # a trailing separator, as some spreadsheets write: checked per row below
            raise InputError(source, f"line {header_line}", None, f"column {index + 1} of the header has no name")
        if name.lower() in seen:
            raise InputError(source, f"line {header_line}", name, "the header names this column twice")
        seen[name.lower()] = index

    def rows() -> Iterator[CsvRow]:
        number = 0
        while (record := next_record()) is not None:
            line, cells = record
            number += 1
            if len(cells) != len(header):
                what = "fewer" if len(cells) < len(header) else "more"
                raise InputError(source, f"row {number} (line {line})", None,
                                 f"the row has {len(cells)} cells, {what} than the {len(header)} columns of "
                                 "the header (a row cut short or a stray separator?); nothing was imported")
            if not header[-1] and cells[-1].strip():
                raise InputError(source, f"row {number} (line {line})", None,
                                 f"column {len(header)} has a value but no name in the header")
            yield CsvRow(number, line, {name: cell for name, cell in zip(header, cells, strict=True) if name})

    return CsvTable(source, [h for h in header if h], header_line, rows())


# --- streamed JSON (the inventory) ----------------------------------------------------------

class _Utf8Stream:
    """Bytes for a streaming JSON parser from a UTF-8 file (BOM skipped) or a UTF-16 one."""

    def __init__(self, fh: Any) -> None:
        head = fh.read(4)
        fh.seek(0)
        self._text: Any = None
        if sniff_encoding(head) == "utf-16":
            import io

            self._text = io.TextIOWrapper(fh, encoding="utf-16")
        elif head.startswith(codecs.BOM_UTF8):
            fh.seek(len(codecs.BOM_UTF8))
        self._fh = fh

    def read(self, size: int = -1) -> bytes:
        if self._text is not None:
            try:
                return self._text.read(size).encode("utf-8")
            except UnicodeDecodeError:
                raise ValueError("the UTF-16 text is damaged") from None
        return self._fh.read(size)


class JsonEvents:
    """ijson's events of one file, checked by the module's structure rules as they stream.

    Tracks the JSON path of the current value (for error locations), refuses nesting deeper
    than :attr:`Limits.depth` before the parser builds anything deeper, a key twice in one
    object, a string longer than :attr:`Limits.field_chars` and integers beyond 64 bits.
    """

    def __init__(self, path: Path) -> None:
        self.source = str(path)
        self.lim = limits()
        check_size(path, self.lim.stream_bytes)
        self._stack: list[list[Any]] = []  # [key or index, keys seen (maps only)]

    def path(self) -> str:
        """The JSON path of the value being read (``$.assets[3].name``)."""
        return _json_path([entry[0] for entry in self._stack if entry[0] is not None])

    def error(self, problem: str) -> InputError:
        return InputError(self.source, self.path(), None, problem)

    def events(self) -> Iterator[tuple[str, str, Any]]:
        """(prefix, event, value) as ijson gives them; parse errors located at the path reached."""
        import ijson

        self._prescan()
        with Path(self.source).open("rb") as fh:
            try:
                for prefix, event, value in ijson.parse(_Utf8Stream(fh), use_float=True):
                    self._check(event, value)
                    yield prefix, event, value
            except ijson.JSONError as exc:
                text = str(exc).splitlines()[0] if str(exc) else "malformed"
                if "overflow" in text:
                    problem = f"a number too large to store ({text})"
                elif "invalid char" in text:
                    problem = f"not valid JSON ({text}; NaN and Infinity are not JSON)"
                else:
                    problem = f"the JSON is truncated or malformed ({text})"
                raise InputError(self.source, f"after {self.path()}", None, problem) from None
            except UnicodeDecodeError:
                raise InputError(self.source, f"after {self.path()}", None, NOT_UTF8) from None
            except ValueError as exc:
                raise InputError(self.source, f"after {self.path()}", None, str(exc)) from None

    def _prescan(self) -> None:
        """Invalid UTF-8 and NUL bytes with their line (the streaming parser knows no lines).

        One pass of C-speed decoding in 1 MiB chunks; memory stays flat. UTF-16 files are
        checked by their decoder instead.
        """
        with Path(self.source).open("rb") as fh:
            head = fh.read(4)
            if sniff_encoding(head) == "utf-16":
                return
            fh.seek(0)
            lines, carry = 0, b""
            while True:
                chunk = fh.read(1024 * 1024)
                data = carry + chunk
                carry = b""
                bad = data.find(b"\x00")
                problem = NUL_REFUSED
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    if chunk and exc.reason == "unexpected end of data" and exc.start >= len(data) - 3:
                        carry, data = data[exc.start:], data[:exc.start]  # a character split by the chunk
                    elif bad < 0 or exc.start < bad:
                        bad, problem = exc.start, NOT_UTF8
                if bad >= 0:
                    newline = b"\n"
                    raise InputError(self.source, f"line {lines + data.count(newline, 0, bad) + 1}", None, problem)
                if not chunk:
                    return
                lines += data.count(b"\n")

    def _check(self, event: str, value: Any) -> None:
        stack = self._stack
        if event in ("end_map", "end_array"):
            stack.pop()
            return
        if event == "map_key":
            top = stack[-1]
            if value in top[1]:
                top[0] = value
                raise InputError(self.source, self.path(), value, "the key appears twice in one object")
            top[1].add(value)
            top[0] = value
            if len(value) > self.lim.field_chars:
                raise self.error("a key is too long")
            return
        if stack and stack[-1][1] is None:  # an array: this value is its next item
            stack[-1][0] += 1
        if event in ("start_map", "start_array"):
            if len(stack) >= self.lim.depth:
                raise self.error(f"nested more than {self.lim.depth} levels deep")
            stack.append([None, set()] if event == "start_map" else [-1, None])
        elif event == "string":
            if len(value) > self.lim.field_chars:
                raise self.error(f"a value of {len(value):,} characters; at most {self.lim.field_chars:,} are read")
            if "\x00" in value:
                raise self.error("holds a NUL character")
        elif event == "number" and isinstance(value, int) and abs(value) >= _INT64:
            raise self.error(f"the number {value} is too large (at most 19 digits)")
