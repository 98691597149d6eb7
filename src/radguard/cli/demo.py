"""``radguard demo``: a simulated imaging enterprise on loopback, run end to end."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from radguard.cli.common import console, err_console, print_json, state, terminate_as_interrupt
from radguard.demo.run import STAGES, DemoOptions, DemoResult, run_demo


def summary_lines(summary: dict[str, Any], database: str) -> list[str]:
    """The demo's summary as the lines it prints above the top-five table.

    The README quotes them; tests/demo checks the quote against a real run, so it cannot go stale.

    :param summary: ``DemoResult.summary`` (what ``--json`` prints).
    :param database: where the demo's database is.
    """
    s = summary
    nodes, findings, seeded = s["nodes"], s["findings"], s["seeded_weaknesses"]
    lines = [f"radguard demo finished in {s['seconds']:.0f} s. Database: {database}"]
    services = ", ".join(f"{n} {name}" for name, n in sorted(nodes["services"].items()))
    lines.append(f"Nodes found: {nodes['found']} of {nodes['simulated']} simulated ({services})")
    sev = ", ".join(f"{n} {name}" for name, n in findings["by_severity"].items() if n)
    lines.append(f"Open findings: {findings['open']} ({sev})")
    lines.append(f"Seeded network weaknesses found: {seeded['found']} of {seeded['expected']}"
                 + (f"; missing: {', '.join(seeded['missing'])}" if seeded["missing"] else "")
                 + (f"; not seeded: {', '.join(seeded['unexpected'])}" if seeded["unexpected"] else ""))
    readiness = s["readiness"]
    if readiness["score"] is not None:
        target = f", target {readiness['target']:.1f}" if readiness["target"] is not None else ""
        lines.append(f"Readiness (leadership checklist): {readiness['score']:.2f} of 4 ({readiness['percent']}%)"
                     f"{target}")
    backup = s["backup"]["counts"]
    bad = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in backup.items() if n and k != "ok")
    rto = s["backup"].get("rto")
    lines.append(f"Backup copy: {backup.get('ok', 0)} instances ok, {bad or 'no damage'}"
                 + (f"; RTO {rto['hours']:g} h {rto['words']}" if rto else ""))
    return lines


def _print(result: DemoResult) -> None:
    s = result.summary
    head, *rest = summary_lines(s, result.database)
    console.print(head.replace("radguard demo", "[bold]radguard demo[/]", 1), highlight=False)
    for line in rest:
        console.print(line, highlight=False)
    table = Table("#", "Top action", "Findings", "Horizon", "Owner", title="Top five actions (radguard roadmap)",
                  title_justify="left")
    for action in s["top_actions"]:
        table.add_row(str(action["rank"]), action["title"], str(action["findings"] or ""), action["horizon"],
                      action["owner"])
    console.print(table)
    console.print("Reports:", highlight=False)
    for name, path in result.reports.items():
        console.print(f"  {name.replace('_', ' ')}: {path}", highlight=False)


def _wait_for_interrupt(json_out: bool) -> Any:
    def wait(result: DemoResult) -> None:
        try:  # Ctrl-C at any point from here on is the expected way to finish
            if json_out:
                print_json(result.summary | {"database": result.database, "reports": result.reports})
            else:
                _print(result)
            sys.stdout.flush()  # a pipe reader sees the summary while the network keeps running
            for node in result.summary["network"]:
                err_console.print(f"  {node['endpoint']:<22} {node['kind']:<6} {node['asset']}", highlight=False)
            err_console.print("The simulated network keeps running (try `radguard discover` on the endpoints "
                              "above); press Ctrl-C to stop it.", highlight=False, soft_wrap=True)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            err_console.print("stopping the simulated network")

    return wait


def demo_cmd(
    ctx: typer.Context,
    out: Path = typer.Option(Path("radguard-demo"), "--out", help="Folder for the demo database, reports and "
                                                                   "DICOM samples (recreated parts each run)."),
    keep_running: bool = typer.Option(False, "--keep-running", help="Keep the simulated network up after the "
                                                                    "demo until Ctrl-C."),
    json_out: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
    db_url: str | None = typer.Option(None, "--db", help="Load the demo into this database (URL or SQLite path) "
                                                         "instead of a fresh OUT/demo.db. Same as the global --db."),
) -> None:
    """Run radguard end to end on a simulated imaging network on loopback (127.x.y.z).

    Starts a few dozen simulated DICOM, DICOMweb, HTTPS and HL7 nodes, loads a fictional two-site
    inventory and real advisory samples into the demo's own database (OUT/demo.db, recreated each
    run; the global --db is used only if you give it), runs discovery, assessment, checklist
    scoring, backup verification and the roadmap, and writes the executive and technical reports.
    """
    # Only an explicit --db (here or before the command); never $RADGUARD_DB or the default database.
    db_url = db_url or state(ctx).db_url
    options = DemoOptions(out=out.resolve(), db_url=db_url, keep_running=keep_running,
                          wait=_wait_for_interrupt(json_out))
    with terminate_as_interrupt(), Progress(
        TextColumn("demo: {task.description:<22}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err_console, transient=True, disable=json_out,
    ) as progress:
        task = progress.add_task("starting", total=len(STAGES))
        seen: list[str] = []

        def step(name: str) -> None:
            if seen:
                progress.advance(task)
            seen.append(name)
            progress.update(task, description=name)

        try:
            result = run_demo(options, step)
        except KeyboardInterrupt:
            progress.stop()
            err_console.print("demo interrupted; the simulated network is stopped and no process is left behind",
                              highlight=False)
            raise typer.Exit(130) from None
    if keep_running:
        return  # already printed by the wait callback
    if json_out:
        print_json(result.summary | {"database": result.database, "reports": result.reports})
        return
    _print(result)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_cmd)
