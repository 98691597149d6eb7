"""The one CSV writer every radguard export goes through, so no cell can become a formula.

Why it exists: a spreadsheet treats a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and,
in some programs, a tab, a carriage return or leading whitespace before one of those) as a
formula. radguard's exports carry text that came from outside — asset names and AE titles
from discovery and imports, advisory titles from feeds, the user name an anonymous visitor
typed at a failed sign-in — so a crafted value like ``=HYPERLINK("http://…")`` would run in
the spreadsheet of whoever opens the export (CSV or formula injection). Every CSV export
writes through :class:`CsvWriter`; a test walks the source tree and fails if any module
calls :func:`csv.writer` or :class:`csv.DictWriter` itself.

A neutralised cell is prefixed with an apostrophe (the OWASP recommendation: spreadsheets
show the text, never evaluate it). A value that already starts with an apostrophe gets one
more, so :func:`restore_cell` — used by the importers that read radguard's own exports back —
is the exact inverse of :func:`cell`.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, Any

# First characters that make a spreadsheet evaluate (or, for the apostrophe, that would make
# restore_cell ambiguous). Any other leading whitespace is neutralised too.
FORMULA_STARTS = frozenset("=+-@\t\r\n'")
LIST_SEPARATOR = "; "


def neutralise(text: str) -> str:
    """``text`` as a cell a spreadsheet shows verbatim.

    :param text: the cell's text, as it would otherwise be written.
    """
    if text and (text[0] in FORMULA_STARTS or text[0].isspace()):
        return "'" + text
    return text


def restore_cell(text: str) -> str:
    """The inverse of :func:`neutralise`, for importers reading radguard's own exports back.

    :param text: a cell as read from the file.
    """
    if len(text) > 1 and text[0] == "'" and (text[1] in FORMULA_STARTS or text[1].isspace()):
        return text[1:]
    return text


def cell(value: Any, list_separator: str = LIST_SEPARATOR) -> str:
    """One value as safe cell text: lists joined, booleans as true/false, numbers as they are.

    :param value: the value to write; ``None`` becomes an empty cell.
    :param list_separator: how the items of a list or tuple are joined into one cell.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)  # a number is never a formula, and -3 must stay a number
    if isinstance(value, list | tuple):
        return neutralise(list_separator.join("" if v is None else str(v) for v in value))
    return neutralise(str(value))


class CsvWriter:
    """A :func:`csv.writer` whose every cell (header included) goes through :func:`cell`.

    :param fh: the text stream to write to (open it with ``newline=""`` when it is a file).
    :param lineterminator: the line ending; exports keep the one their format documents.
    :param list_separator: how list values are joined within a cell.
    """

    def __init__(self, fh: IO[str], *, lineterminator: str = "\n", list_separator: str = LIST_SEPARATOR) -> None:
        self._fh = fh
        self._end = lineterminator
        self._sep = list_separator
        # csv quotes a field only for the characters of *its* line terminator, so with "\n" a bare
        # CR inside a cell went out unquoted and split the row for every reader. Each row is
        # formatted with "\r\n" (both quoted) and then given the terminator the export documents.
        self._row = io.StringIO()
        self._writer = csv.writer(self._row, lineterminator="\r\n")

    def writerow(self, values: Iterable[Any]) -> None:
        """Write one row.

        :param values: the row's values, in column order.
        """
        self._row.seek(0)
        self._row.truncate()
        self._writer.writerow([cell(v, self._sep) for v in values])
        self._fh.write(self._row.getvalue()[:-2] + self._end)

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        """Write several rows.

        :param rows: the rows, each in column order.
        """
        for row in rows:
            self.writerow(row)


class CsvDictWriter:
    """The :class:`csv.DictWriter` counterpart of :class:`CsvWriter`.

    :param fh: the text stream to write to.
    :param fieldnames: the columns, in order.
    :param lineterminator: the line ending.
    :param list_separator: how list values are joined within a cell.
    """

    def __init__(self, fh: IO[str], fieldnames: Sequence[str], *, lineterminator: str = "\n",
                 list_separator: str = LIST_SEPARATOR) -> None:
        self.fieldnames = list(fieldnames)
        self._writer = CsvWriter(fh, lineterminator=lineterminator, list_separator=list_separator)

    def writeheader(self) -> None:
        """Write the header row."""
        self._writer.writerow(self.fieldnames)

    def writerow(self, row: Mapping[str, Any]) -> None:
        """Write one row; keys not among the columns are ignored, missing ones are empty.

        :param row: the values by column name.
        """
        self._writer.writerow([row.get(name) for name in self.fieldnames])


def to_csv(columns: Sequence[str], rows: Iterable[Iterable[Any]], *, lineterminator: str = "\n") -> str:
    """A whole CSV document as text: the header, then the rows.

    :param columns: the header.
    :param rows: the rows, each in column order.
    :param lineterminator: the line ending.
    """
    buffer = io.StringIO()
    writer = CsvWriter(buffer, lineterminator=lineterminator)
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()
