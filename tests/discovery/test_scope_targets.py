"""Scope files, target parsing and the refusals a change board relies on."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from radguard.discovery.scope import authorize, load_scope
from radguard.discovery.targets import Exclusions, parse_ports, parse_target
from radguard.errors import InputError, SafetyError

SCOPE = """\
authorized_by: Dana Whitfield, CISO
reason: CHG-20417 imaging discovery
window:
  start: 2026-01-01T20:00:00Z
  end: 2026-01-02T06:00:00+00:00
targets: [127.0.0.0/24, 127.0.1.5:104]
exclude: [127.0.0.9]
max_level: 2
"""
INSIDE = datetime(2026, 1, 1, 23, 0, tzinfo=UTC)


def _scope(tmp_path: Path, text: str = SCOPE) -> Path:
    path = tmp_path / "scope.yaml"
    path.write_text(text)
    return path


def test_targets_parse() -> None:
    assert list(parse_target("127.0.0.0/30").hosts()) == ["127.0.0.1", "127.0.0.2"]
    assert list(parse_target("127.0.0.7/32").hosts()) == ["127.0.0.7"]
    t = parse_target("127.0.0.1-3")
    assert list(t.hosts()) == ["127.0.0.1", "127.0.0.2", "127.0.0.3"] and t.port is None
    assert parse_target("127.0.0.250-127.0.1.2").size == 9
    hp = parse_target("pacs.example.org:11112")
    assert (hp.hostname, hp.port) == ("pacs.example.org", 11112)
    assert parse_target("127.0.0.5:104").port == 104
    assert parse_ports("104,11112,8000-8002,104") == (104, 11112, 8000, 8001, 8002)


@pytest.mark.parametrize("bad, message", [
    ("127.0.0.1:99999", "port '99999'"),
    ("127.0.0.9-3", "ends before it starts"),
    ("10.0.0.0/8", "split it"),
    ("300.1.1.1", "not a valid address"),
    ("bad host!", "not a host name"),
])
def test_bad_targets_say_what_is_wrong(bad: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_target(bad)


def test_exclusions() -> None:
    ex = Exclusions()
    ex.add(parse_target("127.0.0.8/29"), "net")
    ex.add(parse_target("127.0.1.1:104"), "one port")
    assert ex.reason("127.0.0.9", 11112) == "net"
    assert ex.reason("127.0.1.1", 104) == "one port" and ex.reason("127.0.1.1", 11112) is None


def test_scope_inside_window_allows(tmp_path: Path) -> None:
    scope = load_scope(_scope(tmp_path))
    authorize(scope, 2, [parse_target("127.0.0.16/28"), parse_target("127.0.1.5:104")], INSIDE)
    assert scope.doc.authorized_by == "Dana Whitfield, CISO"


def test_scope_refusals(tmp_path: Path) -> None:
    scope = load_scope(_scope(tmp_path))
    target = [parse_target("127.0.0.5")]
    with pytest.raises(SafetyError, match="opens at 2026-01-01T20:00:00"):
        authorize(scope, 2, target, datetime(2026, 1, 1, 19, 59, tzinfo=UTC))
    with pytest.raises(SafetyError, match="closed at 2026-01-02T06:00:00"):
        authorize(scope, 2, target, datetime(2026, 1, 2, 6, 1, tzinfo=UTC))
    with pytest.raises(SafetyError, match="above max_level 2"):
        authorize(scope, 3, target, INSIDE)
    with pytest.raises(SafetyError, match=re.escape("'127.0.2.1' is not covered")):
        authorize(scope, 2, [parse_target("127.0.2.1")], INSIDE)
    # A host:port scope entry does not authorize every port of that host.
    with pytest.raises(SafetyError, match=re.escape("'127.0.1.5' is not covered")):
        authorize(scope, 2, [parse_target("127.0.1.5")], INSIDE)
    with pytest.raises(SafetyError, match="needs --scope"):
        authorize(None, 3, target, INSIDE)
    authorize(None, 2, target, INSIDE)  # levels 1-2 may run without a scope file


@pytest.mark.parametrize("text, where", [
    (SCOPE.replace("max_level: 2", "max_level: 5"), "line 8, field 'max_level'"),
    (SCOPE.replace("2026-01-01T20:00:00Z", "2026-01-01T20:00:00"), "line 3, field 'window.start'"),
    (SCOPE.replace("authorized_by: Dana Whitfield, CISO\n", ""), "field 'authorized_by'"),
    (SCOPE + "colour: blue\n", "field 'colour'"),
    ("window: [unclosed\n", "line 2"),
])
def test_bad_scope_files_name_line_and_field(tmp_path: Path, text: str, where: str) -> None:
    path = _scope(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_scope(path)
    assert str(path) in str(info.value) and where in str(info.value)
