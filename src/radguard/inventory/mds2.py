"""Reading a 2019 MDS2 (Manufacturer Disclosure Statement for Medical Device Security).

Manufacturers publish the form as an Excel workbook, each with its own sheet names, banner
rows and column order, so the reader does not assume a layout: it finds the column that holds
MDS2 question IDs, the header row above it, and the column that holds the Yes/No/N/A answers
(by its header, or failing that by being the one column full of Yes/No/N/A). A CSV of
question ID → answer (→ note) is read the same way.

What the reader will not do is guess. A question ID that is not in the 2019 form, an answer
without a question ID, two different answers to one question, or a layout with no clear
answer column stops the import with the sheet, row and cell to look at. Answers are kept as
``doc.mds2`` evidence for the asset, normalized to ``yes`` / ``no`` / ``n/a`` or the
manufacturer's free text, so checks can turn an attested "no" into a finding.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.db.models.evidence import Evidence
from radguard.errors import InputError
from radguard.inventory.queries import find_asset
from radguard.textfiles import csv_records, decode_text, limits, read_bytes, sniff_dialect
from radguard.validate import plausible_day

FORM = "MDS2-2019"
EVIDENCE_KIND = "doc.mds2"


def get_column_letter(index: int) -> str:
    """Spreadsheet column name for a 1-based index; openpyxl is imported only when needed
    (the assessment imports this module for its constants and should not pay for openpyxl)."""
    from openpyxl.utils import get_column_letter as letter

    return str(letter(index))
_CATALOG_FILE = Path(__file__).with_name("mds2_2019.yaml")

# Anything shaped like an MDS2 question ID: a 3–5 letter section code, a dash, dotted numbers.
_ID_SHAPE = re.compile(r"^([A-Z]{3,5})-(\d+(?:\.\d+)*)$")
# A worksheet column needs this many ID-shaped cells before it is taken for the question-ID
# column (a workbook has other sheets); a CSV is all answers, so one is enough there.
_MIN_ID_CELLS = 5
_MAX_COLUMNS = 40
_HEADER_ID = re.compile(r"^(mds2\s*)?(question\s*)?(id|#|no|number|ref|reference|code)$")
_HEADER_ANSWER = re.compile(
    r"^((manufacturer'?s?\s*)?(answer|response)s?(\s*\(.*\))?|yes[\s,/]*no.*|y\s*/\s*n.*)$"
)
_HEADER_NOTE = re.compile(r"^(see\s*)?(notes?|note\s*#|note\s*number|comments?|remarks?|explanation|details)$")
# "Yes", "No", "N/A" (and spellings) alone, or followed by a separator and an explanation.
_ANSWER = re.compile(
    r"^(?P<word>yes|y|no|n|n\s*/\s*a|na|not\s+applicable)(?:\s*$|\s*[,;:(\-–—.]\s*(?P<rest>.*)$)",
    re.IGNORECASE | re.DOTALL,
)


class _SectionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    questions: dict[str, str]


class _CatalogSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    form: str
    sections: dict[str, _SectionSpec]
    aliases: dict[str, str] = {}
    legacy_2013_sections: list[str] = []


@dataclass(frozen=True)
class Question:
    id: str
    section: str
    text: str


@dataclass(frozen=True)
class QuestionCatalog:
    """The 2019 question IDs radguard knows, with the section each belongs to."""

    questions: dict[str, Question]
    section_titles: dict[str, str]
    aliases: dict[str, str]
    legacy_sections: frozenset[str]

    def canonical(self, raw_id: str) -> str:
        return self.aliases.get(raw_id, raw_id)


@lru_cache(maxsize=1)
def load_catalog() -> QuestionCatalog:
    spec = _CatalogSpec.model_validate(yaml.safe_load(_CATALOG_FILE.read_text(encoding="utf-8")))
    questions: dict[str, Question] = {}
    for code, section in spec.sections.items():
        for qid, text in section.questions.items():
            if not qid.startswith(f"{code}-") or not _ID_SHAPE.match(qid):
                raise ValueError(f"{_CATALOG_FILE.name}: {qid} does not belong in section {code}")
            questions[qid] = Question(qid, code, text)
    for alias, target in spec.aliases.items():
        if target not in questions:
            raise ValueError(f"{_CATALOG_FILE.name}: alias {alias} points at unknown {target}")
    return QuestionCatalog(
        questions=questions,
        section_titles={code: s.title for code, s in spec.sections.items()},
        aliases=dict(spec.aliases),
        legacy_sections=frozenset(spec.legacy_2013_sections),
    )


def normalize_answer(value: str) -> tuple[str, str | None]:
    """Return ``(answer, extra)``: yes/no/n/a plus any explanation after it, or free text.

    "Yes, optional" becomes ``("yes", "optional")``; "No default accounts" stays free text,
    because a bare space is not read as the end of the answer word.
    """
    text = value.strip()
    m = _ANSWER.match(text)
    if not m:
        return text, None
    word = re.sub(r"\s+", "", m.group("word").lower())
    answer = {"y": "yes", "yes": "yes", "n": "no", "no": "no"}.get(word, "n/a")
    rest = (m.group("rest") or "").strip().rstrip(")").strip()
    return answer, rest or None


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _norm_header(text: str | None) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[:*?]", "", (text or "").lower())).strip()


def _id_of(text: str | None) -> str | None:
    """The question ID in a cell (``DOC-8``, ``doc-8:``), or None when it is not ID-shaped."""
    if not text:
        return None
    candidate = text.strip().rstrip(":.").strip().upper()
    return candidate if _ID_SHAPE.match(candidate) else None


@dataclass
class _Table:
    """One sheet (or the CSV) as text cells, with a way to name a cell for messages."""

    name: str | None  # sheet name; None for CSV
    rows: list[list[str | None]]  # rows[i] is spreadsheet row i + 1 / CSV line i + 1
    widths: list[int] | None = None  # CSV only: how many cells each line really had

    def where(self, row: int, col: int | None = None) -> str:
        if self.name is None:
            return f"line {row + 1}" + (f", column {col + 1}" if col is not None else "")
        where = f"sheet '{self.name}', row {row + 1}"
        if col is not None:
            where += f", cell {get_column_letter(col + 1)}{row + 1}"
        return where

    def cell(self, row: int, col: int) -> str | None:
        cells = self.rows[row]
        return cells[col] if col < len(cells) else None


@dataclass
class _Layout:
    id_col: int
    answer_col: int
    note_col: int | None
    header_row: int | None
    first_row: int


@dataclass
class Mds2Document:
    """The answers read from one statement, keyed by 2019 question ID."""

    source: str
    sha256: str
    sheet: str | None
    answers: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    unanswered: list[str] = field(default_factory=list)

    def received(self) -> dict[str, Any]:
        """The ``Evidence.received`` document agreed with the checks."""
        catalog = load_catalog()
        sections = Counter(catalog.questions[q].section for q in self.answers)
        return {
            "form": FORM,
            "answers": dict(self.answers),
            "notes": dict(self.notes),
            "unanswered": list(self.unanswered),
            "sheet": self.sheet,
            "sections": dict(sorted(sections.items())),
            "device": {
                "manufacturer": self.answers.get("DOC-1"),
                "model": self.answers.get("DOC-3"),
                "document_id": self.answers.get("DOC-4"),
                "release_date": self.answers.get("DOC-7"),
            },
        }


def read_mds2(path: Path) -> Mds2Document:
    """Read an MDS2 .xlsx/.xlsm workbook or CSV into answers; raise InputError on anything unclear."""
    name = str(path)
    data = read_bytes(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        tables = list(_read_workbook(path))
    elif suffix == ".csv":
        tables = [_read_csv(path, data)]
    elif suffix == ".xls":
        raise InputError(name, None, None, "old binary .xls workbooks are not read; open it in a spreadsheet "
                                            "program and save it as .xlsx")
    else:
        raise InputError(name, None, None, "expected an .xlsx workbook or a .csv of question ID and answer")
    table, layout = _choose_table(name, tables)
    doc = Mds2Document(source=path.name, sha256=hashlib.sha256(data).hexdigest(), sheet=table.name)
    _read_answers(name, table, layout, doc)
    return doc


def check_zip_bounds(path: Path) -> None:
    """Refuse a zip (xlsx) file whose members would inflate past the limits, before parsing it.

    The member sizes in the zip directory bind: Python's zipfile stops at the declared size
    and fails the CRC check if a member holds more, so checking them here bounds the work and
    memory of everything that reads the file afterwards (docs/input-limits.md).
    """
    name = str(path)
    lim = limits()
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError(name, None, None, f"not a readable Excel workbook ({exc}); save it again as .xlsx") from None
    if len(infos) > lim.zip_entries:
        raise InputError(name, None, None, f"the workbook holds {len(infos):,} parts, more than the "
                                           f"{lim.zip_entries:,} radguard reads")
    total = 0
    for info in infos:
        total += info.file_size
        if info.file_size > 1024 * 1024 and info.file_size > lim.zip_ratio * max(info.compress_size, 1):
            raise InputError(name, None, info.filename,
                             f"inflates {info.file_size // max(info.compress_size, 1):,} times "
                             f"(to {info.file_size:,} bytes); more than {lim.zip_ratio}:1 is taken for a zip bomb")
    if total > lim.zip_bytes:
        raise InputError(name, None, None, f"the workbook inflates to {total:,} bytes, more than the "
                                           f"{lim.zip_bytes:,} radguard reads (see docs/input-limits.md)")
    _refuse_dtds(path, infos)


def _refuse_dtds(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """No part of a workbook needs a DOCTYPE; one declaring entities is an XXE or entity-expansion
    attempt. Checked on the raw parts (sizes already bounded), whatever parser reads them later."""
    with zipfile.ZipFile(path) as zf:
        for info in infos:
            if not info.filename.endswith((".xml", ".rels", ".vml")):
                continue
            tail = b""
            with zf.open(info) as member:
                while chunk := member.read(1024 * 1024):
                    window = tail + chunk
                    if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                        raise InputError(str(path), None, info.filename,
                                         "declares a DOCTYPE or entities, which no workbook needs; refused")
                    tail = window[-16:]


def _read_workbook(path: Path) -> Iterator[_Table]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    check_zip_bounds(path)
    lim = limits()
    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError) as exc:
        # ValueError covers defusedxml's refusals (external entities); SyntaxError, XML ParseError.
        raise InputError(str(path), None, None, f"not a readable Excel workbook ({exc}); "
                                                "save it again as .xlsx") from None
    try:
        for ws in wb.worksheets:
            rows: list[list[str | None]] = []
            try:
                for values in ws.iter_rows(min_row=1, max_col=_MAX_COLUMNS, values_only=True):
                    if len(rows) >= lim.sheet_rows:
                        raise InputError(str(path), f"sheet '{ws.title}'", None,
                                         f"more than {lim.sheet_rows:,} rows; an MDS2 has a few hundred")
                    rows.append([_cell_text(v) for v in values])
            except (zipfile.BadZipFile, KeyError, OSError, ValueError, SyntaxError, EOFError) as exc:
                raise InputError(str(path), f"sheet '{ws.title}'", None,
                                 f"the sheet is damaged or refused ({type(exc).__name__}: {exc}); "
                                 "save the workbook again as .xlsx") from None
            yield _Table(ws.title, rows)
    finally:
        wb.close()


def _read_csv(path: Path, data: bytes) -> _Table:
    text = decode_text(data, str(path))
    rows: list[list[str | None]] = []
    widths: list[int] = []
    for line, cells in csv_records(text.splitlines(keepends=True), str(path), sniff_dialect(text)):
        gap = line - 1 - len(rows)  # keep rows[i] == line i + 1
        rows.extend([] for _ in range(gap))
        widths.extend(0 for _ in range(gap))
        rows.append([(c.strip() or None) for c in cells[:_MAX_COLUMNS]])
        widths.append(len(cells))
    return _Table(None, rows, widths)


def _choose_table(source: str, tables: Sequence[_Table]) -> tuple[_Table, _Layout]:
    found: list[tuple[_Table, _Layout]] = []
    problems: list[InputError] = []
    for table in tables:
        try:
            layout = _find_layout(source, table)
        except InputError as exc:
            problems.append(exc)
            continue
        if layout is not None:
            found.append((table, layout))
    if len(found) > 1:
        names = ", ".join(f"'{t.name}'" for t, _ in found)
        raise InputError(source, None, None,
                         f"sheets {names} all hold MDS2 answers; keep the manufacturer's answer sheet only")
    if found:
        return found[0]
    if problems:
        raise problems[0]
    what = "sheet" if tables and tables[0].name is not None else "file"
    raise InputError(source, None, None,
                     f"no {what} has a column of MDS2 question IDs (such as DOC-1, PAUT-4, RMOT-1.1); "
                     "is this a 2019 MDS2?")


def _find_layout(source: str, table: _Table) -> _Layout | None:
    """Locate the ID column, header row, answer and note columns of one table, or None."""
    id_counts: Counter[int] = Counter()
    first_id_row: dict[int, int] = {}
    for r, cells in enumerate(table.rows):
        for c, text in enumerate(cells):
            if _id_of(text):
                id_counts[c] += 1
                first_id_row.setdefault(c, r)
    minimum = _MIN_ID_CELLS if table.name is not None else 1
    if not id_counts or id_counts.most_common(1)[0][1] < minimum:
        return None
    ranked = id_counts.most_common(2)
    id_col, top = ranked[0]
    if len(ranked) > 1 and ranked[1][1] == top:
        raise InputError(source, table.where(0), None,
                         f"columns {get_column_letter(id_col + 1)} and {get_column_letter(ranked[1][0] + 1)} both "
                         "hold question IDs; keep one question-ID column")
    start = first_id_row[id_col]
    header_row = _header_above(table, start)
    headers = [_norm_header(h) for h in table.rows[header_row]] if header_row is not None else []
    answer_col = _column_matching(headers, _HEADER_ANSWER, exclude={id_col})
    note_col = _column_matching(headers, _HEADER_NOTE, exclude={id_col, answer_col if answer_col is not None else -1})
    if answer_col is None:
        answer_col = _answer_column_by_content(table, id_col, start, exclude={id_col, note_col})
    if answer_col is None:
        where = table.where(header_row) if header_row is not None else table.where(start)
        raise InputError(source, where, None,
                         f"found question IDs in column {get_column_letter(id_col + 1)} but no column of "
                         "Yes/No/N/A answers; head the answer column 'Answer'")
    return _Layout(id_col, answer_col, note_col, header_row, start)


def _header_above(table: _Table, first_id_row: int) -> int | None:
    """The nearest row above the first question that names the ID or answer column."""
    for r in range(first_id_row - 1, max(-1, first_id_row - 15), -1):
        headers = [_norm_header(h) for h in table.rows[r]]
        if any(_HEADER_ID.match(h) or _HEADER_ANSWER.match(h) for h in headers if h):
            return r
    return None


def _column_matching(headers: list[str], pattern: re.Pattern[str], exclude: set[int]) -> int | None:
    for c, h in enumerate(headers):
        if c not in exclude and h and pattern.match(h):
            return c
    return None


def _answer_column_by_content(table: _Table, id_col: int, start: int, exclude: set[int | None]) -> int | None:
    """The one column where most question rows carry Yes/No/N/A, if there is exactly one."""
    counts: Counter[int] = Counter()
    question_rows = 0
    for cells in table.rows[start:]:
        if not _id_of(cells[id_col] if id_col < len(cells) else None):
            continue
        question_rows += 1
        for c, text in enumerate(cells):
            if c not in exclude and text and _ANSWER.match(text):
                counts[c] += 1
    ranked = counts.most_common(2)
    if not ranked or ranked[0][1] * 2 < question_rows:
        return None
    if len(ranked) > 1 and ranked[1][1] == ranked[0][1]:
        return None
    return ranked[0][0]


_EXCEL_ERRORS = {"#VALUE!", "#REF!", "#N/A", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!", "#SPILL!", "#CALC!"}
_DATE_QUESTIONS = {"DOC-7"}  # release date of the statement
# A typed date (2024-13-45, 5/2/2024) or an Excel serial day; free text ("see note") is kept as given.
_LOOKS_LIKE_DATE = re.compile(r"^(\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}(T[\d:]+)?|\d{5})$")
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%m/%d/%Y", "%d.%m.%Y", "%Y/%m/%d", "%B %d, %Y", "%d %B %Y",
                 "%b %d, %Y", "%d %b %Y", "%B %Y")


def _answer_date(text: str) -> str:
    """A date answer as ISO 8601, from the forms manufacturers type or Excel stores (a serial day)."""
    value = text.strip()
    if value.isdigit() and 20000 <= int(value) <= 80000:  # an Excel serial day shown as a number
        return plausible_day(date(1899, 12, 30) + timedelta(days=int(value))).isoformat()
    for fmt in _DATE_FORMATS:
        try:
            day = datetime.strptime(value, fmt).date()
        except ValueError:
            continue
        return plausible_day(day).isoformat()
    raise ValueError(f"{text!r} is not a date (such as 2024-03-15)")


def _check_csv_rows(source: str, table: _Table, header_row: int) -> None:
    """A CSV's header names each column once, and every line below it has as many cells."""
    assert table.widths is not None
    seen: set[str] = set()
    for cell in table.rows[header_row]:
        name = _norm_header(cell)
        if name and name in seen:
            raise InputError(source, table.where(header_row), cell, "the header names this column twice")
        seen.add(name)
    expected = table.widths[header_row]
    for r in range(header_row + 1, len(table.rows)):
        if table.widths[r] and table.widths[r] != expected:
            raise InputError(source, table.where(r), None,
                             f"the line has {table.widths[r]} cells, the header {expected} "
                             "(a line cut short or a stray separator?); nothing was imported")


def _read_answers(source: str, table: _Table, layout: _Layout, doc: Mds2Document) -> None:
    catalog = load_catalog()
    seen_at: dict[str, int] = {}
    width = None
    if layout.header_row is not None:
        named = [c for c, h in enumerate(table.rows[layout.header_row]) if h]
        width = max(named) + 1 if named else None
    if table.widths is not None and layout.header_row is not None:
        _check_csv_rows(source, table, layout.header_row)
    for r in range(layout.first_row, len(table.rows)):
        if width is not None and any(table.rows[r][width:]) and _id_of(table.cell(r, layout.id_col)):
            beyond = next(c for c, v in enumerate(table.rows[r]) if c >= width and v)
            raise InputError(source, table.where(r, beyond), None,
                             "a value beyond the last column of the header; "
                             "give it a header or remove it (a stray separator?)")
        raw_id = table.cell(r, layout.id_col)
        answer_text = table.cell(r, layout.answer_col)
        qid = _id_of(raw_id)
        if qid is None:
            if answer_text and _ANSWER.match(answer_text) and raw_id is None:
                raise InputError(source, table.where(r, layout.answer_col), None,
                                 f"an answer ({answer_text!r}) with no question ID in "
                                 f"{table.where(r, layout.id_col).split(', ')[-1]}; add the ID or clear the answer")
            continue  # section headings, blank lines, notes text
        section = qid.split("-", 1)[0]
        if section in catalog.legacy_sections:
            raise InputError(source, table.where(r, layout.id_col), None,
                             f"{qid} belongs to the 2013 MDS2 form (HN 1-2013); radguard reads the 2019 form only")
        qid = catalog.canonical(qid)
        if qid not in catalog.questions:
            raise InputError(source, table.where(r, layout.id_col), None,
                             f"unknown question ID {raw_id!r}: not in the 2019 MDS2 form "
                             "(see docs/vendors.md for the IDs radguard reads); correct the cell")
        note_parts: list[str] = []
        if not answer_text:
            if qid not in doc.answers and qid not in doc.unanswered:
                doc.unanswered.append(qid)
            continue
        if answer_text.upper() in _EXCEL_ERRORS:
            raise InputError(source, table.where(r, layout.answer_col), None,
                             f"the cell holds the spreadsheet error {answer_text}, not an answer; "
                             "fix the formula or type the answer")
        answer, extra = normalize_answer(answer_text)
        if qid in _DATE_QUESTIONS and _LOOKS_LIKE_DATE.match(answer_text.strip()):
            try:
                answer, extra = _answer_date(answer_text), None
            except ValueError as exc:
                raise InputError(source, table.where(r, layout.answer_col), None, f"{qid}: {exc}") from None
        if qid in doc.answers:
            if doc.answers[qid] != answer:
                raise InputError(source, table.where(r, layout.answer_col), None,
                                 f"{qid} is answered twice, differently: {doc.answers[qid]!r} at "
                                 f"{table.where(seen_at[qid], layout.answer_col)} and {answer!r} here")
            continue
        if qid in doc.unanswered:
            doc.unanswered.remove(qid)
        doc.answers[qid] = answer
        seen_at[qid] = r
        if extra:
            note_parts.append(extra)
        note = table.cell(r, layout.note_col) if layout.note_col is not None else None
        if note:
            note_parts.append(note)
        if note_parts:
            doc.notes[qid] = "; ".join(note_parts)
    if not doc.answers:
        raise InputError(source, table.where(layout.first_row, layout.answer_col), None,
                         "the statement has question IDs but no answers")


@dataclass
class Mds2ImportResult:
    asset: str
    evidence_id: int
    answers: int
    unanswered: int
    unchanged: bool
    sheet: str | None
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"asset": self.asset, "evidence_id": self.evidence_id, "answers": self.answers,
                "unanswered": self.unanswered, "unchanged": self.unchanged, "sheet": self.sheet,
                "warnings": self.warnings}


def _manufacturer_mismatch(doc: Mds2Document, asset_vendor: str | None) -> list[str]:
    """A statement from another manufacturer is usually the wrong file; say so, do not refuse."""
    stated = doc.answers.get("DOC-1")
    if not stated or not asset_vendor:
        return []
    a, b = re.sub(r"\W+", " ", stated.casefold()).strip(), re.sub(r"\W+", " ", asset_vendor.casefold()).strip()
    if a and b and (a in b or b in a or a.split()[0] == b.split()[0]):
        return []
    return [f"the statement names manufacturer {stated!r} (DOC-1) but the asset's vendor is {asset_vendor!r}; "
            "check that this is the right file"]


def import_mds2(session: Session, path: Path, asset_ref: str) -> Mds2ImportResult:
    """Store the statement as ``doc.mds2`` evidence of the asset; the same file twice is a no-op."""
    doc = read_mds2(path)
    asset = find_asset(session, asset_ref)
    label = f"{asset.site.code}/{asset.name}"
    warnings = _manufacturer_mismatch(doc, asset.vendor)
    for ev in session.scalars(
        select(Evidence).where(Evidence.kind == EVIDENCE_KIND, Evidence.asset_id == asset.id)
    ):
        if (ev.sent or {}).get("sha256") == doc.sha256:
            return Mds2ImportResult(label, ev.id, len(doc.answers), len(doc.unanswered), True, doc.sheet, warnings)
    evidence = Evidence(
        kind=EVIDENCE_KIND, asset_id=asset.id, source=doc.source,
        sent={"file": doc.source, "sha256": doc.sha256}, received=doc.received(),
    )
    session.add(evidence)
    session.flush()
    return Mds2ImportResult(label, evidence.id, len(doc.answers), len(doc.unanswered), False, doc.sheet, warnings)


def latest_answers(session: Session) -> dict[int, Evidence]:
    """The newest MDS2 evidence of each asset (by collection time, then insertion)."""
    newest: dict[int, Evidence] = {}
    stmt = (select(Evidence)
            .where(Evidence.kind == EVIDENCE_KIND, Evidence.asset_id.is_not(None))
            .order_by(Evidence.collected_at, Evidence.id))
    for ev in session.scalars(stmt):
        if ev.asset_id is not None and (ev.received or {}).get("form") == FORM:
            newest[ev.asset_id] = ev
    return newest
