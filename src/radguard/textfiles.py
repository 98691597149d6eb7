"""Reading the text files people hand to radguard: one place for decoding and parse errors.

Inventories, vendor lists, checklists, training exports and SBOMs arrive from spreadsheets,
learning-management systems and vendor portals. Some are saved as Latin-1 or UTF-16, some are
truncated, some are not the syntax their name says. Every importer goes through these
functions so that each of those cases becomes an :class:`~radguard.errors.InputError` naming
the file and the line (never a traceback), with the same wording whichever command read it.

Decoding rules: UTF-8, with or without a byte-order mark; UTF-16 when the file starts with a
UTF-16 byte-order mark (Windows tools and some LMS exports write that); anything else is
refused with the line of the first byte that is not UTF-8, because guessing a legacy code page
would silently corrupt names.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import yaml

from radguard.errors import InputError

NOT_UTF8 = "not UTF-8 text; save the file as UTF-8"


def sniff_encoding(head: bytes) -> str:
    """The codec for a file starting with ``head`` (its first 4+ bytes), for streaming large files."""
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not head.startswith(codecs.BOM_UTF32_LE):
        return "utf-16"
    return "utf-8-sig"


def decode_text(data: bytes, source: str) -> str:
    """Decode file contents by the rules above; ``source`` names the file in errors."""
    if sniff_encoding(data[:4]) == "utf-16":
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(source, None, None, "the UTF-16 text is damaged (cut short?); "
                                                 "save the file again as UTF-8") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(source, f"line {line}", None, NOT_UTF8) from None


def read_bytes(path: Path) -> bytes:
    """The file's bytes; a missing, unreadable or empty file is an InputError."""
    source = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(source, None, None, "file not found") from None
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


def yaml_error(source: str, exc: yaml.YAMLError) -> InputError:
    """The InputError for a YAML syntax error, with the line and column PyYAML marked."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)  # e.g. "while scanning a quoted scalar"
    return InputError(source, where, None, f"not valid YAML: {context + ', ' if context else ''}{problem}")


def parse_yaml_nodes(text: str, source: str) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document into data and its node tree (for mapping paths back to lines).

    The document is parsed once; the data is constructed from the same nodes, so the two always
    agree. Multiple documents in one file are refused.
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise yaml_error(source, exc) from None
    finally:
        loader.dispose()
    return data, node


def parse_yaml(text: str, source: str) -> Any:
    """Parse one YAML document (safe loader); syntax errors name the line and column."""
    return parse_yaml_nodes(text, source)[0]


def load_yaml(path: Path) -> Any:
    """Read and parse a YAML file (never empty; see :func:`read_text`)."""
    return parse_yaml(read_text(path), str(path))


def parse_json(text: str, source: str) -> Any:
    """Parse a JSON document; syntax errors name the line and column."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(source, f"line {exc.lineno}, column {exc.colno}", None,
                         f"not valid JSON: {exc.msg}") from None


def load_json(path: Path) -> Any:
    """Read and parse a JSON file (never empty; see :func:`read_text`)."""
    return parse_json(read_text(path), str(path))
