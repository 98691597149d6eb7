"""Every limit docs/input-limits.md documents is changed by its RADGUARD_LIMIT_* variable.

Each test reads the same input twice: with the default it is accepted, with the variable set just
below what the input needs it is refused with an InputError naming the file (and the reverse for
limits whose default already refuses the input). A misconfigured variable is a ConfigError naming
the variable, and through the real command line a clear message without a traceback.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from radguard.errors import ConfigError, InputError
from radguard.inventory.mds2 import _read_workbook, check_zip_bounds
from radguard.textfiles import Limits, limits, parse_json, parse_yaml, read_csv, read_text, stream_lines
from tests.conftest import CliResult

DOCS = Path(__file__).resolve().parents[1] / "docs" / "input-limits.md"


def test_docs_table_lists_exactly_the_limits() -> None:
    """The documented variables are the fields of Limits, so each test below covers a real knob."""
    documented = set(re.findall(r"`RADGUARD_LIMIT_([A-Z_]+)`", DOCS.read_text()))
    assert documented == {f.upper() for f in Limits.__dataclass_fields__}


def test_file_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "team.yaml"
    path.write_text("people: []\n" + "# padding\n" * 100)
    assert read_text(path).startswith("people")
    monkeypatch.setenv("RADGUARD_LIMIT_FILE_BYTES", "100")
    with pytest.raises(InputError, match=r"more than the 100 radguard reads") as exc:
        read_text(path)
    assert str(path) in str(exc.value)


def test_stream_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "inventory.csv"
    path.write_text("site,name\n" + "NWH,ct-1\n" * 50)
    assert len(list(stream_lines(path))) == 51
    monkeypatch.setenv("RADGUARD_LIMIT_STREAM_BYTES", "64")
    with pytest.raises(InputError, match=r"more than the 64 radguard reads") as exc:
        list(stream_lines(path))
    assert str(path) in str(exc.value)
    monkeypatch.setenv("RADGUARD_LIMIT_FILE_BYTES", "64")  # the streamed limit, not the whole-file one
    monkeypatch.delenv("RADGUARD_LIMIT_STREAM_BYTES")
    assert len(list(stream_lines(path))) == 51


def test_field_chars(monkeypatch: pytest.MonkeyPatch) -> None:
    text = "question,answer\nQ1," + "x" * 50 + "\n"
    assert next(iter(read_csv(text.splitlines(keepends=True), "a.csv").rows)).cells["answer"] == "x" * 50
    monkeypatch.setenv("RADGUARD_LIMIT_FIELD_CHARS", "20")
    with pytest.raises(InputError) as exc:
        list(read_csv(text.splitlines(keepends=True), "a.csv").rows)
    assert "a.csv" in str(exc.value) and "line 2" in str(exc.value)
    with pytest.raises(InputError):
        parse_json('{"a": "' + "y" * 50 + '"}', "b.json")


def test_depth(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = "[" * 10 + "]" * 10
    assert parse_json(doc, "d.json") is not None
    nested = "a:\n  b:\n    c:\n      d: 1\n"
    assert parse_yaml(nested, "d.yaml") == {"a": {"b": {"c": {"d": 1}}}}
    monkeypatch.setenv("RADGUARD_LIMIT_DEPTH", "3")
    with pytest.raises(InputError) as exc:
        parse_json(doc, "d.json")
    assert "d.json" in str(exc.value)
    with pytest.raises(InputError) as exc:
        parse_yaml(nested, "d.yaml")
    assert "d.yaml" in str(exc.value)


def test_yaml_nodes(monkeypatch: pytest.MonkeyPatch) -> None:
    laughs = "a: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b]\n"
    assert len(parse_yaml(laughs, "l.yaml")["c"]) == 3
    monkeypatch.setenv("RADGUARD_LIMIT_YAML_NODES", "100")
    with pytest.raises(InputError) as exc:
        parse_yaml(laughs, "l.yaml")
    assert "l.yaml" in str(exc.value)


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_zip_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _zip(tmp_path / "many.xlsx", {f"xl/part{i}.xml": b"<x/>" for i in range(20)})
    check_zip_bounds(path)
    monkeypatch.setenv("RADGUARD_LIMIT_ZIP_ENTRIES", "10")
    with pytest.raises(InputError, match=r"20 parts, more than the 10") as exc:
        check_zip_bounds(path)
    assert str(path) in str(exc.value)


def test_zip_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _zip(tmp_path / "big.xlsx", {"xl/a.xml": b"<x>" + b"ab" * 5000 + b"</x>"})
    check_zip_bounds(path)
    monkeypatch.setenv("RADGUARD_LIMIT_ZIP_BYTES", "1000")
    with pytest.raises(InputError, match=r"more than the 1,000 radguard reads") as exc:
        check_zip_bounds(path)
    assert str(path) in str(exc.value)


def test_zip_ratio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _zip(tmp_path / "bomb.xlsx", {"xl/a.xml": b"<x>" + b"\0" * (2 * 1024 * 1024) + b"</x>"})
    with pytest.raises(InputError, match=r"more than 200:1"):
        check_zip_bounds(path)
    monkeypatch.setenv("RADGUARD_LIMIT_ZIP_RATIO", "1000000")
    check_zip_bounds(path)


def _workbook(path: Path, rows: int, columns: int) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    for r in range(rows):
        ws.append([f"r{r}c{c}" for c in range(columns)])
    wb.save(path)
    return path


def test_sheet_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _workbook(tmp_path / "rows.xlsx", 30, 3)
    assert len(next(iter(_read_workbook(path))).rows) == 30
    monkeypatch.setenv("RADGUARD_LIMIT_SHEET_ROWS", "10")
    with pytest.raises(InputError, match=r"more than 10 rows") as exc:
        list(_read_workbook(path))
    assert str(path) in str(exc.value)


def test_sheet_columns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _workbook(tmp_path / "wide.xlsx", 3, 12)
    assert len(next(iter(_read_workbook(path))).rows) == 3
    monkeypatch.setenv("RADGUARD_LIMIT_SHEET_COLUMNS", "8")
    with pytest.raises(InputError, match=r"more than 8 columns") as exc:
        list(_read_workbook(path))
    assert str(path) in str(exc.value)


@pytest.mark.parametrize("raw, message", [
    ("lots", r"RADGUARD_LIMIT_DEPTH='lots' is not a whole number"),
    ("0", r"RADGUARD_LIMIT_DEPTH='0' must be at least 1"),
    ("-5", r"RADGUARD_LIMIT_DEPTH='-5' must be at least 1"),
    ("", r"RADGUARD_LIMIT_DEPTH='' is not a whole number"),
])
def test_misconfigured_value_is_a_config_error(monkeypatch: pytest.MonkeyPatch, raw: str, message: str) -> None:
    monkeypatch.setenv("RADGUARD_LIMIT_DEPTH", raw)
    with pytest.raises(ConfigError, match=message):
        limits()


def test_underscores_are_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RADGUARD_LIMIT_FILE_BYTES", "200_000_000")
    assert limits().file_bytes == 200_000_000


def test_misconfigured_value_through_the_cli(tmp_path: Path, sqlite_url: str,
                                             rg: Callable[..., CliResult],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The command fails with the variable named and no traceback; nothing is imported."""
    assert rg("--db", sqlite_url, "init").code == 0
    path = tmp_path / "inventory.csv"
    path.write_text("site,name,class\nNWH,ct-1,modality\n")
    monkeypatch.setenv("RADGUARD_LIMIT_STREAM_BYTES", "1GiB")
    r = rg("--db", sqlite_url, "inventory", "import", str(path))
    assert r.code != 0
    assert "RADGUARD_LIMIT_STREAM_BYTES='1GiB' is not a whole number" in r.out + r.err
    assert "Traceback" not in r.out + r.err
    monkeypatch.delenv("RADGUARD_LIMIT_STREAM_BYTES")
    listed = rg("--db", sqlite_url, "inventory", "list", "--json")
    assert listed.code == 0 and "ct-1" not in listed.out
