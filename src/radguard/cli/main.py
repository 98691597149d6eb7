"""The ``radguard`` command.

Sub-commands live in sibling modules; each exposes ``register(app)``. They are listed in
:data:`COMMANDS` and imported lazily, when their command runs.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from typer import _click as click  # Typer >= 0.29 vendors click; its classes are these
from typer._click.globals import get_current_context
from typer.core import TyperGroup

import radguard
from radguard.cli.common import AppState, err_console
from radguard.config import DEFAULT_DB_WAIT, ENV_DB, ENV_DB_WAIT, default_db_path
from radguard.errors import DatabaseError, RadguardError

if TYPE_CHECKING:  # imported by the commands that use the database; `radguard --version` never loads it
    from sqlalchemy.exc import SQLAlchemyError

_DEFAULT_DB = str(default_db_path()).replace(str(Path.home()), "~", 1)

# Every sub-command, the module under radguard/cli that registers it, and its one-line help.
# Modules are imported only when their command runs, so `radguard inventory list` does not pay
# for PDF, DICOM or web libraries. tests/test_cli_registry.py keeps this table exact: a new
# command module fails that test until it is listed here.
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("database", "Create the database, or upgrade it to the newest schema."),
    "db": ("database", "Database schema management."),
    "demo": ("demo", "Run radguard end to end on a simulated imaging network on loopback (127.x.y.z)."),
    "inventory": ("inventory", "The imaging asset inventory."),
    "discover": ("discover", "Find imaging endpoints (DICOM, DICOM TLS, DICOMweb, HL7 MLLP, web viewers) "
                 "without harming them."),
    "scan-import": ("scanimport", "Import nmap, Nessus, Greenbone/OpenVAS or IoMT CSV results as discovery "
                    "evidence; known endpoints are matched, not duplicated."),
    "passive": ("passive", "Passive discovery from packet captures (nothing is sent to any device)."),
    "segmentation": ("segmentation", "Segmentation policy: zones as address ranges, allowed flows, checked against "
                     "observed flows."),
    "feeds": ("feeds", "Advisory feeds: CISA KEV, CSAF 2.0 advisories, NVD CVE pages."),
    "advisories": ("advisories", "Advisories that apply to the inventory, or to any vendor/product/version you name."),
    "vendor": ("vendor", "Vendors: contacts, BAAs, contract security terms, remote access, reviews."),
    "mds2": ("mds2", "Manufacturer Disclosure Statements for Medical Device Security (2019 form)."),
    "sbom": ("sbom", "Software bills of materials (CycloneDX JSON/XML, SPDX JSON)."),
    "checks": ("checks", "The catalog of checks radguard evaluates."),
    "attest": ("attest", "Attestations: a person's answer, with proof and expiry, used by checks."),
    "assess": ("assess", "Run the whole catalog against current data; create, reopen and close findings in one "
               "transaction."),
    "findings": ("findings", "The findings register: triage and decisions."),
    "checklist": ("checklist", "Leadership checklists: maturity answers tied to evidence."),
    "roadmap": ("roadmap", "Checklist gaps and open findings as actions ranked by risk reduced per effort point, "
                "in horizons by capacity."),
    "training": ("workforce", "Security-awareness training records (LMS exports)."),
    "phishing": ("workforce", "Phishing-simulation results."),
    "team": ("team", "The incident response team: roles, people, contacts and gaps."),
    "services": ("services", "Imaging services, their recovery targets and downtime procedures."),
    "playbook": ("playbook", "Imaging incident playbooks and the offline binder."),
    "drill": ("drill", "Plan, record and report incident-response drills."),
    "backup": ("backup", "Backup validation for imaging archives."),
    "report": ("report", "Write a readiness report built from everything recorded so far."),
    "coverage": ("coverage", "Status (met, partly met, not met, no evidence) of every requirement, from mapped "
                 "checks and answers."),
    "notify": ("notify", "Change-only notifications: rules, channels and the notification log."),
    "tickets": ("tickets", "Hand open findings (or the roadmap's actions) to Jira or ServiceNow; re-exports "
                           "update the same tickets."),
    "siem": ("siem", "Findings and audit events to a SIEM: RFC 5424 syslog in CEF, or JSON lines."),
    "export": ("export", "Machine-readable exports for GRC tools, SIEMs and spreadsheets."),
    "serve": ("web", "Serve the web application (sign in with an account made by `radguard user add`)."),
    "user": ("web", "Web accounts and API tokens."),
    "schedule": ("schedule", "Recurring discovery and assessment; runs are recorded with their result."),
    "sensor": ("sensor", "Multi-site sensors: enrol, revoke, run; send jobs; the central ingest worker."),
}


# Commands that change data, or hand a map of the organisation's weaknesses to someone: each
# successful run is written to the audit log as the operating-system user (radguard.web.audit).
# Finding decisions and `user ...` record their own, more detailed events.
AUDITED_TOP_LEVEL = frozenset({"assess", "report", "export", "roadmap", "coverage"})
AUDITED_LEAVES = frozenset({"import", "export", "report"})
_SECRET_PARAMS = ("password", "token", "secret")


def is_audited(path: tuple[str, ...]) -> bool:
    """Whether the command at ``path`` (e.g. ``("inventory", "import")``) is audited when it succeeds.

    :param path: the command's names from the root, without ``radguard``.
    """
    return path[0] in AUDITED_TOP_LEVEL or path[-1] in AUDITED_LEAVES


def _audit_value(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_audit_value(v) for v in value]
    return str(value)


def _audited(path: tuple[str, ...], callback: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(callback)
    def run_and_record(*args: Any, **kwargs: Any) -> Any:
        result = callback(*args, **kwargs)
        root = get_current_context().find_root().obj
        database = root.opened_database() if isinstance(root, AppState) else None
        if database is not None:  # commands that never opened the database changed nothing in it
            from radguard.web.audit import record_cli

            params = {k: ("***" if any(s in k for s in _SECRET_PARAMS) else _audit_value(v))
                      for k, v in kwargs.items()}
            try:
                with database.transaction() as session:
                    record_cli(session, ".".join(path), detail={"params": params})
            except DatabaseError as exc:
                # A read (report, export) from a read-only or busy database still happened: say
                # that it went unaudited rather than fail a command whose output is already written.
                err_console.print(f"warning: this {' '.join(path)} was not written to the audit log: {exc}",
                                  markup=False, highlight=False)
        return result

    run_and_record.radguard_audited = True  # type: ignore[attr-defined]
    return run_and_record


def _wrap_audited(command: click.core.Command, path: tuple[str, ...]) -> None:
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            _wrap_audited(sub, (*path, name))
    elif command.callback is not None and is_audited(path) \
            and not getattr(command.callback, "radguard_audited", False):
        command.callback = _audited(path, command.callback)


def load_module_commands(module_name: str) -> TyperGroup:
    """Import one command module and return the click group holding what it registers.

    Commands that :func:`is_audited` names are wrapped so that each successful run is audited.
    """
    module = importlib.import_module(f"radguard.cli.{module_name}")
    sub = typer.Typer()

    @sub.callback()
    def _group() -> None:  # a callback keeps Typer from collapsing a single command
        pass

    module.register(sub)
    group = typer.main.get_command(sub)
    assert isinstance(group, TyperGroup)
    for name, command in group.commands.items():
        _wrap_audited(command, (name,))
    return group


class LazyGroup(TyperGroup):
    """The root group: lists every command from COMMANDS, imports a module only on use."""

    def list_commands(self, ctx: click.core.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in COMMANDS if n not in self.commands)]

    def get_command(self, ctx: click.core.Context, cmd_name: str) -> click.core.Command | None:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        return load_module_commands(COMMANDS[cmd_name][0]).get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.core.Context, formatter: click.formatting.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, help_text) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    name="radguard",
    cls=LazyGroup,
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
    db_wait: float | None = typer.Option(
        None, "--db-wait", metavar="SECONDS",
        help=f"How long a command that writes waits for another radguard's write to finish "
             f"(default: ${ENV_DB_WAIT} or {DEFAULT_DB_WAIT:.0f})."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Show the version and exit."),
) -> None:
    global _current
    ctx.obj = _current = AppState(db_url=db, db_wait=db_wait)


# The state of the command being run, so run() can name its database in an error message.
_current: AppState | None = None


def _database_error(exc: SQLAlchemyError) -> RadguardError:
    """The one place a database error escaping a command becomes a message: never SQL or parameters."""
    from radguard.db.session import database_error

    opened = _current._db if _current is not None else None
    if opened is None:
        return database_error(exc)
    return database_error(exc, opened.safe_url, opened.wait)


def _os_error(exc: OSError) -> RadguardError:
    """An operating-system error no command turned into its own message: name the file and why."""
    where = f"{exc.filename}: " if exc.filename else ""
    return RadguardError(f"{where}{exc.strerror or exc}")


def run(argv: list[str] | None = None) -> None:
    """Entry point: turn radguard's own errors into a message and an exit code."""
    try:
        result = app(args=argv, standalone_mode=False, prog_name="radguard")
        if result == 130:  # Typer turns Ctrl-C into exit code 130 without raising
            err_console.print("interrupted; the command's transaction was rolled back")
        if isinstance(result, int) and result:
            sys.exit(result)
    except RadguardError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        err_console.print("interrupted; the command's transaction was rolled back")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except Exception as exc:  # click usage errors
        if _is_database_error(exc):
            _fail(_database_error(exc))  # type: ignore[arg-type]
        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        if isinstance(exc, OSError):  # a full disk, a permission: an operational fault, not a bug
            _fail(_os_error(exc))
        raise


def _is_database_error(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLAlchemy's, without importing SQLAlchemy (if it is not loaded, it is not)."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    return sa_exc is not None and isinstance(exc, sa_exc.SQLAlchemyError)


def _fail(exc: RadguardError) -> None:
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
    sys.exit(exc.exit_code)


if __name__ == "__main__":
    run()
