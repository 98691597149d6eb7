"""Small helpers shared by the page modules (this module has no router of its own)."""

from __future__ import annotations

from fastapi import HTTPException, Request

from radguard.errors import NotFoundError, OutOfScopeError, RadguardError


def is_htmx(request: Request) -> bool:
    """htmx asks for a fragment; a plain form post (no JavaScript) gets a whole page or a redirect."""
    return request.headers.get("hx-request") == "true"


def http_error(exc: RadguardError) -> HTTPException:
    """A stage's refusal as an HTTP error with the stage's own message (it names the field).

    Not found (or another site's, which is the same answer) is 404; an organisation-wide object
    a site-limited account may read but not change is 403; anything else the input's fault, 400.
    """
    status = 404 if isinstance(exc, NotFoundError) else 403 if isinstance(exc, OutOfScopeError) else 400
    return HTTPException(status_code=status, detail=str(exc))


def attachment(filename: str) -> dict[str, str]:
    """Headers that make the browser save the body as a file instead of showing it."""
    safe = "".join(ch for ch in filename if ch.isalnum() or ch in "._-") or "download"
    return {"Content-Disposition": f'attachment; filename="{safe}"', "X-Content-Type-Options": "nosniff"}
