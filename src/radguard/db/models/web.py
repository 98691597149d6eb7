"""Web accounts, sessions, API tokens, login throttling and the append-only audit log.

Passwords are argon2 hashes; session and API tokens are stored only as SHA-256 hashes, so a
stolen database does not hand out live credentials. ``audit_event`` is append-only: the
migration installs triggers that refuse UPDATE and DELETE on both SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from radguard.db.base import Base, JSONDoc, UTCDateTime, utcnow

ROLES = ("viewer", "contributor", "assessor", "admin")  # each role includes the ones before it


class User(Base):
    __tablename__ = "web_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # TOTP second factor (RFC 6238): the base32 secret once enrolment starts; ``totp_enabled``
    # only after the user proved a code; the last time step accepted, so a code is used once.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int | None] = mapped_column(Integer)
    # Set by an administrator (``radguard user force-reset``): the next sign-in must choose a new
    # password before anything else (radguard.web.routes.account); cleared when it is set.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")


class UserSite(Base):
    """A site the user is limited to. A user with no rows sees every site (docs/identity.md)."""

    __tablename__ = "web_user_site"

    user_id: Mapped[int] = mapped_column(ForeignKey("web_user.id", ondelete="CASCADE"), primary_key=True)
    # RESTRICT: removing a site must not quietly turn a user limited to it into an unrestricted one.
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"), primary_key=True)


class TokenSite(Base):
    """A site an API token is limited to; a token's sites narrow its user's, never widen them."""

    __tablename__ = "api_token_site"

    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"), primary_key=True)


class WebSession(Base):
    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_user.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))
    # What an administrator needs to recognise a session before revoking it (`radguard user
    # sessions`): when it was last used (updated at most once a minute), the browser's
    # User-Agent (cut to 300 characters) and how it signed in: local, ldap or oidc.
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str | None] = mapped_column(String(300))
    method: Mapped[str] = mapped_column(String(16), default="local", server_default="local")
    # The OpenID provider's ID token of an oidc session: sent back as id_token_hint when signing
    # out at the provider (RP-initiated logout). Never shown.
    id_token: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship()


class ApiToken(Base):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))  # shown to people to tell tokens apart
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Tokens expire (90 days unless `radguard user token --days` says otherwise); NULL only for
    # rows written before expiry existed, which the migration gave an end date.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")


class RecoveryCode(Base):
    """A single-use second-factor recovery code; only its SHA-256 hash is stored."""

    __tablename__ = "web_recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_user.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Who changed what, when, from where. Never updated, never deleted."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(100), index=True)
    target: Mapped[str | None] = mapped_column(String(300))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(16), default="web")  # web, api, cli
    note: Mapped[str | None] = mapped_column(Text)


class LoginStrike(Base):
    """The sign-in throttle's count for one account name or client address (``web.security.LoginThrottle``).

    In the database rather than in a server process, so that every ``radguard serve --workers``
    process counts the same failures: with the counts kept per process, N workers gave an
    attacker N times the free attempts and N separate delays. Times are seconds since the epoch
    (every process shares the wall clock, not a monotonic one). Rows unused for an hour are
    deleted by the throttle itself.
    """

    __tablename__ = "login_strike"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # "account" or "address"
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[float] = mapped_column(Float, default=0.0)
    last: Mapped[float] = mapped_column(Float, default=0.0, index=True)
    audited: Mapped[bool] = mapped_column(Boolean, default=False)


class WebJob(Base):
    """A background job the web app started (a PDF report, a re-rank: ``web.report_jobs``), one row each.

    In the database rather than in the process that runs it, so that with ``radguard serve
    --workers N`` the job's page can be polled, and its file downloaded, on whichever process
    the browser reaches. The job runs in a thread of the process named by ``host`` and ``pid``;
    a job left unfinished by a process that is gone reads as failed. A report's file is kept in a
    private temporary folder every process of the server can read (its path in ``params``).
    """

    __tablename__ = "web_job"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # the Job class's KIND: "report.pdf", "roadmap.rerank"
    owner: Mapped[str] = mapped_column(String(100), index=True)
    # The job's own fields (what was asked, what it made: audience, site, the file's path ...).
    params: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
