"""CSV formula injection: one writer for every export, and no module may write CSV without it."""

from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

import pytest

from radguard.csvcells import CsvDictWriter, cell, restore_cell, to_csv

SRC = Path(__file__).resolve().parents[1] / "src" / "radguard"
HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1", " =1", "\n=1", "'=1",
           "\u00a0=1"]


@pytest.mark.parametrize("value", HOSTILE)
def test_every_formula_start_is_neutralised_and_restored(value: str) -> None:
    text = cell(value)
    assert text.startswith("'"), text
    assert restore_cell(text) == value


def test_list_cells_are_neutralised_too() -> None:
    assert cell(["=cmd|' /C calc'!A0", "b"]) == "'=cmd|' /C calc'!A0; b"
    assert cell(("@x",)) == "'@x"


def test_plain_values_and_numbers_are_unchanged() -> None:
    assert cell("CT-01") == "CT-01"
    assert cell(-3) == "-3" and cell(2.5) == "2.5"
    assert cell(None) == "" and cell(True) == "true"
    assert restore_cell("'quoted by a person") == "'quoted by a person"


def test_a_spreadsheet_reading_the_file_sees_no_formula_cell() -> None:
    buf = io.StringIO()
    w = CsvDictWriter(buf, ["name", "tags"])
    w.writeheader()
    for value in HOSTILE:
        w.writerow({"name": value, "tags": [value, "x"], "ignored": "=1"})
    rows = list(csv.reader(io.StringIO(buf.getvalue(), newline="")))
    for row in rows[1:]:
        for text in row:
            assert text[:1] not in "=+-@\t\r\n " and not text[:1].isspace(), row
    assert to_csv(["a"], [["=1"]]) == "a\n'=1\n"


def _csv_writer_calls(tree: ast.AST) -> list[int]:
    """Lines that call csv.writer / csv.DictWriter, or import them under any name."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("writer", "DictWriter") \
                and isinstance(node.value, ast.Name) and node.value.id == "csv":
            lines.append(node.lineno)
        if isinstance(node, ast.ImportFrom) and node.module == "csv" \
                and any(a.name in ("writer", "DictWriter", "*") for a in node.names):
            lines.append(node.lineno)
        if isinstance(node, ast.Import) and any(a.name == "csv" and a.asname for a in node.names):
            lines.append(node.lineno)  # `import csv as c` would hide c.writer from this walk
    return lines


def test_no_module_writes_csv_past_the_neutralising_writer() -> None:
    offenders = []
    files = sorted(SRC.rglob("*.py"))
    assert len(files) > 100
    for path in files:
        if path == SRC / "csvcells.py":
            assert _csv_writer_calls(ast.parse(path.read_text(encoding="utf-8")))  # the walk does see it
            continue
        for line in _csv_writer_calls(ast.parse(path.read_text(encoding="utf-8"))):
            offenders.append(f"{path.relative_to(SRC)}:{line}")
    assert offenders == [], f"write CSV through radguard.csvcells, not csv.writer: {offenders}"


def test_export_tables_neutralise_list_cells() -> None:
    from radguard.reports.exports.tables import INVENTORY_COLUMNS, ROADMAP_COLUMNS
    from radguard.reports.exports.tables import to_csv as tables_csv

    text = tables_csv(INVENTORY_COLUMNS, [{"name": "ok", "ae_titles": ["=HYPERLINK(1)", "B"],
                                           "endpoints": ["@dicom://h:104"], "vendor": "+1"}])
    row = next(iter(csv.DictReader(io.StringIO(text, newline=""))))
    assert row["ae_titles"] == "'=HYPERLINK(1); B" and row["endpoints"] == "'@dicom://h:104"
    assert row["vendor"] == "'+1" and row["name"] == "ok"
    text = tables_csv(ROADMAP_COLUMNS, [{"rank": 1, "depends_on": ["-A", "B"]}])
    assert next(iter(csv.DictReader(io.StringIO(text, newline=""))))["depends_on"] == "'-A; B"
