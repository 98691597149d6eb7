"""``radguard roadmap``: what to do next, ordered, from checklist gaps and open findings."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from radguard.cli.common import console, db, err_console, print_json, progress_bar
from radguard.readiness.dashboard import STEPS, rerank
from radguard.readiness.roadmap import (
    ENV_CAPACITY,
    capacity_line,
    findings_closed,
    priority_label,
    to_csv,
    to_markdown,
)
from radguard.readiness.roadmap_store import RoadmapView, current_roadmap
from radguard.web.audit import record_cli
from radguard.wording import RERANK_STEPS, ranking_note


def say_if_stale(view: RoadmapView) -> None:
    """On stderr, when decisions came after the stored ranking: the page's words, and how to re-rank.

    Used by ``radguard roadmap`` and ``radguard tickets … --roadmap``, so a terminal says what
    the roadmap page says (stdout stays the document, CSV or table).
    """
    if view.ranked_at is not None and view.stale:
        err_console.print(f"{ranking_note(view.ranked_at, view.stale)} Re-rank with `radguard roadmap --re-rank`.",
                          highlight=False)


def roadmap_cmd(
    ctx: typer.Context,
    assessment: int | None = typer.Option(None, "--assessment", "-a", help="Checklist assessment (default: newest)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    fmt: str | None = typer.Option(None, "--format", help="md (Markdown) or csv, printed on stdout."),
    capacity: float | None = typer.Option(
        None, "--capacity", min=0.1, max=10000,
        help=f"Effort points the team completes per 30 days; fills the horizons in rank order (default: "
             f"${ENV_CAPACITY}, else roadmap.yaml's capacity_per_30_days, 10)."),
    re_rank: bool = typer.Option(
        False, "--re-rank",
        help="Rank the register again now and store it (after decisions or checklist answers), then print it."),
) -> None:
    """Checklist gaps and open findings as actions ranked by risk reduced per effort point, in horizons by capacity.

    Prints the ranking stored by the last assessment (the web roadmap shows the same one), and says
    so on stderr when decisions came after it; --assessment or another --capacity rank live.
    """
    if fmt is not None and fmt not in ("md", "csv"):
        raise typer.BadParameter("use md or csv", param_hint="--format")
    if re_rank:
        # Synchronous, with its steps on standard error (after a second; the web's button runs it as a job).
        with db(ctx).transaction() as session, \
                progress_bar(f"re-ranking: {RERANK_STEPS['reading']}", total=len(STEPS)) as step:
            snapshot = rerank(session, on_step=lambda key: step(f"re-ranking: {RERANK_STEPS[key]}"))
            record_cli(session, "roadmap.rerank", target=f"dashboard_snapshot:{snapshot.id}")
    with db(ctx).read() as session:
        view = current_roadmap(session, assessment_id=assessment, capacity=capacity, full=json_out)
    doc = view.doc
    say_if_stale(view)
    if json_out:
        print_json(view.document())
    elif fmt == "csv":
        sys.stdout.write(to_csv(doc))
    elif fmt == "md":
        sys.stdout.write(to_markdown(doc) + "\n")
    else:
        s = doc["summary"]
        console.print(f"{s['actions']} actions, {s['risk_points']} risk points; "
                      + ", ".join(f"{k}: {v}" for k, v in s["by_horizon"].items()), highlight=False)
        console.print(capacity_line(doc), highlight=False)
        table = Table("#", "Horizon", "Action", "Why", "Risk ↓", "Effort (pts)", "Priority", "Running pts", "Owner",
                      "After")
        for a in doc["actions"]:
            why = f"{findings_closed(a)} findings" if findings_closed(a) else ""
            qs = " ".join(q["id"] for q in a["why"]["questions"])
            table.add_row(str(a["rank"]), a["horizon"], f"{a['id']}: {a['what']}", " ".join(x for x in (why, qs) if x),
                          str(a["risk_reduction"]), f"{a['effort']} ({a['effort_points']:g})", priority_label(a),
                          f"{a['cumulative_effort']:g}", a["owner"], " ".join(a["depends_on"]))
        console.print(table)


def register(app: typer.Typer) -> None:
    app.command("roadmap")(roadmap_cmd)
