"""``radguard checklist``: leadership assessments — create, answer, exchange files, score."""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from radguard.cli.common import console, db, print_json
from radguard.readiness.checklists.assessments import (
    answered_count,
    create_assessment,
    get_assessment,
    list_assessments,
)
from radguard.readiness.checklists.exchange import import_answers, parse_answers, write_template
from radguard.readiness.checklists.loader import load_catalog
from radguard.readiness.checklists.questionnaire import run_questionnaire
from radguard.readiness.checklists.report import close_assessment, score_assessment
from radguard.wording import noun, plural

checklist_app = typer.Typer(help="Leadership checklists: maturity answers tied to evidence.", no_args_is_help=True)
assessment_app = typer.Typer(help="Assessments: dated, versioned snapshots of the answers.", no_args_is_help=True)
checklist_app.add_typer(assessment_app, name="assessment")

ASSESSMENT_OPT = typer.Option(None, "--assessment", "-a", help="Assessment ID (default: the newest).")


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return None


@assessment_app.command("create")
def create_cmd(
    ctx: typer.Context,
    org: str = typer.Option(..., "--org", help="Organization name."),
    size: str = typer.Option(..., "--size", help="small, medium or large (selects questions and targets)."),
    site: str = typer.Option("", "--site", help="Site code, for a site-level assessment."),
    on: str | None = typer.Option(None, "--date", help="Assessment date, YYYY-MM-DD (default: today)."),
    blank: bool = typer.Option(False, "--blank", help="Start empty instead of copying the previous answers."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Start the next version of the assessment (copying the previous answers unless --blank)."""
    assessed_on = None
    if on:
        try:
            assessed_on = date.fromisoformat(on)
        except ValueError as exc:
            raise typer.BadParameter(f"{on!r} is not a date like 2026-11-21", param_hint="--date") from exc
    with db(ctx).transaction() as session:
        a = create_assessment(session, org, size, site_code=site, assessed_on=assessed_on, created_by=_user(),
                              carry_forward=not blank)
        doc = {"id": a.id, "organization": a.organization, "site": a.site_code or None, "size": a.size,
               "version": a.version, "assessed_on": a.assessed_on, "carried_answers": len(a.answers)}
    if json_out:
        print_json(doc)
        return
    console.print(f"assessment {doc['id']}: {org} version {doc['version']} ({size}), "
                  f"{doc['carried_answers']} answers carried forward")


@assessment_app.command("list")
def list_cmd(ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List assessments by organization, site and version."""
    with db(ctx).read() as session:
        rows: list[dict[str, Any]] = [{
                 "id": a.id, "organization": a.organization, "site": a.site_code or None, "size": a.size,
                 "version": a.version, "assessed_on": a.assessed_on, "status": a.status,
                 "answered": answered_count(session, a),
                 "questions": len(load_catalog().questions_for(a.size))} for a in list_assessments(session)]
    if json_out:
        print_json(rows)
        return
    table = Table("ID", "Organization", "Site", "Size", "Version", "Date", "Status", "Answered")
    for r in rows:
        table.add_row(str(r["id"]), r["organization"], r["site"] or "", r["size"], str(r["version"]),
                      r["assessed_on"].isoformat(), r["status"], f"{r['answered']}/{r['questions']}")
    console.print(table)


@assessment_app.command("close")
def close_cmd(ctx: typer.Context, assessment: int | None = ASSESSMENT_OPT) -> None:
    """Freeze an assessment: its answers and score become the snapshot later versions compare with."""
    with db(ctx).transaction() as session:
        a = get_assessment(session, assessment)
        snapshot = close_assessment(session, a)
        label = f"assessment {a.id} ({a.organization} v{a.version})"
    console.print(f"{label} closed with overall maturity {snapshot['overall']['score']} of 4")


@checklist_app.command("questions")
def questions_cmd(
    domain: str | None = typer.Option(None, "--domain", help="Only this domain key."),
    size: str | None = typer.Option(None, "--size", help="Only questions for this organization size."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the checklist questions with their domains, sizes, frameworks and linked checks."""
    catalog = load_catalog()
    qs = [q for q in catalog.questions if (domain is None or q.domain == domain) and (size is None or size in q.sizes)]
    if json_out:
        print_json([q.model_dump() for q in qs])
        return
    table = Table("ID", "Domain", "Question", "Sizes", "Checks")
    for q in qs:
        table.add_row(q.id, q.domain, q.text, ",".join(s[0].upper() for s in q.sizes), " ".join(q.checks))
    console.print(table)


@checklist_app.command("answer")
def answer_cmd(
    ctx: typer.Context,
    assessment: int | None = ASSESSMENT_OPT,
    domain: str | None = typer.Option(None, "--domain", help="Only this domain."),
    revisit: bool = typer.Option(False, "--revisit", help="Ask answered questions again too."),
) -> None:
    """Answer the checklist interactively; each answer is saved at once, so you can stop and resume."""
    database = db(ctx)

    def ask(prompt: str) -> str:
        try:
            return console.input(Text(prompt))
        except EOFError:
            return "q"

    def say(text: str) -> None:
        console.print(text, highlight=False, markup=False)

    run_questionnaire(database, ask, say, assessment_id=assessment, domain=domain, revisit=revisit,
                      answered_by=_user())


@checklist_app.command("template")
def template_cmd(
    ctx: typer.Context,
    output: Path = typer.Option(..., "-o", "--output", help="File to write (.yaml or .csv)."),
    assessment: int | None = ASSESSMENT_OPT,
    fmt: str | None = typer.Option(None, "--format", help="yaml or csv (default: from the extension)."),
) -> None:
    """Write a template to send to respondents, pre-filled with the current answers."""
    with db(ctx).read() as session:
        a = get_assessment(session, assessment)
        count = write_template(session, a, output, fmt)
    console.print(f"wrote {count} questions to {output}")


@checklist_app.command("import")
def import_cmd(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="A filled-in template (.yaml or .csv)."),
    assessment: int | None = ASSESSMENT_OPT,
    fmt: str | None = typer.Option(None, "--format", help="yaml or csv (default: from the extension)."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import answers. All or nothing: the first invalid answer is reported and nothing is saved."""
    parsed = parse_answers(file, fmt)
    with db(ctx).transaction() as session:
        a = get_assessment(session, assessment if assessment is not None else parsed.assessment_id)
        result = import_answers(session, a, parsed, str(file), answered_by=_user())
        target = f"assessment {a.id}"
    if json_out:
        print_json({"assessment": a.id, **result.as_dict()})
        return
    console.print(f"imported {file} into {target}: {result.answered} answered, "
                  f"{result.not_applicable} not applicable, {result.blank} left blank")


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.2f}" if signed else f"{value:.2f}"


@checklist_app.command("score")
def score_cmd(
    ctx: typer.Context,
    assessment: int | None = ASSESSMENT_OPT,
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Maturity per domain, per CSF 2.0 function and overall, against the size target, with challenges."""
    with db(ctx).read() as session:
        doc = score_assessment(session, get_assessment(session, assessment))
    if json_out:
        print_json(doc)
        return
    _print_score(doc)


def _print_score(doc: dict[str, Any]) -> None:
    a = doc["assessment"]
    change = doc["change"] or {}
    console.print(f"[bold]{a['organization']}[/]{' / ' + a['site'] if a['site'] else ''} — {a['size']} profile, "
                  f"assessment {a['id']} v{a['version']} ({a['assessed_on']}, {a['status']})", highlight=False)
    overall = doc["overall"]
    line = f"Overall maturity {_fmt(overall['score'])} of 4 ({overall['percent']}%), " \
           f"{overall['answered']}/{overall['applicable']} answered, {overall['challenged']} challenged"
    if doc["previous"]:
        line += f"; change since v{doc['previous']['version']}: {_fmt(change.get('overall'), True)}"
    console.print(line, highlight=False)
    table = Table("Domain", "Score", "Target", "Gap", "Answered", "Challenged", "Change")
    for d in doc["domains"]:
        table.add_row(d["title"], _fmt(d["score"]), str(d["target"]), _fmt(d["gap"]),
                      f"{d['answered']}/{d['applicable']}", str(d["challenged"] or ""),
                      _fmt((change.get("domains") or {}).get(d["key"]), True) if doc["previous"] else "")
    console.print(table)
    ftable = Table("CSF 2.0 function", "Score", "Questions", "Change")
    for f in doc["functions"]:
        ftable.add_row(f"{f['title']} ({f['key']})", _fmt(f["score"]), str(f["applicable"]),
                       _fmt((change.get("functions") or {}).get(f["key"]), True) if doc["previous"] else "")
    console.print(ftable)
    for c in doc["challenged"]:
        n = len(c["findings"])
        console.print(f"[yellow]challenged[/] {c['question']}: answered {c['claimed']}, counted as {c['capped_to']} "
                      f"while {plural(n, 'finding')} {noun(n, 'is', 'are')} open:", highlight=False)
        for f in c["findings"][:5]:
            console.print(f"    #{f['id']} {f['check_id']} {f['severity']} — {f['subject']}", highlight=False)
        if len(c["findings"]) > 5:
            console.print(f"    … and {len(c['findings']) - 5} more", highlight=False)
    if doc["unanswered"]:
        console.print(f"{len(doc['unanswered'])} unanswered (count as 0): {' '.join(doc['unanswered'][:15])}"
                      f"{' …' if len(doc['unanswered']) > 15 else ''}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(checklist_app, name="checklist")
