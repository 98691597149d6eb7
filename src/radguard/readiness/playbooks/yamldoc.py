"""Reading readiness YAML documents (team, services, drills, the playbook catalog).

These files are written by hand, often under time pressure after an exercise, so every error
names the file, the path inside it (``roles[2].primary``) and the line, and says what to do.
The YAML is composed once into nodes so that a pydantic error location can be mapped back to
the line a person would open in an editor.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from radguard.errors import InputError
from radguard.textfiles import node_line, parse_yaml_nodes, read_text
from radguard.validate import implausible

M = TypeVar("M", bound=BaseModel)


class YamlDoc:
    """A parsed YAML file that can say on which line any path of it starts."""

    def __init__(self, source: str, text: str) -> None:
        self.source = source
        self.data: Any
        self.data, self.node = parse_yaml_nodes(text, source)
        if not isinstance(self.data, dict):
            raise InputError(source, None, None, "expected a YAML mapping at the top level")

    @classmethod
    def read(cls, path: Path) -> YamlDoc:
        return cls(str(path), read_text(path))

    def line_of(self, loc: Sequence[str | int]) -> int | None:
        """1-based line where the value at ``loc`` starts (or its nearest existing parent)."""
        return node_line(self.node, loc)

    def error(self, loc: Sequence[str | int], problem: str) -> InputError:
        line = self.line_of(loc)
        return InputError(self.source, f"line {line}" if line else None, dotted(loc) or None, problem)

    def validate(self, model: type[M], data: Any = None, prefix: Sequence[str | int] = ()) -> M:
        """Validate ``data`` (default: the whole document) and report the first error by path."""
        try:
            result = model.model_validate(self.data if data is None else data)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = [*prefix, *err.get("loc", ())]
            raise self.error(loc, describe(err)) from None
        bad = implausible(result)  # non-finite numbers, 64-bit overflow, dates no record holds
        if bad is not None:
            raise self.error([*prefix, *bad[0]], bad[1])
        return result


def dotted(loc: Sequence[str | int]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe(err: Any) -> str:
    kind = err.get("type")
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field; check the spelling against docs/response.md"
    if kind in ("enum", "literal_error"):
        return f"{err.get('input')!r} is not allowed; expected {err.get('ctx', {}).get('expected', '')}"
    msg = str(err.get("msg", "invalid value"))
    return msg.removeprefix("Value error, ")
