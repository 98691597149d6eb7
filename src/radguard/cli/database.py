"""``radguard init`` and ``radguard db upgrade|status``."""

from __future__ import annotations

import typer

from radguard.cli.common import console, state
from radguard.db.migrate import current_revisions, head_revisions, upgrade

db_app = typer.Typer(help="Database schema management.", no_args_is_help=True)


def init(ctx: typer.Context) -> None:
    """Create the database, or upgrade it to the newest schema."""
    database = state(ctx).database(require_schema=False)
    upgrade(database)
    console.print(f"database ready: {database.safe_url}")


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply pending schema migrations (same as `radguard init`)."""
    init(ctx)


@db_app.command("status")
def db_status(ctx: typer.Context) -> None:
    """Show the schema revision of the database and the newest one radguard knows."""
    database = state(ctx).database(require_schema=False)
    current = sorted(current_revisions(database)) if database.is_initialised() else []
    console.print(f"database: {database.safe_url}")
    console.print(f"current:  {', '.join(current) or '(empty)'}")
    console.print(f"newest:   {', '.join(sorted(head_revisions(database)))}")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(db_app, name="db")
