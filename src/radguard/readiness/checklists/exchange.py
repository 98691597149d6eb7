"""Checklist templates and answer files: send a file to respondents, bring it back, import it.

Two formats carry the same fields. YAML keeps the question text and guidance beside each
answer as a readable form; CSV opens in a spreadsheet. Importing is all-or-nothing: the whole
file is validated first, and the first problem is reported with its line and field, so a
half-imported file never mixes old and new answers.

Columns / keys: ``question`` (ID), ``answer`` (0–4, ``na`` or blank for "not answered yet"),
``na_reason`` (required with ``na``), ``owner``, ``notes``, ``evidence`` (links; in CSV
separated by ``;``). ``domain``, ``text`` and ``guidance`` are for the reader and ignored on import.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.orm import Session

from radguard.db.models.checklists import ChecklistAssessment
from radguard.errors import InputError
from radguard.outfiles import write_file
from radguard.readiness.checklists.assessments import (
    AnswerError,
    AnswerInput,
    answers_of,
    ensure_open,
    parse_value,
    record_answer,
    validate_answer,
)
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.checklists.models import SCALE
from radguard.textfiles import parse_yaml_nodes, read_csv, read_text

CSV_COLUMNS = ["question", "domain", "text", "answer", "na_reason", "owner", "notes", "evidence"]
_EDITABLE = {"question", "answer", "na_reason", "owner", "notes", "evidence"}
_READ_ONLY = {"domain", "text", "guidance"}


def detect_format(path: Path, fmt: str | None) -> str:
    chosen = (fmt or path.suffix.lstrip(".")).lower()
    if chosen == "yml":
        chosen = "yaml"
    if chosen not in ("yaml", "csv"):
        raise InputError(str(path), None, None, "cannot tell the format; use a .yaml or .csv file or --format")
    return chosen


def template_rows(session: Session, assessment: ChecklistAssessment) -> list[dict[str, Any]]:
    """One row per applicable question, pre-filled with the current answers."""
    catalog = load_catalog()
    current = answers_of(session, assessment)
    rows = []
    for q in catalog.questions_for(assessment.size):
        a = current.get(q.id)
        answer: Any = None
        if a is not None:
            answer = "na" if a.not_applicable else a.value
        rows.append({
            "question": q.id, "domain": catalog.domain(q.domain).title, "text": q.text, "guidance": q.guidance,
            "answer": answer, "na_reason": a.na_reason if a else None, "owner": a.owner if a else None,
            "notes": a.notes if a else None, "evidence": list(a.evidence) if a else [],
        })
    return rows


def write_template(session: Session, assessment: ChecklistAssessment, path: Path, fmt: str | None = None) -> int:
    rows = template_rows(session, assessment)
    if detect_format(path, fmt) == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "answer": "" if row["answer"] is None else row["answer"],
                             "evidence": "; ".join(row["evidence"])})
        write_file(path, buffer.getvalue())
        return len(rows)
    scale = ", ".join(f"{level} {label}" for level, label in SCALE.items())
    header = (
        f"# radguard checklist for {assessment.organization}"
        f"{' / ' + assessment.site_code if assessment.site_code else ''} ({assessment.size}), "
        f"assessment {assessment.id} version {assessment.version}.\n"
        f"# answer: {scale}; 'na' with a na_reason when a question does not apply; blank = not answered yet.\n"
        "# Only question, answer, na_reason, owner, notes and evidence are read back by `radguard checklist import`.\n"
    )
    body = yaml.safe_dump({"assessment": assessment.id, "answers": rows}, sort_keys=False, allow_unicode=True,
                          width=100)
    write_file(path, header + body)
    return len(rows)


@dataclass
class ParsedFile:
    assessment_id: int | None
    answers: list[tuple[str, AnswerInput]]  # (location, answer)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value).strip() or None


def _answer_from(record: dict[str, Any], evidence: list[str]) -> AnswerInput:
    question = _text(record.get("question"))
    if question is None:
        raise AnswerError("question", "the question ID is missing")
    value, na = parse_value(record.get("answer"))
    return AnswerInput(question_id=question, value=value, not_applicable=na, na_reason=_text(record.get("na_reason")),
                       owner=_text(record.get("owner")), notes=_text(record.get("notes")), evidence=evidence)


def _parse_csv(path: Path, text: str) -> ParsedFile:
    table = read_csv(text.splitlines(keepends=True), str(path))
    fields = table.header
    where = f"line {table.header_line}"
    if "question" not in fields or "answer" not in fields:
        raise InputError(str(path), where, None, "the header must include the columns 'question' and 'answer'")
    unknown = set(fields) - _EDITABLE - _READ_ONLY
    if unknown:
        raise InputError(str(path), where, sorted(unknown)[0],
                         f"unknown column; expected some of {', '.join(CSV_COLUMNS)}")
    out: list[tuple[str, AnswerInput]] = []
    for record in table.rows:
        row = record.cells
        location = f"line {record.line}"
        if not any(v.strip() for v in row.values()):
            continue
        evidence = [p.strip() for p in (row.get("evidence") or "").split(";") if p.strip()]
        try:
            out.append((location, _answer_from(row, evidence)))
        except AnswerError as exc:
            raise InputError(str(path), location, exc.field, exc.problem) from exc
    return ParsedFile(None, out)


def _parse_yaml(path: Path, text: str) -> ParsedFile:
    data, root = parse_yaml_nodes(text, str(path))
    if not isinstance(data, dict) or not isinstance(data.get("answers"), list):
        raise InputError(str(path), "line 1", "answers", "expected a mapping with an 'answers' list")
    assert isinstance(root, yaml.MappingNode)
    answers_node = next(v for k, v in root.value if k.value == "answers")
    assert isinstance(answers_node, yaml.SequenceNode)
    assessment_id = data.get("assessment")
    if assessment_id is not None and not isinstance(assessment_id, int):
        raise InputError(str(path), "line 1", "assessment", "must be an assessment number")
    out: list[tuple[str, AnswerInput]] = []
    for record, node in zip(data["answers"], answers_node.value, strict=True):
        location = f"line {node.start_mark.line + 1}"
        if not isinstance(record, dict):
            raise InputError(str(path), location, None, "each answer must be a mapping (question, answer, …)")
        field_lines = ({k.value: v.start_mark.line + 1 for k, v in node.value}
                       if isinstance(node, yaml.MappingNode) else {})
        unknown = set(record) - _EDITABLE - _READ_ONLY
        if unknown:
            key = sorted(unknown)[0]
            raise InputError(str(path), f"line {field_lines.get(key, node.start_mark.line + 1)}", key,
                             f"unknown field; expected {', '.join(sorted(_EDITABLE))}")
        evidence_raw = record.get("evidence") or []
        if isinstance(evidence_raw, str):
            evidence_raw = [evidence_raw]
        try:
            if not isinstance(evidence_raw, list):
                raise AnswerError("evidence", "must be a list of links")
            answer = _answer_from(record, [str(e) for e in evidence_raw])
        except AnswerError as exc:
            raise InputError(str(path), f"line {field_lines.get(exc.field, node.start_mark.line + 1)}",
                             exc.field, exc.problem) from exc
        out.append((f"line {field_lines.get('answer', node.start_mark.line + 1)}", answer))
    return ParsedFile(assessment_id, out)


def parse_answers(path: Path, fmt: str | None = None) -> ParsedFile:
    text = read_text(path)
    return _parse_csv(path, text) if detect_format(path, fmt) == "csv" else _parse_yaml(path, text)


@dataclass
class ImportResult:
    answered: int
    not_applicable: int
    blank: int

    def as_dict(self) -> dict[str, int]:
        return {"answered": self.answered, "not_applicable": self.not_applicable, "blank": self.blank}


def import_answers(session: Session, assessment: ChecklistAssessment, parsed: ParsedFile, source: str,
                   answered_by: str | None = None) -> ImportResult:
    """Validate every answer, then record them all (in the caller's transaction)."""
    ensure_open(assessment)
    catalog = load_catalog()
    seen: dict[str, str] = {}
    for location, answer in parsed.answers:
        if answer.question_id in seen:
            raise InputError(source, location, "question",
                             f"{answer.question_id} is answered twice (also at {seen[answer.question_id]})")
        seen[answer.question_id] = location
        try:
            validate_answer(catalog, assessment.size, answer)
        except AnswerError as exc:
            raise InputError(source, location, exc.field, exc.problem) from exc
    result = ImportResult(0, 0, 0)
    for _location, answer in parsed.answers:
        if answer.value is None and not answer.not_applicable:
            result.blank += 1
            continue
        record_answer(session, assessment, answer, answered_by=answered_by)
        if answer.not_applicable:
            result.not_applicable += 1
        else:
            result.answered += 1
    return result
