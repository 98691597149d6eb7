"""The audit trail: every change made through the web, the API or user administration."""

from __future__ import annotations

import getpass
import json
import os
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.csvcells import to_csv
from radguard.db.models.web import AuditEvent


def record(session: Session, actor: str, action: str, target: str | None = None,
           detail: dict[str, Any] | None = None, ip: str | None = None, via: str = "web") -> None:
    session.add(AuditEvent(actor=actor, action=action, target=target, detail=detail or {}, ip=ip, via=via))


def os_user() -> str:
    """The operating-system account running the CLI: the audit log's actor for every CLI change.

    The CLI has no sign-in, so a name given on the command line (``findings accept --by``) is a
    claim; the audit trail records who actually ran the command beside it.
    """
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid {os.getuid()}"


def record_cli(session: Session, action: str, target: str | None = None,
               detail: dict[str, Any] | None = None) -> None:
    """Record a change or a sensitive read made with the CLI, as the operating-system user.

    :param session: the transaction the change is made in (so it is recorded only if it happens).
    :param action: what was done, e.g. ``finding.accept``, ``inventory.import``.
    :param target: what it was done to.
    :param detail: anything else worth keeping (never patient data).
    """
    record(session, os_user(), action, target=target, detail=detail, via="cli")


def recent(session: Session, limit: int = 200, offset: int = 0) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit).offset(offset)))


def export_csv(session: Session) -> str:
    """The whole audit log as CSV; every cell goes through the one neutralising writer."""
    rows = ([e.id, e.at.isoformat(), e.actor, e.action, e.target or "", e.via, e.ip or "",
             json.dumps(e.detail, sort_keys=True)]
            for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    return to_csv(["id", "at", "actor", "action", "target", "via", "ip", "detail"], rows)
