"""``radguard notify``: change-only notifications (e-mail, signed webhooks, Teams, Slack) and their log."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from radguard.cli.common import console, db, print_json

notify_app = typer.Typer(help="Change-only notifications: rules, channels and the notification log.",
                         no_args_is_help=True)


@notify_app.command("run")
def run_cmd(
    ctx: typer.Context,
    rules: Path = typer.Option(..., "--rules", help="The rules file (YAML; docs/integrations.md)."),
    json_out: bool = typer.Option(False, "--json", help="Print the counts as JSON."),
) -> None:
    """Send what changed since the last run to each rule's channel, and log every attempt."""
    from radguard.integrations.notify import load_rules, run

    parsed = load_rules(rules)
    with db(ctx).transaction() as session:
        counts = run(session, parsed)
    if json_out:
        print_json(counts)
    else:
        console.print(f"sent {counts['sent']}, failed {counts['failed']}, deferred {counts['deferred']}")


@notify_app.command("log")
def log_cmd(
    ctx: typer.Context,
    limit: int = typer.Option(100, "--limit", help="Newest entries to show."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The notification log, newest first."""
    from radguard.integrations.notify import log

    with db(ctx).read() as session:
        rows = log(session, limit)
    if json_out:
        print_json(rows)
        return
    table = Table("at", "rule", "event", "channel", "status", "attempts", "detail")
    for r in rows:
        table.add_row(r["at"].isoformat(timespec="seconds"), r["rule"], r["event_key"], r["channel"], r["status"],
                      str(r["attempts"]), r["detail"] or "")
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(notify_app, name="notify")
