"""Open findings handed to ticket systems: Jira (REST, through the ``jira`` client) and ServiceNow
(an import-set file).

Every ticket carries radguard's finding ID — in Jira as the label ``radguard-finding-ID`` and in
the summary prefix ``[radguard #ID]``, in ServiceNow as the ``u_radguard_finding_id`` column that
the import set's transform map coalesces on — so exporting again updates the same ticket instead
of creating a second one. The ticket key is stored on the finding (table ``finding_ticket``) and is part of its one
record (``FindingRecord.tickets``: CLI ``--json``, ``findings show``, the API and the web page).
"""

from __future__ import annotations

import io
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.csvcells import CsvDictWriter
from radguard.db.base import utcnow
from radguard.db.models.integrations import FindingTicket
from radguard.errors import RadguardError

PRIORITY = {"critical": "Highest", "high": "High", "medium": "Medium", "low": "Low", "info": "Lowest"}
SN_IMPACT = {"critical": 1, "high": 1, "medium": 2, "low": 3, "info": 3}
SERVICENOW_COLUMNS = ["u_radguard_finding_id", "u_short_description", "u_description", "u_impact", "u_urgency",
                      "u_cmdb_ci", "u_location", "u_state", "u_due_date", "u_risk_score", "u_check_id"]


class TicketError(RadguardError):
    """The ticket system refused or could not be reached."""

    exit_code = 5


def _open_records(session: Session, states: list[str]) -> list[dict[str, Any]]:
    from radguard.checks.findings import finding_record, list_findings
    from radguard.checks.loader import default_catalog

    catalog = default_catalog()
    return [finding_record(f, catalog) for f in list_findings(session, states=states)]


def _description(record: dict[str, Any]) -> str:
    asset = record.get("asset") or {}
    parts = [record.get("summary") or "", "",
             f"Check: {record['check_id']}  Severity: {record['severity']}  Risk score: {record['risk_score']}",
             f"Asset: {asset.get('name', '-')} (site {asset.get('site', '-')})",
             f"Due: {record.get('due') or '-'}", "", f"Remediation: {record.get('remediation') or '-'}",
             "", f"radguard finding ID: {record['id']} (keep this line: re-exports update this ticket)"]
    return "\n".join(parts)


def _store_key(session: Session, finding_id: int, system: str, key: str) -> None:
    row = session.scalar(select(FindingTicket).where(FindingTicket.finding_id == finding_id,
                                                     FindingTicket.system == system))
    if row is None:
        session.add(FindingTicket(finding_id=finding_id, system=system, key=key, exported_at=utcnow()))
    else:
        row.key, row.exported_at = key, utcnow()


def export_jira(session: Session, client: Any, project: str, states: list[str] | None = None,
                issue_type: str = "Task") -> dict[str, list[str]]:
    """Create or update one Jira issue per finding; returns the created and updated keys.

    :param session: the caller's transaction (ticket keys are stored in it).
    :param client: a ``jira.JIRA`` client.
    :param project: the Jira project key.
    :param states: finding states to export (default open).
    :param issue_type: the issue type name.
    """
    from jira.exceptions import JIRAError

    created: list[str] = []
    updated: list[str] = []
    for record in _open_records(session, states or ["open"]):
        label = f"radguard-finding-{record['id']}"
        fields = {"summary": f"[radguard #{record['id']}] {record['title']}"[:250],
                  "description": _description(record), "labels": ["radguard", label],
                  "priority": {"name": PRIORITY.get(record["severity"], "Medium")}}
        try:
            found = client.enhanced_search_issues(f'project = "{project}" AND labels = "{label}"',
                                                  fields=["key"], maxResults=1, json_result=True)
            issues = found.get("issues") or []
            if issues:
                key = issues[0]["key"]
                client.issue(key, fields="summary").update(fields=fields, notify=False)
                updated.append(key)
            else:
                issue = client.create_issue(fields={"project": {"key": project},
                                                    "issuetype": {"name": issue_type}, **fields})
                key = issue.key
                created.append(key)
        except JIRAError as exc:
            raise TicketError(f"Jira refused finding {record['id']}: HTTP {exc.status_code} {exc.text}"[:500]) from None
        _store_key(session, record["id"], "jira", key)
    session.flush()
    return {"created": created, "updated": updated}


def servicenow_import_set(session: Session, states: list[str] | None = None) -> str:
    """A CSV for a ServiceNow import set table (``u_radguard_findings``); the transform map
    coalesces on ``u_radguard_finding_id`` so a second import updates the same incident/task."""
    buf = io.StringIO()
    writer = CsvDictWriter(buf, SERVICENOW_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for r in _open_records(session, states or ["open"]):
        asset = r.get("asset") or {}
        impact = SN_IMPACT.get(r["severity"], 2)
        writer.writerow({"u_radguard_finding_id": f"RG-{r['id']}", "u_short_description": r["title"][:160],
                         "u_description": _description(r), "u_impact": impact, "u_urgency": impact,
                         "u_cmdb_ci": asset.get("name", ""), "u_location": asset.get("site", ""),
                         "u_state": r["state"], "u_due_date": r["due"].isoformat() if r.get("due") else "",
                         "u_risk_score": r["risk_score"], "u_check_id": r["check_id"]})
        _store_key(session, r["id"], "servicenow", f"RG-{r['id']}")
    session.flush()
    return buf.getvalue()
