"""TOTP second factor (RFC 6238) for local accounts, with single-use recovery codes.

Why it is built this way: radguard flags missing MFA in others (RG-REMOTE-NO-MFA), so its own
accounts must offer it. ``pyotp`` does the RFC 6238 arithmetic; ``segno`` draws the enrolment QR
code as SVG on the server, so the secret never goes to a third-party QR service. A code is
accepted once: the last accepted time step is stored and a code for the same or an earlier
step is refused, so a code seen over a shoulder or in a proxy log cannot be replayed within its
window. Recovery codes are random, shown once, stored as SHA-256 hashes and burnt on use.
"""

from __future__ import annotations

import hashlib
import io
import secrets
import time

import pyotp
import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.db.base import utcnow
from radguard.db.models.web import RecoveryCode, User
from radguard.errors import InputError

ISSUER = "radguard"
STEP_SECONDS = 30
VALID_WINDOW = 1  # one step either side: tolerates a phone clock 30 s off
RECOVERY_CODES = 10
MFA_POLICIES = ("none", "admins", "all")


def mfa_required(user: User, policy: str) -> bool:
    """Whether ``policy`` obliges ``user`` to sign in with a second factor.

    :param user: the local account.
    :param policy: ``none``, ``admins`` (administrators must enrol) or ``all`` (every local account).
    """
    if policy not in MFA_POLICIES:
        raise InputError("mfa_policy", None, None, f"{policy!r} is not one of {', '.join(MFA_POLICIES)}")
    if user.password_hash.startswith("!directory"):
        return False  # the directory (AD, the identity provider) owns that account's second factor
    return policy == "all" or (policy == "admins" and user.role == "admin")


def begin_enrolment(user: User) -> str:
    """Give ``user`` a fresh secret (not yet in force) and return its ``otpauth://`` URI.

    :param user: the account enrolling; an already-enabled factor is refused (disable it first).
    """
    if user.totp_enabled:
        raise InputError("totp", None, user.username, "two-factor sign-in is already enabled")
    user.totp_secret = pyotp.random_base32()
    user.totp_last_step = None
    return provisioning_uri(user)


def provisioning_uri(user: User) -> str:
    """The ``otpauth://`` URI an authenticator app reads from the QR code.

    :param user: an account with a secret.
    """
    if not user.totp_secret:
        raise InputError("totp", None, user.username, "no enrolment in progress")
    return pyotp.TOTP(user.totp_secret, interval=STEP_SECONDS).provisioning_uri(name=user.username,
                                                                                  issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code (no external service sees the secret).

    :param uri: the provisioning URI.
    """
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=4, xmldecl=False, svgns=True,
                                     title="Two-factor enrolment QR code")
    return out.getvalue().decode()


def _matching_step(secret: str, code: str, now: float) -> int | None:
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now // STEP_SECONDS)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if secrets.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def _accept_totp(user: User, code: str, now: float) -> bool:
    if not user.totp_secret:
        return False
    step = _matching_step(user.totp_secret, code, now)
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False  # wrong, or already used (the same or an earlier step): refused
    user.totp_last_step = step
    return True


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().replace("-", "").replace(" ", "").lower().encode()).hexdigest()


def _new_recovery_codes(session: Session, user: User) -> list[str]:
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)  # 40 bits each, ten of them: guessing is hopeless behind the throttle
        codes.append(f"{raw[:5]}-{raw[5:]}")
        session.add(RecoveryCode(user_id=user.id, code_hash=_hash(raw)))
    session.flush()
    return codes


def confirm_enrolment(session: Session, user: User, code: str, now: float | None = None) -> list[str]:
    """Turn the factor on once the user proves a code; returns the recovery codes (shown once).

    :param session: the database session.
    :param user: the account with an enrolment in progress.
    :param code: the six digits from the authenticator app.
    :param now: the time (seconds since the epoch; default now).
    """
    if user.totp_enabled or not user.totp_secret:
        raise InputError("totp", None, user.username, "no enrolment in progress")
    if not _accept_totp(user, code, time.time() if now is None else now):
        raise InputError("code", None, None, "that code is not right; check the phone's clock and try the next one")
    user.totp_enabled = True
    return _new_recovery_codes(session, user)


def regenerate_recovery_codes(session: Session, user: User) -> list[str]:
    """Replace every recovery code of ``user`` (the old ones stop working).

    :param session: the database session.
    :param user: an account with the factor enabled.
    """
    if not user.totp_enabled:
        raise InputError("totp", None, user.username, "two-factor sign-in is not enabled")
    return _new_recovery_codes(session, user)


def disable(session: Session, user: User) -> None:
    """Turn the factor off and drop the secret and recovery codes (an admin's reset for a lost phone).

    :param session: the database session.
    :param user: the account.
    """
    user.totp_enabled = False
    user.totp_secret = None
    user.totp_last_step = None
    for old in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)):
        session.delete(old)


def verify(session: Session, user: User, code: str, now: float | None = None) -> str | None:
    """Check a second factor: a TOTP code not used before, or an unused recovery code.

    Returns ``"totp"`` or ``"recovery"`` for what was accepted, ``None`` when refused.

    :param session: the database session.
    :param user: an account with the factor enabled.
    :param code: what the user typed.
    :param now: the time (seconds since the epoch; default now).
    """
    if not user.totp_enabled or not code:
        return None
    if _accept_totp(user, code, time.time() if now is None else now):
        return "totp"
    wanted = _hash(code)
    for row in session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                                          RecoveryCode.used_at.is_(None))):
        if secrets.compare_digest(row.code_hash, wanted):
            row.used_at = utcnow()
            return "recovery"
    return None


def recovery_codes_left(session: Session, user: User) -> int:
    """How many unused recovery codes ``user`` has.

    :param session: the database session.
    :param user: the account.
    """
    return len(list(session.scalars(select(RecoveryCode.id).where(RecoveryCode.user_id == user.id,
                                                                  RecoveryCode.used_at.is_(None)))))
