"""The ``radguard`` command.

Sub-commands live in sibling modules; each exposes ``register(app)`` and is picked up
automatically, so adding a stage never means editing this file.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import typer

import radguard
from radguard.cli.common import AppState, err_console
from radguard.config import ENV_DB, default_db_path

_DEFAULT_DB = str(default_db_path()).replace(str(Path.home()), "~", 1)
from radguard.errors import RadguardError

app = typer.Typer(
    name="radguard",
    help=(
        "Cybersecurity readiness for the medical-imaging enterprise.\n\n"
        f"Data is kept in SQLite at {_DEFAULT_DB} unless --db or the {ENV_DB} "
        "environment variable names another database (any SQLAlchemy URL, e.g. "
        "postgresql://user@host/radguard)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"radguard {radguard.__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    db: str | None = typer.Option(
        None, "--db", help=f"Database URL or SQLite file path (default: ${ENV_DB} or {_DEFAULT_DB})."
    ),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    ctx.obj = AppState(db_url=db)


def _register_all() -> None:
    from radguard import cli

    for mod in sorted(pkgutil.iter_modules(cli.__path__), key=lambda m: m.name):
        if mod.name in ("main", "common"):
            continue
        module = importlib.import_module(f"{cli.__name__}.{mod.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(app)


_register_all()


def run(argv: list[str] | None = None) -> None:
    """Entry point: turn radguard's own errors into a message and an exit code."""
    try:
        result = app(args=argv, standalone_mode=False, prog_name="radguard")
        if isinstance(result, int) and result:
            sys.exit(result)
    except RadguardError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("interrupted; nothing was half-written")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except Exception as exc:  # click usage errors
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    run()
