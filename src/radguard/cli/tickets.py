"""``radguard tickets``: open findings handed to Jira or to a ServiceNow import set."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from radguard.cli.common import console, db, print_json

tickets_app = typer.Typer(help="Hand open findings (or the roadmap's actions) to Jira or ServiceNow; re-exports "
                               "update the same tickets.",
                          no_args_is_help=True)


@tickets_app.command("jira")
def jira_cmd(
    ctx: typer.Context,
    url: str = typer.Option(..., "--url", help="The Jira site, e.g. https://example.atlassian.net."),
    project: str = typer.Option(..., "--project", help="Project key."),
    user: str = typer.Option(..., "--user", help="The account's e-mail address."),
    token_env: str = typer.Option("RADGUARD_JIRA_TOKEN", "--token-env", help="Variable holding the API token."),
    issue_type: str = typer.Option("Task", "--issue-type", help="Issue type name."),
    state: list[str] = typer.Option(["open"], "--state", help="Finding states to export (repeatable)."),
    roadmap: bool = typer.Option(False, "--roadmap",
                                 help="Export the roadmap's actions (one issue per action) instead of findings."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Create or update one Jira issue per finding (or per roadmap action); the key is stored in radguard."""
    from jira import JIRA
    from jira.exceptions import JIRAError

    from radguard.cli.roadmap import say_if_stale
    from radguard.errors import InputError
    from radguard.integrations.tickets import TicketError, export_jira, export_roadmap_jira, roadmap_view

    token = os.environ.get(token_env)
    if not token:
        raise InputError(token_env, None, None, "set this environment variable to the Jira API token")
    try:
        client = JIRA(server=url, basic_auth=(user, token), max_retries=1, timeout=30)
    except JIRAError as exc:
        raise TicketError(f"cannot use Jira at {url}: HTTP {exc.status_code}") from None
    with db(ctx).transaction() as session:
        if roadmap:
            view = roadmap_view(session)
            say_if_stale(view)
            result = export_roadmap_jira(session, client, project, issue_type, view=view)
        else:
            result = export_jira(session, client, project, state, issue_type)
    if json_out:
        print_json(result)
    else:
        what = "roadmap actions" if roadmap else "findings"
        console.print(f"created {len(result['created'])}, updated {len(result['updated'])} Jira issues ({what})")


@tickets_app.command("servicenow")
def servicenow_cmd(
    ctx: typer.Context,
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the CSV here (default: standard output)."),
    state: list[str] = typer.Option(["open"], "--state", help="Finding states to export (repeatable)."),
    roadmap: bool = typer.Option(False, "--roadmap",
                                 help="One row per roadmap action (coalesce on u_radguard_action_id) instead."),
) -> None:
    """Write a ServiceNow import-set CSV keyed on radguard's finding ID (coalesce on u_radguard_finding_id)."""
    from radguard.cli.roadmap import say_if_stale
    from radguard.integrations.tickets import roadmap_servicenow_import_set, roadmap_view, servicenow_import_set
    from radguard.outfiles import write_file

    with db(ctx).transaction() as session:
        if roadmap:
            view = roadmap_view(session)
            say_if_stale(view)
            text = roadmap_servicenow_import_set(session, view=view)
        else:
            text = servicenow_import_set(session, state)
    if output is None:
        sys.stdout.write(text)
    else:
        write_file(output, text, newline="")
        console.print(f"Wrote {output}.")


def register(app: typer.Typer) -> None:
    app.add_typer(tickets_app, name="tickets")
