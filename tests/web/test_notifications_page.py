"""The notification log page lists the log (admin only)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from radguard.db.base import utcnow
from radguard.db.models.integrations import NotificationLog
from radguard.db.session import Database


def test_notification_log_page(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    with web_db.transaction() as s:
        s.add(NotificationLog(at=utcnow(), rule="soc-mail", event_key="new_critical:7", event="new_critical",
                              channel="smtp", status="failed", attempts=1, detail="SMTP <refused>"))
    admin = client_for("admin")
    page = admin.get("/admin/notifications")
    assert page.status_code == 200
    assert "new_critical:7" in page.text and "soc-mail" in page.text
    assert "SMTP &lt;refused&gt;" in page.text  # escaped
    assert client_for("viewer").get("/admin/notifications").status_code == 403
