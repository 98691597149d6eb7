"""Every version and range form seen in real advisories, and how radguard reads it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from radguard.feeds.versions import VersionSpec, compare, parse_range, parse_version


@pytest.mark.parametrize(("text", "version", "outcome"), [
    ("< 3.6.7", "3.6.6", "in"),
    ("< 3.6.7", "3.6.7", "out"),
    ("< 3.6.7", "3.6.10", "out"),
    ("< 3.6.7", "v3.6.5", "in"),
    ("<= 7.3.2", "7.3.2", "in"),
    ("<= 7.3.2", "7.3.2.1", "out"),
    ("All versions prior to 12.2.8", "12.2.7", "in"),
    ("All versions prior to 12.2.8", "12.2.8", "out"),
    ("version 4.0 and prior", "4.0", "in"),
    ("version 4.0 and prior", "4.1", "out"),
    ("2.3.6 and  below", "2.3.5", "in"),
    ("<= 12.2.x.x", "12.2.8.410", "in"),
    ("<= 12.2.x.x", "12.1", "in"),
    ("<= 12.2.x.x", "12.3.0", "out"),
    ("<=2023.3_Build_9342", "2023.3_Build_9342", "in"),
    ("<=2023.3_Build_9342", "2023.3 Build 9400", "out"),
    ("<=2023.3_Build_9342", "2023.2", "in"),
    ("<=2023.3_Build_9342", "2024.1", "out"),
    (">=BT02 | <= BT06", "BT04", "in"),
    (">=BT02 | <= BT06", "BT07", "out"),
    (">=BT02 | <= BT06", "BT01", "out"),
    (">=BT02 | <= BT06", "HD16", "out"),  # another version line altogether
    (">=BT02 | <= BT06", "16", "unknown"),  # a bare number cannot be ordered against BT..
    ("HD 16 | HD23", "HD16", "in"),
    ("HD 16 | HD23", "HD23", "in"),
    ("HD 16 | HD23", "HD20", "out"),
    ("vers:all/*", "anything", "in"),
    ("vers:all/*", None, "in"),
    ("vers:generic/>=1.0|<2.0", "1.5", "in"),
    ("vers:generic/>=1.0|<2.0", "2.0", "out"),
    (">= 4.01 | <= 4.34", "4.2", "in"),
    (">= 4.01 | <= 4.34", "4.35", "out"),
    ("<= U61 |<= L81", "L70", "in"),
    ("<= U61 |<= L81", "L90", "out"),
    ("1.1.7.333 | 2.1.1.3069", "2.1.1.3069", "in"),
    ("1.1.7.333 | 2.1.1.3069", "2.1.1.3070", "out"),
    ("14.1.x", "14.1.3", "in"),
    ("14.1.x", "14.2", "out"),
    ("< 3.x", "2.9", "in"),
    ("< 3.x", "3.1", "out"),
    ("<= K", "J", "in"),
    ("<= K", "L", "out"),
    ("1.4.2.0-9d9eff4", "1.4.2.0", "in"),  # a git hash is build metadata
    ("(Release 1.3.2 1.4.0 1.4.1 1.4.3 1.4.5)", "1.4.1", "in"),
    ("(Release 1.3.2 1.4.0 1.4.1 1.4.3 1.4.5)", "1.4.2", "out"),
    ("<= 1.54 (integrated into GE MobileLink)", "1.50", "in"),
    ("< 3.6.7", None, "unknown"),
    ("< 3.6.7", "unknown build", "unknown"),
])
def test_range_forms(text: str, version: str | None, outcome: str) -> None:
    result, reason = parse_range(text).evaluate(version)
    assert result == outcome, reason
    assert reason


@pytest.mark.parametrize("text", [
    "* running on old, unsupported operating systems such as Windows 2000",
    "<=11.2 on Windows 8.1 with IIS 7.5",
    "distributed  < april 1, 2018",
    "<8/30/2024",
    "<May 2018",
    "Rev B-M",
    "A10 < A11",
    "MMT-512 / MMT-712 Paradigm x12",
    "9.x (with Wireless Battery Modules >= 22D19 | <= v22D28)",
    "Windows 10 Professional Operating System U.S. release",
    "IGS",
    "",
])
def test_unreadable_or_conditional_text_is_never_affected(text: str) -> None:
    spec = parse_range(text)
    assert spec.kind == "unparseable" or spec.condition
    for version in ("1.0", "3.6.6", "11.0", None):
        assert spec.evaluate(version)[0] == "unknown"


def test_prose_all_versions_keeps_the_condition_in_the_reason() -> None:
    spec = parse_range("* running on old, unsupported operating systems such as Windows 2000")
    assert spec.kind == "all"
    assert "Windows 2000" in spec.evaluate("1.0")[1]


def test_spec_round_trips_through_json() -> None:
    for text in (">=BT02 | <= BT06", "vers:all/*", "* running on old systems", "<8/30/2024", "<= 12.2.x.x"):
        spec = parse_range(text)
        assert VersionSpec.from_json(spec.to_json()) == spec


def test_version_ordering() -> None:
    def v(t: str):  # type: ignore[no-untyped-def]
        parsed = parse_version(t)
        assert parsed is not None
        return parsed

    assert compare(v("3.6.6"), v("3.6.7")) == -1
    assert compare(v("3.6"), v("3.6.0")) == 0
    assert compare(v("3.10"), v("3.9")) == 1
    assert compare(v("12.2.8.410"), v("12.2.x.x")) == 0
    assert compare(v("5.0"), v("VM5.0")) is None


@given(st.text(max_size=60), st.one_of(st.none(), st.text(max_size=20)))
def test_parser_never_raises(text: str, version: str | None) -> None:
    spec = parse_range(text)
    outcome, _ = spec.evaluate(version)
    assert outcome in ("in", "out", "unknown")
    if spec.kind == "unparseable":
        assert outcome == "unknown"
