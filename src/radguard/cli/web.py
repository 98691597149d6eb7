"""``radguard serve`` and ``radguard user …`` (web accounts and API tokens)."""

from __future__ import annotations

import ipaddress
import sys
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy import select

from radguard.cli.common import console, db, err_console, print_json
from radguard.db.models.web import ROLES, User
from radguard.errors import ConfigError, InputError
from radguard.web.accounts import admin_count, create_api_token, create_user, get_user, revoke_api_token, set_password
from radguard.web.audit import record

user_app = typer.Typer(help="Web accounts and API tokens.", no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password (12+ characters)", hide_input=True, confirmation_prompt=True)
    if not password:
        raise InputError("password", None, None, "no password given")
    return password


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Sign-in name."),
    role: str = typer.Option("viewer", "--role", help=f"One of: {', '.join(ROLES)}."),
    full_name: str | None = typer.Option(None, "--name", help="Full name, shown in the audit log."),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Create a web account."""
    password = _read_password(password_stdin)
    with db(ctx).transaction() as session:
        create_user(session, username, password, role, full_name)
        record(session, "cli", "user.add", target=username, detail={"role": role}, via="cli")
    console.print(f"user {username} added with role {role}")


@user_app.command("list")
def user_list(ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List web accounts."""
    with db(ctx).read() as session:
        users = list(session.scalars(select(User).order_by(User.username)))
        rows = [{"username": u.username, "full_name": u.full_name, "role": u.role, "active": u.active,
                 "locked_until": u.locked_until, "last_login": u.last_login} for u in users]
    if json_out:
        print_json(rows)
        return
    table = Table("User", "Name", "Role", "Active", "Last sign-in")
    for r in rows:
        table.add_row(str(r["username"]), str(r["full_name"] or ""), str(r["role"]), "yes" if r["active"] else "no",
                      str(r["last_login"] or "never"))
    console.print(table)


@user_app.command("disable")
def user_disable(ctx: typer.Context, username: str = typer.Argument(...)) -> None:
    """Disable an account (its sessions and API tokens stop working at once)."""
    with db(ctx).transaction() as session:
        user = get_user(session, username)
        if user.role == "admin" and user.active and admin_count(session) <= 1:
            raise ConfigError("refusing to disable the last administrator; add another admin first")
        user.active = False
        record(session, "cli", "user.disable", target=username, via="cli")
    console.print(f"user {username} disabled")


@user_app.command("reset-password")
def user_reset_password(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
) -> None:
    """Set a new password, unlock the account and end its sessions."""
    password = _read_password(password_stdin)
    with db(ctx).transaction() as session:
        user = get_user(session, username)
        set_password(session, user, password)
        user.active = True
        record(session, "cli", "user.reset-password", target=username, via="cli")
    console.print(f"password of {username} reset")


@user_app.command("token")
def user_token(ctx: typer.Context, username: str = typer.Argument(...),
               name: str = typer.Option("automation", "--name", help="What the token is for.")) -> None:
    """Create an API token for a user. It is printed once; radguard stores only its hash."""
    with db(ctx).transaction() as session:
        user = get_user(session, username)
        row, secret = create_api_token(session, user, name)
        record(session, "cli", "token.create", target=f"{username}:{row.prefix}", via="cli")
        token_id = row.id
    err_console.print(f"token {token_id} for {username}; store it now, it will not be shown again:")
    typer.echo(secret)


@user_app.command("revoke-token")
def user_revoke_token(ctx: typer.Context, token_id: int = typer.Argument(...)) -> None:
    """Revoke an API token by its number."""
    with db(ctx).transaction() as session:
        row = revoke_api_token(session, token_id)
        record(session, "cli", "token.revoke", target=row.prefix, via="cli")
    console.print(f"token {token_id} revoked")


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", help="PEM certificate to serve HTTPS directly."),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="PEM private key for --tls-cert."),
) -> None:
    """Serve the web application (sign in with an account made by `radguard user add`)."""
    import uvicorn

    from radguard.web.app import create_app

    database = db(ctx)
    with database.read() as session:
        if admin_count(session) == 0:
            raise ConfigError("no administrator account exists; create one first with "
                              "`radguard user add NAME --role admin`")
    loopback = host == "localhost" or (host.replace(".", "").isdigit() and ipaddress.ip_address(host).is_loopback)
    if not loopback and not tls_cert:
        err_console.print("warning: serving beyond this machine without --tls-cert; put radguard behind a TLS "
                          "proxy, since its session cookies are only sent over HTTPS")
    app = create_app(database)
    uvicorn.run(app, host=host, port=port, ssl_certfile=str(tls_cert) if tls_cert else None,
                ssl_keyfile=str(tls_key) if tls_key else None, log_level="info", server_header=False,
                proxy_headers=False)


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.command("serve")(serve)
