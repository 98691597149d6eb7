"""Accounts, passwords, sessions and API tokens.

Why it is built this way: radguard holds a map of a hospital's weaknesses, so the web layer
is a target. Passwords are argon2id hashes; session and API tokens are random 256-bit values
of which only a SHA-256 hash is stored; repeated failed sign-ins are slowed down
(``radguard.web.security.LoginThrottle``), never locked out.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from radguard.db.base import utcnow
from radguard.db.models.inventory import Site
from radguard.db.models.web import ROLES, ApiToken, TokenSite, User, UserSite, WebSession
from radguard.errors import InputError, NotFoundError, RadguardError
from radguard.inventory.queries import site_codes

SESSION_LIFETIME = timedelta(hours=8)
TOKEN_LIFETIME = timedelta(days=90)
MAX_TOKEN_LIFETIME = timedelta(days=366)
MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash to verify against when the user does not exist, so timing does not reveal names."""
    return _hasher.hash("radguard-timing-equaliser")


class AuthError(RadguardError):
    """Sign-in refused. The message never says whether the user name exists."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def role_at_least(role: str, minimum: str) -> bool:
    return ROLES.index(role) >= ROLES.index(minimum)


COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt")
_AROUND = string.digits + string.punctuation + string.whitespace


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of the 10,000 most common passwords (lower case)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def check_password_strength(password: str, username: str | None = None, full_name: str | None = None) -> None:
    """Refuse passwords an attacker tries first. Length alone let ``password1234`` through for an admin.

    Refused: fewer than 12 characters; a common password (the shipped top-10,000 list), also
    with digits, symbols or spaces added around it (``Password1234!``); nothing but digits and
    symbols; fewer than five different characters; the user's own name or a part of the full
    name of four letters or more.

    :param password: the candidate password.
    :param username: the account's sign-in name.
    :param full_name: the account's full name.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError("password", None, None, f"use at least {MIN_PASSWORD_LENGTH} characters")
    lowered = password.casefold()
    core = lowered.strip(_AROUND)
    common = common_passwords()
    if not core or lowered in common or core in common or lowered.replace(" ", "") in common:
        raise InputError("password", None, None, "this is one of the most common passwords (or one with digits "
                                                 "added); choose a passphrase of several unrelated words")
    if len(set(password)) < 5:
        raise InputError("password", None, None, "use more than a few different characters")
    names = [username or ""] + [part for part in re.split(r"[\W_]+", full_name or "") if len(part) >= 4]
    for name in names:
        folded = name.casefold()
        if len(folded) >= 3 and (folded in lowered or lowered in folded):
            raise InputError("password", None, None, "the password must not contain the user's own name")


def _site_ids(session: Session, codes: Iterable[str], field: str) -> dict[str, int]:
    """Site codes to IDs; an unknown code is an InputError naming the known ones."""
    wanted = sorted({c.strip() for c in codes if c.strip()})
    known = {code: sid for sid, code in session.execute(select(Site.id, Site.code).where(Site.code.in_(wanted)))}
    missing = [c for c in wanted if c not in known]
    if missing:
        have = ", ".join(site_codes(session)) or "none yet"
        raise InputError(field, None, None, f"no site {', '.join(missing)}; known sites: {have} "
                                            "(`radguard inventory sites`)")
    return known


def user_sites(session: Session, user: User) -> frozenset[str] | None:
    """The site codes ``user`` is limited to; None when the user sees every site (no rows).

    :param session: the database session.
    :param user: the account.
    """
    codes = frozenset(session.scalars(select(Site.code).join(UserSite, UserSite.site_id == Site.id)
                                      .where(UserSite.user_id == user.id)))
    return codes or None


def token_sites(session: Session, token: ApiToken) -> frozenset[str] | None:
    """The site codes an API token itself is limited to; None when it takes its user's."""
    codes = frozenset(session.scalars(select(Site.code).join(TokenSite, TokenSite.site_id == Site.id)
                                      .where(TokenSite.token_id == token.id)))
    return codes or None


def narrowed(outer: frozenset[str] | None, inner: frozenset[str] | None) -> frozenset[str] | None:
    """The sites both limits allow (None is no limit): a token's scope is at most its user's."""
    if outer is None:
        return inner
    return outer if inner is None else outer & inner


def set_user_sites(session: Session, user: User, codes: Iterable[str]) -> tuple[list[str], list[str]]:
    """Limit ``user`` to these sites (none: every site); returns (previous, new) sorted codes.

    Takes effect on the user's next request: the principal is read from the database each time.

    :param session: the database session.
    :param user: the account.
    :param codes: site codes (``radguard inventory sites``); an unknown one is refused.
    """
    ids = _site_ids(session, codes, "--site")
    previous = sorted(user_sites(session, user) or ())
    session.execute(delete(UserSite).where(UserSite.user_id == user.id))
    session.add_all(UserSite(user_id=user.id, site_id=sid) for sid in ids.values())
    session.flush()
    return previous, sorted(ids)


def create_user(session: Session, username: str, password: str, role: str, full_name: str | None = None,
                sites: Iterable[str] = ()) -> User:
    """A new local account.

    :param session: the database session.
    :param username: the sign-in name.
    :param password: checked by :func:`check_password_strength`.
    :param role: one of :data:`ROLES`.
    :param full_name: shown beside the name.
    :param sites: site codes the user is limited to; none: every site.
    """
    if role not in ROLES:
        raise InputError("role", None, "role", f"{role!r} is not a role; use one of {', '.join(ROLES)}")
    if not username or len(username) > 100 or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise InputError("username", None, "username", "use letters, digits, '.', '-' or '_' (at most 100)")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise InputError("username", None, "username", f"user {username!r} already exists")
    check_password_strength(password, username, full_name)
    user = User(username=username, full_name=full_name, role=role, password_hash=_hasher.hash(password),
                active=True, failed_logins=0)
    session.add(user)
    session.flush()
    set_user_sites(session, user, sites)
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user {username!r}; see `radguard user list`")
    return user


def _end_sessions(session: Session, user: User, keep: int | None = None) -> int:
    """Delete the user's sessions (all, or all but the one with ID ``keep``); returns how many."""
    query = delete(WebSession).where(WebSession.user_id == user.id)
    if keep is not None:
        query = query.where(WebSession.id != keep)
    return int(session.execute(query).rowcount or 0)  # type: ignore[attr-defined]


def revoke_tokens(session: Session, user: User, now: datetime | None = None) -> int:
    """Revoke every live API token of ``user``; returns how many were revoked.

    :param session: the database session.
    :param user: whose tokens.
    :param now: the revocation time (default: now).
    """
    now = now or utcnow()
    count = 0
    for row in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))):
        row.revoked_at = now
        count += 1
    return count


def set_password(session: Session, user: User, password: str, *, keep_tokens: bool = False,
                 must_change: bool = False) -> int:
    """Set a new password, end the user's sessions and — unless ``keep_tokens`` — revoke the API tokens.

    A reset usually follows a suspected compromise; a token made by whoever knew the old password
    must not outlive it. It never re-enables a disabled account (that is :func:`enable_user`).
    Returns the number of tokens revoked.

    :param session: the database session.
    :param user: the account.
    :param password: the new password (checked by :func:`check_password_strength`).
    :param keep_tokens: keep the API tokens working (say so explicitly).
    :param must_change: the password is a temporary one: the user must choose their own at the
        next sign-in (:func:`force_password_change`).
    """
    _refuse_directory(user)
    check_password_strength(password, user.username, user.full_name)
    user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.must_change_password = must_change
    _end_sessions(session, user)
    return 0 if keep_tokens else revoke_tokens(session, user)


def _refuse_directory(user: User) -> None:
    if is_directory_account(user):
        source = user.password_hash.partition(":")[2] or "directory"
        raise InputError("user", None, user.username, f"{user.username} signs in through {source}: its password "
                                                      "is changed there, not in radguard")


def force_password_change(session: Session, user: User, *, keep_tokens: bool = False) -> int:
    """Make the user choose a new password at their next sign-in, before any page or API call works.

    The user's sessions end now (whoever holds one — perhaps the reason for the reset — is signed
    out) and, unless ``keep_tokens``, the API tokens are revoked, as for :func:`set_password`. The
    current password still signs in once, only to reach the change-password page. Returns the
    number of tokens revoked.

    :param session: the database session.
    :param user: a local account (a directory account's password is the directory's).
    :param keep_tokens: keep the API tokens working (say so explicitly).
    """
    _refuse_directory(user)
    user.must_change_password = True
    _end_sessions(session, user)
    return 0 if keep_tokens else revoke_tokens(session, user)


def change_own_password(session: Session, user: User, current: str, new: str, keep_session: int | None) -> int:
    """The user replaces their own password (after a forced reset, or by choice).

    The current password is asked for again, so a session left open on a shared workstation is not
    enough to take the account over; the new one must pass :func:`check_password_strength` and
    differ from the current one. Clears ``must_change_password`` and ends the user's *other*
    sessions; API tokens are kept (the user chose this). Returns the number of sessions ended.

    :param session: the database session.
    :param user: the signed-in account.
    :param current: the password it signed in with.
    :param new: the chosen password.
    :param keep_session: the ID of the session making the change (it stays signed in).
    :raises AuthError: the current password is wrong.
    """
    _refuse_directory(user)
    try:
        _hasher.verify(user.password_hash, current)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise AuthError("the current password is wrong") from None
    if new == current:
        raise InputError("password", None, None, "choose a password different from the current one")
    check_password_strength(new, user.username, user.full_name)
    user.password_hash = _hasher.hash(new)
    user.must_change_password = False
    return _end_sessions(session, user, keep=keep_session)


def disable_user(session: Session, user: User) -> tuple[int, int]:
    """Disable an account: its sessions end and its API tokens are revoked (not merely suspended),
    so enabling it again later does not bring old tokens back. Returns (tokens revoked, sessions ended).

    :param session: the database session.
    :param user: the account.
    """
    if user.role == "admin" and user.active and admin_count(session) <= 1:
        raise InputError("user", None, user.username, "refusing to disable the last administrator; "
                                                      "add another admin first")
    user.active = False
    ended = _end_sessions(session, user)
    return revoke_tokens(session, user), ended


def enable_user(session: Session, user: User) -> None:
    """Enable a disabled account again (its old API tokens stay revoked).

    :param session: the database session.
    :param user: the account.
    """
    if user.active:
        raise InputError("user", None, user.username, "the account is already enabled")
    user.active = True
    user.failed_logins = 0
    user.locked_until = None


def set_role(session: Session, user: User, role: str) -> str:
    """Change an account's role; returns the previous one. Takes effect on the user's next request.

    :param session: the database session.
    :param user: the account.
    :param role: the new role.
    """
    if role not in ROLES:
        raise InputError("role", None, "role", f"{role!r} is not a role; use one of {', '.join(ROLES)}")
    previous = user.role
    if previous == role:
        raise InputError("role", None, "role", f"{user.username} already has the {role} role")
    if previous == "admin" and user.active and admin_count(session) <= 1:
        raise InputError("role", None, user.username, "refusing to demote the last administrator; "
                                                      "make another admin first")
    user.role = role
    return previous


def admin_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User).where(User.role == "admin", User.active)) or 0


SIGN_IN_FAILED = ("Sign-in failed: wrong user name or password, or too many recent attempts. "
                  "Wait a minute and try again; an administrator can reset a forgotten password.")


def verify_nothing(password: str) -> None:
    """Spend the time (and work) of a password check that cannot succeed.

    Used for unknown and disabled accounts, so a failure takes as long whether or not the
    name exists.

    :param password: the password typed, hashed against a fixed dummy hash.
    """
    with contextlib.suppress(VerificationError, InvalidHashError):
        _hasher.verify(_dummy_hash(), password)


def authenticate(session: Session, username: str, password: str, now: datetime | None = None) -> User:
    """Check a password. Every failure raises the same :class:`AuthError` after the same work.

    There is no lockout: throttling is the web layer's :class:`~radguard.web.security.LoginThrottle`,
    which delays by account name and client address without ever refusing the right password
    forever, and without telling an attacker which names exist.
    """
    now = now or utcnow()
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        verify_nothing(password)
        raise AuthError(SIGN_IN_FAILED)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        raise AuthError(SIGN_IN_FAILED) from None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login = now
    return user


# Stored instead of a hash for accounts whose password lives in a directory: argon2 cannot
# parse it, so such an account can never sign in with a local password.
DIRECTORY_PASSWORD = "!directory"


def is_directory_account(user: User) -> bool:
    return user.password_hash.startswith(DIRECTORY_PASSWORD)


def directory_user(session: Session, username: str, role: str, source: str,
                   now: datetime | None = None) -> tuple[User, str | None]:
    """The local row for a directory-authenticated person, with the role the directory gives now.

    Returns the user and their previous role (None when new or unchanged). A locally disabled
    account stays disabled whatever the directory says: :class:`AuthError`.
    """
    if role not in ROLES:
        raise InputError("role", None, "role", f"{role!r} is not a role; use one of {', '.join(ROLES)}")
    now = now or utcnow()
    user = session.scalar(select(User).where(User.username == username))
    previous: str | None = None
    if user is None:
        user = User(username=username, role=role, password_hash=f"{DIRECTORY_PASSWORD}:{source}", active=True)
        session.add(user)
    elif not is_directory_account(user) or not user.active:
        raise AuthError(SIGN_IN_FAILED)
    elif user.role != role:
        previous, user.role = user.role, role
    user.last_login = now
    session.flush()
    return user, previous


@dataclass
class NewSession:
    token: str
    csrf_token: str


SESSION_METHODS = ("local", "ldap", "oidc")
LAST_SEEN_EVERY = timedelta(minutes=1)  # how stale ``last_seen`` may get (one write a minute, not per request)


def open_session(session: Session, user: User, ip: str | None, now: datetime | None = None, *,
                 method: str = "local", user_agent: str | None = None, id_token: str | None = None) -> NewSession:
    """A new server-side session for ``user``; only the token's hash is stored.

    :param session: the database session.
    :param user: who signed in.
    :param ip: the client address (:func:`radguard.web.security.client_ip`).
    :param now: the sign-in time (default: now).
    :param method: how they signed in: ``local``, ``ldap`` or ``oidc``.
    :param user_agent: the browser's User-Agent, shown when listing sessions (cut to 300 characters).
    :param id_token: an OpenID provider's ID token, kept for signing out at the provider.
    """
    if method not in SESSION_METHODS:
        raise ValueError(method)
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=token_hash(token), user_id=user.id, csrf_token=csrf, created_at=now,
                           expires_at=now + SESSION_LIFETIME, ip=ip, last_seen=now, method=method,
                           user_agent=(user_agent or None) and user_agent[:300], id_token=id_token))
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    return NewSession(token, csrf)


def lookup_session(session: Session, token: str, now: datetime | None = None) -> WebSession | None:
    """The live session for a cookie's token, or None (unknown, revoked, expired, or its user disabled).

    Marks it seen when ``last_seen`` is over :data:`LAST_SEEN_EVERY` old (the caller commits).
    """
    now = now or utcnow()
    ws = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if ws is None or ws.expires_at < now or not ws.user.active:
        return None
    if ws.last_seen is None or now - ws.last_seen >= LAST_SEEN_EVERY:
        ws.last_seen = now
    return ws


def close_session(session: Session, token: str) -> WebSession | None:
    """End the session of this token (signing out); returns the row as it was, or None."""
    ws = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if ws is not None:
        session.delete(ws)
        session.flush()
    return ws


def list_sessions(session: Session, user: User, now: datetime | None = None) -> list[WebSession]:
    """The user's live (unexpired) sessions, newest first.

    :param session: the database session.
    :param user: whose sessions.
    :param now: the time that decides expiry (default: now).
    """
    now = now or utcnow()
    return list(session.scalars(select(WebSession).where(WebSession.user_id == user.id, WebSession.expires_at >= now)
                                .order_by(WebSession.created_at.desc(), WebSession.id.desc())))


def session_view(ws: WebSession) -> dict[str, object]:
    """The one serialised shape of a session (CLI JSON, the admin page); never its token or CSRF value."""
    return {"id": ws.id, "method": ws.method, "created_at": ws.created_at, "last_seen": ws.last_seen,
            "expires_at": ws.expires_at, "ip": ws.ip, "user_agent": ws.user_agent}


def revoke_sessions(session: Session, user: User, session_id: int | None = None) -> int:
    """End one of the user's sessions (``session_id``) or all of them; returns how many ended.

    The holder's next request finds no session and is sent to sign in (the API answers 401).

    :param session: the database session.
    :param user: whose sessions.
    :param session_id: one session's number (``radguard user sessions``); None: every session.
    :raises NotFoundError: ``session_id`` is not a session of this user.
    """
    if session_id is None:
        return _end_sessions(session, user)
    ended = int(session.execute(delete(WebSession).where(  # type: ignore[attr-defined]
        WebSession.id == session_id, WebSession.user_id == user.id)).rowcount or 0)
    if not ended:
        raise NotFoundError(f"{user.username} has no session {session_id}; see `radguard user sessions "
                            f"{user.username}`")
    return ended


def create_api_token(session: Session, user: User, name: str, lifetime: timedelta = TOKEN_LIFETIME,
                     now: datetime | None = None, sites: Iterable[str] = ()) -> tuple[ApiToken, str]:
    """Returns the stored row and the token itself, which is shown once and never again.

    :param session: the database session.
    :param user: whose token.
    :param name: what it is for.
    :param lifetime: how long it works (default 90 days; at most ``MAX_TOKEN_LIFETIME``).
    :param now: the creation time (default: now).
    :param sites: site codes the token is limited to (none: its user's sites). A site-scoped
        user's token may name only the user's own sites; it can never see more than its user.
    """
    if lifetime <= timedelta(0) or lifetime > MAX_TOKEN_LIFETIME:
        raise InputError("--days", None, None, f"a token lasts between 1 and {MAX_TOKEN_LIFETIME.days} days")
    ids = _site_ids(session, sites, "--site")
    own = user_sites(session, user)
    if own is not None and not set(ids) <= own:
        beyond = ", ".join(sorted(set(ids) - own))
        raise InputError("--site", None, None, f"{user.username} is limited to {', '.join(sorted(own))}; "
                                               f"a token cannot reach {beyond}")
    now = now or utcnow()
    secret = "rgt_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, prefix=secret[:12], token_hash=token_hash(secret), created_at=now,
                   expires_at=now + lifetime)
    session.add(row)
    session.flush()
    session.add_all(TokenSite(token_id=row.id, site_id=sid) for sid in ids.values())
    session.flush()
    return row, secret


def lookup_api_token(session: Session, secret: str, now: datetime | None = None) -> User | None:
    """The user of a live token (None when unknown, revoked, expired or the user is disabled)."""
    row = lookup_token_row(session, secret, now)
    return row.user if row is not None else None


def lookup_token_row(session: Session, secret: str, now: datetime | None = None) -> ApiToken | None:
    """The live token row for ``secret`` (recording its use), or None; see :func:`lookup_api_token`."""
    now = now or utcnow()
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    if row.expires_at is not None and row.expires_at <= now:
        return None
    row.last_used = now
    return row


def revoke_api_token(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError(f"no API token {token_id}")
    row.revoked_at = utcnow()
    return row
