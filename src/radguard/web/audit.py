"""The audit trail: every change made through the web, the API or user administration."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.csvcells import to_csv
from radguard.db.models.web import AuditEvent


def record(session: Session, actor: str, action: str, target: str | None = None,
           detail: dict[str, Any] | None = None, ip: str | None = None, via: str = "web") -> None:
    session.add(AuditEvent(actor=actor, action=action, target=target, detail=detail or {}, ip=ip, via=via))


def recent(session: Session, limit: int = 200, offset: int = 0) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit).offset(offset)))


def export_csv(session: Session) -> str:
    """The whole audit log as CSV; every cell goes through the one neutralising writer."""
    rows = ([e.id, e.at.isoformat(), e.actor, e.action, e.target or "", e.via, e.ip or "",
             json.dumps(e.detail, sort_keys=True)]
            for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
    return to_csv(["id", "at", "actor", "action", "target", "via", "ip", "detail"], rows)
