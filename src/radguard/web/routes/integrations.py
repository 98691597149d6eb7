"""The notification log page (admin only): every notification radguard tried to send, newest first.

Read through :func:`radguard.integrations.notify.log`, the same function ``radguard notify log`` uses.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from radguard.integrations.notify import log
from radguard.web.app import render
from radguard.web.security import Principal, db_session, require

router = APIRouter(include_in_schema=False)


@router.get("/admin/notifications")
async def notifications_page(request: Request, principal: Principal = Depends(require("admin")),
                             session: Session = Depends(db_session)) -> Response:
    return render(request, "notifications.html", {"entries": log(session, 500)})
