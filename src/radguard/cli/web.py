"""``radguard serve`` and ``radguard user …`` (web accounts and API tokens)."""

from __future__ import annotations

import ipaddress
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from sqlalchemy import select

from radguard import wording
from radguard.cli.common import console, db, err_console, print_json
from radguard.db.models.web import ROLES, User
from radguard.errors import ConfigError, InputError
from radguard.web.accounts import (
    MAX_TOKEN_LIFETIME,
    TOKEN_LIFETIME,
    admin_count,
    create_api_token,
    create_user,
    disable_user,
    enable_user,
    force_password_change,
    get_user,
    list_sessions,
    revoke_api_token,
    revoke_sessions,
    session_view,
    set_password,
    set_role,
    set_user_sites,
    user_sites,
)
from radguard.web.audit import record_cli

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
    site: list[str] = typer.Option([], "--site", help="Limit the account to this site's data (site code; "
                                                      "repeatable). Without it the account sees every site."),
) -> None:
    """Create a web account."""
    password = _read_password(password_stdin)
    with db(ctx).transaction() as session:
        user = create_user(session, username, password, role, full_name, sites=site)
        sites = sorted(user_sites(session, user) or ())
        record_cli(session, "user.add", target=username, detail={"role": role, "sites": sites or None})
    console.print(f"user {username} added with role {role}"
                  + (f" for {', '.join(sites)}" if sites else " for every site"))


@user_app.command("sites")
def user_sites_cmd(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    site: list[str] = typer.Option([], "--site", help="A site the account is limited to (site code; repeatable); "
                                                      "replaces the account's sites."),
    every_site: bool = typer.Option(False, "--all", help="Lift the limit: the account sees every site."),
) -> None:
    """Limit an account's role to some sites (or lift the limit with --all); applies on its next request."""
    if bool(site) == every_site:
        raise InputError("--site", None, None, "give one or more --site CODE, or --all for every site")
    with db(ctx).transaction() as session:
        previous, now = set_user_sites(session, get_user(session, username), site)
        record_cli(session, "user.sites", target=username, detail={"from": previous or None, "to": now or None})
    console.print(f"user {username} now sees {', '.join(now) if now else 'every site'}"
                  f" (was {', '.join(previous) if previous else 'every site'})")


@user_app.command("list")
def user_list(ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List web accounts."""
    with db(ctx).read() as session:
        users = list(session.scalars(select(User).order_by(User.username)))
        rows = [{"username": u.username, "full_name": u.full_name, "role": u.role,
                 "sites": sorted(user_sites(session, u) or ()) or None, "active": u.active,
                 "must_change_password": u.must_change_password, "locked_until": u.locked_until,
                 "last_login": u.last_login} for u in users]
    if json_out:
        print_json(rows)
        return
    table = Table("User", "Name", "Role", "Sites", "Active", "Last sign-in")
    for r in rows:
        sites = r["sites"]
        table.add_row(str(r["username"]), str(r["full_name"] or ""), str(r["role"]),
                      ", ".join(sites) if isinstance(sites, list) else "all",
                      wording.account_state(bool(r["active"]), bool(r["must_change_password"])),
                      str(r["last_login"] or "never"))
    console.print(table)


@user_app.command("disable")
def user_disable(ctx: typer.Context, username: str = typer.Argument(...)) -> None:
    """Disable an account: its sessions end and its API tokens are revoked."""
    with db(ctx).transaction() as session:
        user = get_user(session, username)
        revoked, ended = disable_user(session, user)
        record_cli(session, "user.disable", target=username,
                   detail={"tokens_revoked": revoked, "sessions_ended": ended})
    console.print(f"user {username} disabled; {ended} session(s) ended; {revoked} API token(s) revoked")


@user_app.command("enable")
def user_enable(ctx: typer.Context, username: str = typer.Argument(...)) -> None:
    """Enable a disabled account again (its old API tokens stay revoked)."""
    with db(ctx).transaction() as session:
        enable_user(session, get_user(session, username))
        record_cli(session, "user.enable", target=username)
    console.print(f"user {username} enabled")


@user_app.command("role")
def user_role(ctx: typer.Context, username: str = typer.Argument(...),
              role: str = typer.Argument(..., help=f"One of: {', '.join(ROLES)}.")) -> None:
    """Change an account's role (refuses to demote the last administrator)."""
    with db(ctx).transaction() as session:
        previous = set_role(session, get_user(session, username), role)
        record_cli(session, "user.role", target=username, detail={"from": previous, "to": role})
    console.print(f"user {username} is now {role} (was {previous})")


@user_app.command("reset-password")
def user_reset_password(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from standard input."),
    keep_tokens: bool = typer.Option(False, "--keep-tokens", help="Keep the user's API tokens working "
                                                                  "(by default a reset revokes them)."),
    force: bool = typer.Option(False, "--force", help="Make the user choose a new password at the next sign-in, "
                                                      "before any page or API call works. Alone it keeps the "
                                                      "current password for that one sign-in; with "
                                                      "--password-stdin the password read is a temporary one."),
) -> None:
    """Set a new password (or, with --force, require one at the next sign-in), end the user's sessions and
    revoke their API tokens. Never enables a disabled account."""
    password = _read_password(password_stdin) if password_stdin or not force else None
    with db(ctx).transaction() as session:
        user = get_user(session, username)
        if password is None:
            revoked = force_password_change(session, user, keep_tokens=keep_tokens)
        else:
            revoked = set_password(session, user, password, keep_tokens=keep_tokens, must_change=force)
        active = user.active
        record_cli(session, "user.reset-password", target=username,
                   detail={"tokens_revoked": revoked, "tokens_kept": keep_tokens, "forced": force,
                           "temporary_password": password is not None and force})
    said = "must choose a new password at the next sign-in" if force else "reset"
    console.print(f"password of {username} {said}; sessions ended; {revoked} API token(s) revoked"
                  + ("" if active else f"; the account stays disabled (`radguard user enable {username}`)"))


@user_app.command("sessions")
def user_sessions(ctx: typer.Context, username: str = typer.Argument(...),
                  json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List an account's live web sessions: number, sign-in and last-seen times, address, browser, method."""
    with db(ctx).transaction() as session:
        rows = [session_view(ws) for ws in list_sessions(session, get_user(session, username))]
        # Who works when and from where: reading it is audited, as on the admin page.
        record_cli(session, "sessions.view", target=username)
    if json_out:
        print_json(rows)
        return
    if not rows:
        console.print(f"{username} has no live session")
        return
    table = Table("Session", "Signed in", "Last seen", "Expires", "From", "Browser", "Method")
    for r in rows:
        table.add_row(str(r["id"]), wording.value(r["created_at"]), wording.value(r["last_seen"]),
                      wording.value(r["expires_at"]), wording.value(r["ip"]), wording.value(r["user_agent"]),
                      str(r["method"]))
    console.print(table)


@user_app.command("revoke-sessions")
def user_revoke_sessions(ctx: typer.Context, username: str = typer.Argument(...),
                         session_id: int | None = typer.Option(None, "--session",
                                                               help="Only this session (its number in "
                                                                    "`radguard user sessions`); default: all.")
                         ) -> None:
    """Sign an account out: end one or all of its web sessions (its next request must sign in again)."""
    with db(ctx).transaction() as session:
        ended = revoke_sessions(session, get_user(session, username), session_id)
        record_cli(session, "session.revoke", target=username,
                   detail={"session": session_id if session_id is not None else "all", "ended": ended})
    console.print(f"{ended} session(s) of {username} ended; API tokens are unchanged "
                  "(`radguard user revoke-token`, or `radguard user disable` for both)")


@user_app.command("token")
def user_token(ctx: typer.Context, username: str = typer.Argument(...),
               name: str = typer.Option("automation", "--name", help="What the token is for."),
               days: int = typer.Option(TOKEN_LIFETIME.days, "--days",
                                        help=f"Days until the token expires (1-{MAX_TOKEN_LIFETIME.days})."),
               site: list[str] = typer.Option([], "--site", help="Limit the token to this site (repeatable); at "
                                                                 "most the user's own sites. Default: the user's.")
               ) -> None:
    """Create an API token for a user. It is printed once; radguard stores only its hash."""
    with db(ctx).transaction() as session:
        user = get_user(session, username)
        if not 1 <= days <= MAX_TOKEN_LIFETIME.days:
            raise InputError("--days", None, None, f"a token lasts between 1 and {MAX_TOKEN_LIFETIME.days} days")
        row, secret = create_api_token(session, user, name, lifetime=timedelta(days=days), sites=site)
        record_cli(session, "token.create", target=f"{username}:{row.prefix}",
                   detail={"days": days, "sites": sorted(set(site)) or None})
        token_id = row.id
        expires = row.expires_at
    err_console.print(f"token {token_id} for {username}, valid until {expires:%Y-%m-%d %H:%M} UTC; "
                      "store it now, it will not be shown again:")
    typer.echo(secret)


@user_app.command("revoke-token")
def user_revoke_token(ctx: typer.Context, token_id: int = typer.Argument(...)) -> None:
    """Revoke an API token by its number."""
    with db(ctx).transaction() as session:
        row = revoke_api_token(session, token_id)
        record_cli(session, "token.revoke", target=row.prefix)
    console.print(f"token {token_id} revoked")


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    tls_cert: Path | None = typer.Option(None, "--tls-cert", help="PEM certificate to serve HTTPS directly."),
    tls_key: Path | None = typer.Option(None, "--tls-key", help="PEM private key for --tls-cert."),
    trusted_proxy: list[str] = typer.Option([], "--trusted-proxy",
                                            help="Address or network of a reverse proxy whose X-Forwarded-For and "
                                                 "X-Forwarded-Proto are believed (repeatable); from anyone else "
                                                 "they are ignored."),
    settings_file: Path | None = typer.Option(None, "--settings",
                                              help="YAML settings (as for `radguard assess`), e.g. the longest "
                                                   "risk acceptance allowed."),
    mfa: str = typer.Option("none", "--mfa",
                            help="Who must sign in with a TOTP second factor: none, admins, or all local "
                                 "accounts (they are sent to enrol at their next sign-in)."),
    identity_file: Path | None = typer.Option(None, "--identity",
                                              help="YAML file configuring directory sign-in (an `ldap:` section "
                                                   "for LDAP/Active Directory, an `oidc:` section for OpenID "
                                                   "Connect); see docs/identity.md."),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="Server processes answering requests. One process runs pages on one "
                                     "interpreter, so requests in flight queue behind each other; with "
                                     "PostgreSQL set about one per CPU core. With SQLite keep 1 or 2 on a "
                                     "single box (every write waits for SQLite's one write lock). Sessions, "
                                     "the sign-in throttle and PDF jobs are shared through the database; see "
                                     "docs/deployment.md."),
) -> None:
    """Serve the web application (sign in with an account made by `radguard user add`)."""
    import uvicorn

    from radguard.checks.engine import load_settings
    from radguard.web.app import create_app
    from radguard.web.identity.ldap import load_identity_config
    from radguard.web.identity.totp import MFA_POLICIES
    from radguard.web.security import parse_trusted_proxies

    settings = load_settings(settings_file)
    identity = load_identity_config(identity_file) if identity_file else None
    if mfa not in MFA_POLICIES:
        raise InputError("--mfa", None, None, f"{mfa!r} is not one of {', '.join(MFA_POLICIES)}")
    parse_trusted_proxies(trusted_proxy)  # a bad value is refused before anything starts
    database = db(ctx)
    with database.read() as session:
        if admin_count(session) == 0:
            raise ConfigError("no administrator account exists; create one first with "
                              "`radguard user add NAME --role admin`")
    loopback = host == "localhost" or (host.replace(".", "").isdigit() and ipaddress.ip_address(host).is_loopback)
    if not loopback and not tls_cert:
        err_console.print("warning: serving beyond this machine without --tls-cert; put radguard behind a TLS "
                          "proxy, since its session cookies are only sent over HTTPS")
    certfile, keyfile = (str(tls_cert) if tls_cert else None), (str(tls_key) if tls_key else None)
    if workers == 1:
        app = create_app(database, trusted_proxies=trusted_proxy, settings=settings, mfa_policy=mfa,
                         identity=identity)
        uvicorn.run(app, host=host, port=port, ssl_certfile=certfile, ssl_keyfile=keyfile, log_level="info",
                    server_header=False, proxy_headers=False)
        return
    import os

    from radguard.web.workers import ENV, WorkerOptions

    # Each worker is a fresh interpreter (uvicorn spawns it) that builds the app from these options.
    os.environ[ENV] = WorkerOptions(
        db_url=database.url, db_wait=database.wait, trusted_proxies=list(trusted_proxy),
        settings_file=str(settings_file.resolve()) if settings_file else None, mfa_policy=mfa,
        identity_file=str(identity_file.resolve()) if identity_file else None).to_env()
    uvicorn.run("radguard.web.workers:create_from_environment", factory=True, workers=workers, host=host, port=port,
                ssl_certfile=certfile, ssl_keyfile=keyfile, log_level="info", server_header=False,
                proxy_headers=False, log_config=_pid_log_config())


def _pid_log_config() -> dict[str, Any]:
    """uvicorn's logging with each line saying which worker process wrote it (``[pid]``)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    for formatter in config["formatters"].values():
        formatter["fmt"] = formatter["fmt"].replace("%(levelprefix)s", "%(levelprefix)s [%(process)d]", 1)
    return config


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")
    app.command("serve")(serve)
