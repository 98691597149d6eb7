"""The interactive questionnaire behind `radguard checklist answer`.

It asks the unanswered questions one at a time and saves each answer in its own transaction
as soon as it is given, so closing the terminal, pressing Ctrl-C or typing ``q`` loses nothing:
running the command again resumes at the first unanswered question. Input and output are
passed in, so the same flow runs in a terminal and under test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from radguard.db.session import Database
from radguard.readiness.checklists.assessments import (
    AnswerError,
    AnswerInput,
    answers_of,
    ensure_open,
    get_assessment,
    parse_value,
    record_answer,
)
from radguard.readiness.checklists.evidence import CHALLENGE_CAP, FindingRef, open_findings
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.checklists.models import SCALE, Question
from radguard.wording import noun, plural

Ask = Callable[[str], str]
Say = Callable[[str], None]


class Quit(Exception):
    """The respondent asked to stop; everything answered so far is already saved."""


@dataclass
class Outcome:
    asked: int = 0
    answered: int = 0
    skipped: int = 0
    remaining: int = 0
    quit: bool = False


def _scale_line() -> str:
    return "  ".join(f"{level}={label}" for level, label in SCALE.items()) + "  na=not applicable"


def _ask_value(ask: Ask, say: Say) -> tuple[int | None, bool] | None:
    """Returns (level, na), or None to skip; raises Quit."""
    while True:
        raw = ask("Answer [0-4, na, s=skip, q=save and quit, ?=scale]: ").strip().lower()
        if raw in ("q", "quit"):
            raise Quit
        if raw in ("s", "skip"):
            return None
        if raw in ("?", "h", "help"):
            say(_scale_line())
            continue
        try:
            value, na = parse_value(raw)
        except AnswerError as exc:
            say(f"  {exc.problem}")
            continue
        if value is None and not na:
            say("  type a level 0-4, na, s to skip or q to quit")
            continue
        return value, na


def run_questionnaire(database: Database, ask: Ask, say: Say, *, assessment_id: int | None = None,
                      domain: str | None = None, revisit: bool = False, answered_by: str | None = None) -> Outcome:
    catalog = load_catalog()
    with database.read() as session:
        assessment = get_assessment(session, assessment_id)
        ensure_open(assessment)
        size, aid = assessment.size, assessment.id
        existing = answers_of(session, assessment)
        findings = open_findings(session, {c for q in catalog.questions for c in q.checks})
        label = f"{assessment.organization}{' / ' + assessment.site_code if assessment.site_code else ''}"
        version = assessment.version
    if domain is not None and domain not in {d.key for d in catalog.domains}:
        raise AnswerError("domain", f"unknown domain {domain!r}; one of {', '.join(d.key for d in catalog.domains)}")
    questions = [q for q in catalog.questions_for(size) if domain is None or q.domain == domain]
    todo = [q for q in questions if revisit or not _is_answered(existing.get(q.id))]
    outcome = Outcome(remaining=len(todo))
    done = len(questions) - len(todo)
    say(f"Checklist for {label} ({size}), assessment {aid} v{version}: "
        f"{done} of {len(questions)} answered, {len(todo)} to go. Answers are saved as you go.")
    last_owner: dict[str, str] = {}
    for index, question in enumerate(todo, start=1):
        previous = existing.get(question.id)
        _show(question, catalog.domain(question.domain).title, index, len(todo), previous, findings, say)
        outcome.asked += 1
        try:
            choice = _ask_value(ask, say)
        except Quit:
            outcome.quit = True
            break
        if choice is None:
            outcome.skipped += 1
            continue
        value, na = choice
        reason = None
        if na:
            while not reason:
                reason = ask("Why does it not apply? ").strip()
                if not reason:
                    say("  a reason is required for not applicable")
        default_owner = (previous.owner if previous and previous.owner else None) \
            or last_owner.get(question.domain) or catalog.domain(question.domain).owner
        owner = ask(f"Owner [{default_owner}]: ").strip() or default_owner
        notes = ask("Notes (Enter for none): ").strip() or (previous.notes if previous else None)
        link = ask("Evidence link (Enter for none): ").strip()
        evidence = list(previous.evidence) if previous else []
        if link and link not in evidence:
            evidence.append(link)
        answer = AnswerInput(question.id, value, na, reason, owner, notes, evidence)
        with database.transaction() as session:
            record_answer(session, get_assessment(session, aid), answer, answered_by=answered_by)
        last_owner[question.domain] = owner
        outcome.answered += 1
        outcome.remaining -= 1
        against = [f for c in question.checks for f in findings.get(c, [])]
        if value is not None and value > CHALLENGE_CAP and against:
            say(f"  saved. Challenged by evidence: {plural(len(against), 'open finding')} "
                f"({', '.join(sorted({f.check_id for f in against}))}); this answer scores at most "
                f"{CHALLENGE_CAP} ({SCALE[CHALLENGE_CAP]}) until they are resolved.")
        else:
            say("  saved.")
    if outcome.quit:
        say(f"Stopped. {outcome.answered} answer(s) saved; run the same command to continue "
            f"({outcome.remaining} left).")
    else:
        say(f"Done: {outcome.answered} answered, {outcome.skipped} skipped. "
            "See `radguard checklist score` for the result.")
    return outcome


def _is_answered(answer: AnswerInput | None) -> bool:
    return answer is not None and (answer.not_applicable or answer.value is not None)


def _show(question: Question, domain_title: str, index: int, total: int, previous: AnswerInput | None,
          findings: dict[str, list[FindingRef]], say: Say) -> None:
    say("")
    say(f"[{index}/{total}] {question.id} · {domain_title}")
    say(question.text)
    say(f"  Good practice: {question.guidance}")
    if previous is not None and (previous.value is not None or previous.not_applicable):
        say(f"  Previous answer: {'na' if previous.not_applicable else previous.value}")
    for check_id in question.checks:
        count = len(findings.get(check_id, []))
        if count:
            speak = noun(count, "finding speaks", "findings speak")
            say(f"  Evidence: {count} open {check_id} {speak} against a high answer.")
