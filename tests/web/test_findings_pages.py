"""Findings triage in the browser's terms: filter, decide in bulk, see the history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from radguard.db.models.findings import Finding
from radguard.db.models.web import AuditEvent
from radguard.db.session import Database
from radguard.inventory.importer import import_inventory
from radguard.readiness.dashboard import assess
from tests.conftest import EXAMPLES
from tests.web.conftest import csrf_of

IN_200_DAYS = (date.today() + timedelta(days=200)).isoformat()  # within the 365-day maximum term


def _seed(db: Database) -> None:
    with db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
    with db.transaction() as s:
        assess(s)


def test_accept_risk_in_bulk_is_recorded(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    _seed(web_db)
    with web_db.read() as s:
        targets = list(s.scalars(select(Finding.id).where(Finding.check_id == "RG-REMOTE-ALWAYS-ON")))
    assert len(targets) >= 2
    c = client_for("assessor")
    page = c.get("/findings", params={"check": "RG-REMOTE-ALWAYS-ON"})
    assert page.status_code == 200 and f'value="{targets[0]}"' in page.text
    r = c.post("/findings/decide", data={"ids": [str(t) for t in targets[:2]], "action": "accept",
                                         "reason": "vendor VPN replaced next quarter", "until": IN_200_DAYS,
                                         "csrf_token": csrf_of(c)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/findings?decided=2"
    assert "Decision recorded for 2 findings." in c.get(r.headers["location"]).text
    with web_db.read() as s:
        rows = {f.id: f for f in s.scalars(select(Finding).where(Finding.id.in_(targets[:2])))}
        assert all(f.state == "risk_accepted" and f.decided_by == "assessor" for f in rows.values())
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "finding.accept")).all()
        assert len(audit) == 2 and audit[0].detail["reason"] == "vendor VPN replaced next quarter"
    detail = c.get(f"/findings/{targets[0]}")
    assert "vendor VPN replaced next quarter" in detail.text and "risk_accepted" in detail.text


def test_bad_decision_changes_nothing(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    _seed(web_db)
    with web_db.read() as s:
        fid = s.scalar(select(Finding.id).where(Finding.state == "open"))
    c = client_for("admin")
    r = c.post("/findings/decide", data={"ids": [str(fid)], "action": "accept", "reason": "no end date",
                                         "csrf_token": csrf_of(c)})
    assert r.status_code == 400 and "end date" in r.text
    with web_db.read() as s:
        f = s.get(Finding, fid)
        assert f is not None and f.state == "open"


def test_advisory_finding_page_shows_cves_and_the_vendor_fix(web_db: Database,
                                                             client_for: Callable[[str], TestClient]) -> None:
    """The evidence keeps CVE IDs; the page adds each CVE's score and the remediation from the feed."""
    from radguard.feeds.importer import read_feeds
    from radguard.feeds.store import store_feeds
    from tests.conftest import FIXTURES

    with web_db.transaction() as s:
        import_inventory(s, EXAMPLES / "northwind-inventory.yaml")
        store_feeds(s, read_feeds([FIXTURES / "feeds" / "csaf" / "icsma-22-174-01.json"]))
    with web_db.transaction() as s:
        assess(s)
    with web_db.read() as s:
        fid = s.scalar(select(Finding.id).where(Finding.check_id == "RG-ADVISORY", Finding.key == "ICSMA-22-174-01"))
    assert fid is not None
    page = client_for("viewer").get(f"/findings/{fid}")
    assert page.status_code == 200
    c_text = page.text
    assert "Advisory ICSMA-22-174-01" in c_text and "CVE-2022-2119" in c_text
    assert "3.6.7" in c_text.split("Advisory ICSMA-22-174-01", 1)[1].split("<h2>Evidence", 1)[0]  # the fix


def test_queue_sorts_filters_and_pages_by_cursor(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    """#18: every sortable column, site and overdue filters, bulk decisions above the list, Next by cursor."""
    import re

    _seed(web_db)
    c = client_for("assessor")
    with web_db.read() as s:
        total = s.query(Finding).count()
    assert total > 50, "the Northwind register must need two pages for this test"
    first = c.get("/findings", params={"state": "", "sort": "severity"})
    assert first.status_code == 200
    assert first.text.index("Decide for the selected findings") < first.text.index('<table class="list">')
    for key in ("risk", "check", "asset", "due", "last_seen"):
        assert f"sort={key}" in first.text
    assert f"{total:,} findings · page 1 of {-(-total // 50)}" in first.text
    severities = re.findall(r'data-severity="(\w+)"', first.text)
    order = ["critical", "high", "medium", "low", "info"]
    assert [order.index(v) for v in severities] == sorted(order.index(v) for v in severities)
    nxt = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert nxt is not None and "after=" in nxt.group(1)
    second = c.get(nxt.group(1).replace("&amp;", "&"))
    assert second.status_code == 200 and "page 2" in second.text
    ids1 = set(re.findall(r'data-finding="(\d+)"', first.text))
    ids2 = set(re.findall(r'data-finding="(\d+)"', second.text))
    assert ids2 and not ids1 & ids2
    by_number = c.get("/findings", params={"state": "", "sort": "severity", "page": 2})
    assert set(re.findall(r'data-finding="(\d+)"', by_number.text)) == ids2
    assert c.get("/findings", params={"sort": "colour"}).status_code == 400
    assert c.get("/findings", params={"after": "bogus"}).status_code == 400
    site = c.get("/findings", params={"state": "", "site": "NWH-OIC"})
    assert site.status_code == 200 and "NWH-OIC/" in site.text and "NWH-MAIN/" not in site.text


def test_api_findings_next_cursor(web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    _seed(web_db)
    c = client_for("viewer")
    all_ids = [f["id"] for f in c.get("/api/v1/findings", params={"limit": 1000, "sort": "check"}).json()]
    first = c.get("/api/v1/findings", params={"limit": 20, "sort": "check"})
    assert first.status_code == 200 and 'rel="next"' in first.headers["link"]
    second = c.get("/api/v1/findings", params={"limit": 20, "sort": "check", "after": first.headers["x-next-cursor"]})
    assert [f["id"] for f in first.json() + second.json()] == all_ids[:40]
    assert c.get("/api/v1/findings", params={"after": first.headers["x-next-cursor"]}).status_code == 400


def test_refused_decision_on_the_finding_page_keeps_what_was_typed(
        web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    """Issue #19: no end date, a past end date, or one beyond the maximum term re-render the form
    with the typed reason and date and the error beside them; nothing is stored."""
    _seed(web_db)
    with web_db.read() as s:
        fid = s.scalar(select(Finding.id).where(Finding.state == "open"))
    c = client_for("assessor")
    past = (date.today() - timedelta(days=3)).isoformat()
    too_far = (date.today() + timedelta(days=400)).isoformat()
    for until, message in (("", "needs an end date"), (past, "is not in the future"),
                           (too_far, "at most 365 days")):
        r = c.post("/findings/decide", data={"ids": str(fid), "action": "accept", "until": until,
                                             "reason": "typed reason kept", "back": f"/findings/{fid}",
                                             "csrf_token": csrf_of(c)})
        assert r.status_code == 400 and message in r.text
        assert 'value="typed reason kept"' in r.text and 'id="decision-error"' in r.text
        assert f'name="until" type="date" value="{until}"' in r.text
        assert '<option value="accept" selected>' in r.text
    with web_db.read() as s:
        f = s.get(Finding, fid)
        assert f is not None and f.state == "open" and f.decision_reason is None
        assert s.scalar(select(AuditEvent).where(AuditEvent.action == "finding.accept")) is None


def test_acceptance_beyond_the_maximum_warns_then_needs_a_reason(
        web_db: Database, client_for: Callable[[str], TestClient]) -> None:
    """Issue #19: an end date beyond sla.max_acceptance_days is a warning with an extra field, not a
    ban: without a reason the form comes back (400) with the field required; with one, the decision
    is stored with the reason in its history and in the audit log."""
    _seed(web_db)
    with web_db.read() as s:
        fid = s.scalar(select(Finding.id).where(Finding.state == "open"))
    c = client_for("assessor")
    too_far = (date.today() + timedelta(days=500)).isoformat()
    form = {"ids": str(fid), "action": "accept", "until": too_far, "reason": "replacement in 2028",
            "back": f"/findings/{fid}", "csrf_token": csrf_of(c)}
    r = c.post("/findings/decide", data=form)
    assert r.status_code == 400 and "reason for exceeding the maximum" in r.text
    assert 'name="beyond_reason" value="" required' in r.text
    with web_db.read() as s:
        f = s.get(Finding, fid)
        assert f is not None and f.state == "open"
    r = c.post("/findings/decide", data={**form, "beyond_reason": "board approved a 500-day term"},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/findings/{fid}?saved=1"
    assert "Decision recorded: the finding is now risk accepted" in c.get(r.headers["location"]).text
    with web_db.read() as s:
        f = s.get(Finding, fid)
        assert f is not None and f.state == "risk_accepted" and f.accepted_until is not None
        assert f.events[-1].evidence["beyond_maximum"] == {"max_days": 365,
                                                           "reason": "board approved a 500-day term"}
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "finding.accept")).one()
        assert audit.detail["beyond_maximum_reason"] == "board approved a 500-day term"
    page = c.get(f"/findings/{fid}")
    assert "beyond the 365-day maximum: board approved a 500-day term" in page.text
