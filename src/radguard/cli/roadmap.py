"""``radguard roadmap``: what to do next, ordered, from checklist gaps and open findings."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from radguard.cli.common import console, db, print_json
from radguard.readiness.roadmap import ENV_CAPACITY, build_roadmap, capacity_line, priority_label, to_csv, to_markdown


def roadmap_cmd(
    ctx: typer.Context,
    assessment: int | None = typer.Option(None, "--assessment", "-a", help="Checklist assessment (default: newest)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    fmt: str | None = typer.Option(None, "--format", help="md (Markdown) or csv, printed on stdout."),
    capacity: float | None = typer.Option(
        None, "--capacity", min=0.1, max=10000,
        help=f"Effort points the team completes per 30 days; fills the horizons in rank order (default: "
             f"${ENV_CAPACITY}, else roadmap.yaml's capacity_per_30_days, 10)."),
) -> None:
    """Checklist gaps and open findings as actions ranked by risk reduced per effort point, in horizons by capacity."""
    if fmt is not None and fmt not in ("md", "csv"):
        raise typer.BadParameter("use md or csv", param_hint="--format")
    with db(ctx).read() as session:
        doc = build_roadmap(session, assessment, capacity=capacity)
    if json_out:
        print_json(doc)
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
            why = f"{len(a['why']['findings'])} findings" if a["why"]["findings"] else ""
            qs = " ".join(q["id"] for q in a["why"]["questions"])
            table.add_row(str(a["rank"]), a["horizon"], f"{a['id']}: {a['what']}", " ".join(x for x in (why, qs) if x),
                          str(a["risk_reduction"]), f"{a['effort']} ({a['effort_points']:g})", priority_label(a),
                          f"{a['cumulative_effort']:g}", a["owner"], " ".join(a["depends_on"]))
        console.print(table)


def register(app: typer.Typer) -> None:
    app.command("roadmap")(roadmap_cmd)
