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
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from radguard.db.base import utcnow
from radguard.db.models.web import ROLES, ApiToken, User, WebSession
from radguard.errors import InputError, NotFoundError, RadguardError

SESSION_LIFETIME = timedelta(hours=8)
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


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError("password", None, None, f"use at least {MIN_PASSWORD_LENGTH} characters")


def create_user(session: Session, username: str, password: str, role: str, full_name: str | None = None) -> User:
    if role not in ROLES:
        raise InputError("role", None, "role", f"{role!r} is not a role; use one of {', '.join(ROLES)}")
    if not username or len(username) > 100 or not username.replace(".", "").replace("-", "").replace("_", "").isalnum():
        raise InputError("username", None, "username", "use letters, digits, '.', '-' or '_' (at most 100)")
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise InputError("username", None, "username", f"user {username!r} already exists")
    check_password_strength(password)
    user = User(username=username, full_name=full_name, role=role, password_hash=_hasher.hash(password),
                active=True, failed_logins=0)
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user {username!r}; see `radguard user list`")
    return user


def set_password(session: Session, user: User, password: str) -> None:
    check_password_strength(password)
    user.password_hash = _hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))


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


@dataclass
class NewSession:
    token: str
    csrf_token: str


def open_session(session: Session, user: User, ip: str | None, now: datetime | None = None) -> NewSession:
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=token_hash(token), user_id=user.id, csrf_token=csrf, created_at=now,
                           expires_at=now + SESSION_LIFETIME, ip=ip))
    session.execute(delete(WebSession).where(WebSession.expires_at < now))
    return NewSession(token, csrf)


def lookup_session(session: Session, token: str, now: datetime | None = None) -> WebSession | None:
    now = now or utcnow()
    ws = session.scalar(select(WebSession).where(WebSession.token_hash == token_hash(token)))
    if ws is None or ws.expires_at < now or not ws.user.active:
        return None
    return ws


def close_session(session: Session, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == token_hash(token)))


def create_api_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the stored row and the token itself, which is shown once and never again."""
    secret = "rgt_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=name, prefix=secret[:12], token_hash=token_hash(secret))
    session.add(row)
    session.flush()
    return row, secret


def lookup_api_token(session: Session, secret: str, now: datetime | None = None) -> User | None:
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash(secret)))
    if row is None or row.revoked_at is not None or not row.user.active:
        return None
    row.last_used = now or utcnow()
    return row.user


def revoke_api_token(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFoundError(f"no API token {token_id}")
    row.revoked_at = utcnow()
    return row
