"""The scope file: who authorized a scan, why, when, of what, and how deep.

A hospital's change board approves a scan as a change: a named person, a ticket, a time
window, the networks, and the deepest safety level allowed. Discovery refuses to start when
any of that does not hold; it never "mostly" follows a scope.

```yaml
authorized_by: Dana Whitfield, CISO
reason: CHG-20417 imaging network discovery
window: {start: 2026-11-21T20:00:00Z, end: 2026-11-22T06:00:00Z}
targets: [10.20.0.0/24, pacs.example.org:104]
exclude: [10.20.0.5]
max_level: 2
backup_paths: [/srv/pacs-backup]   # a sensor's scope: archives it may verify (optional)
```
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from radguard.discovery.targets import Resolver, Target, parse_target
from radguard.errors import InputError, SafetyError
from radguard.textfiles import parse_yaml_nodes, read_text

LEVELS = {1: "TCP connect only", 2: "association, C-ECHO, TLS and HTTP banners",
          3: "count-only queries (C-FIND, QIDO-RS)"}


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: datetime
    end: datetime

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("give a time zone, e.g. 2026-11-21T20:00:00Z or +01:00")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError("window end must be after its start")
        return self


class ScopeFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    authorized_by: str = Field(min_length=3)
    reason: str = Field(min_length=3)
    window: Window
    targets: list[str] = Field(min_length=1)
    exclude: list[str] = Field(default_factory=list)
    max_level: int = Field(ge=1, le=3)
    # A sensor's scope only: the folders whose backups (and manifests) it may read for a backup
    # verification job. Absolute paths; a job naming anything outside them is refused.
    backup_paths: list[str] = Field(default_factory=list)

    @field_validator("backup_paths")
    @classmethod
    def _absolute(cls, value: list[str]) -> list[str]:
        for p in value:
            if not Path(p).is_absolute():
                raise ValueError(f"{p!r} is not an absolute path")
        return value


@dataclass
class Scope:
    path: str
    doc: ScopeFile
    targets: list[Target]
    exclude: list[Target]

    def document(self) -> dict[str, Any]:
        return self.doc.model_dump(mode="json")


def _key_lines(node: yaml.Node | None) -> dict[str, int]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): k.start_mark.line + 1 for k, _v in node.value}


def load_scope(path: Path) -> Scope:
    """Read and validate a scope file; errors name the file, the line and the field."""
    source = str(path)
    raw, node = parse_yaml_nodes(read_text(path), source)  # the strict reader every input uses
    if not isinstance(raw, dict):
        raise InputError(source, None, None, "a scope file is a YAML mapping with authorized_by, reason, "
                                             "window, targets, max_level")
    lines = _key_lines(node)
    try:
        doc = ScopeFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        top = str(first["loc"][0]) if first["loc"] else ""
        where = f"line {lines[top]}" if top in lines else None
        raise InputError(source, where, field, first["msg"]) from None
    targets = [parse_target(t, f"{source}, targets") for t in doc.targets]
    exclude = [parse_target(t, f"{source}, exclude") for t in doc.exclude]
    return Scope(source, doc, targets, exclude)


def covered(target: Target, allowed: list[Target], resolver: Resolver) -> bool:
    """True when the scope's entries cover ``target`` by name or by address.

    A host-name target is covered by an entry with the same name, or when every address it
    resolves to is inside some entry (so its IPv4 and IPv6 addresses may sit in different
    CIDRs). An address target is covered by a CIDR/range, or by a host name resolving to it.
    """
    if any(entry.covers(target, resolver) for entry in allowed):
        return True
    if target.hostname is None:
        return False
    addresses = resolver.addresses(target.hostname)
    return bool(addresses) and all(
        any(entry.allows_port(target.port) and entry.includes_address(address, resolver) for entry in allowed)
        for address in addresses)


def authorize(scope: Scope | None, level: int, targets: list[Target], now: datetime,
              resolver: Resolver | None = None) -> None:
    """Refuse (SafetyError) unless this scan is inside what the scope allows."""
    if level not in LEVELS:
        raise SafetyError(f"--level {level} does not exist; use 1 ({LEVELS[1]}), 2 ({LEVELS[2]}) or 3 ({LEVELS[3]})")
    if scope is None:
        if level >= 3:
            raise SafetyError("level 3 sends count-only queries to clinical systems; it needs --scope FILE "
                              "naming who authorized it (authorized_by, reason, window, targets, max_level)")
        return
    doc = scope.doc
    if now < doc.window.start:
        raise SafetyError(f"{scope.path}: the authorized window opens at {doc.window.start.isoformat()} "
                          f"and it is now {now.isoformat(timespec='seconds')}; discovery refuses to start early")
    if now > doc.window.end:
        raise SafetyError(f"{scope.path}: the authorized window closed at {doc.window.end.isoformat()} "
                          f"and it is now {now.isoformat(timespec='seconds')}; ask for a new window")
    if level > doc.max_level:
        raise SafetyError(f"{scope.path}: --level {level} is above max_level {doc.max_level} "
                          f"({LEVELS[doc.max_level]}); lower --level or get the scope changed")
    resolver = resolver or Resolver()
    for target in targets:
        if not covered(target, scope.targets, resolver):
            unresolved = target.hostname is not None and not resolver.addresses(target.hostname)
            raise SafetyError(f"{scope.path}: target {target.spec!r} is not covered by the scope's targets "
                              f"({', '.join(doc.targets)})"
                              f"{' and its host name does not resolve' if unresolved else ''}; "
                              "remove it or get the scope changed")
