"""Open findings and roadmap actions handed to ticket systems: Jira (REST, through the ``jira`` client) and ServiceNow
(an import-set file).

Every ticket carries radguard's finding ID — in Jira as the label ``radguard-finding-ID`` and in
the summary prefix ``[radguard #ID]``, in ServiceNow as the ``u_radguard_finding_id`` column that
the import set's transform map coalesces on — so exporting again updates the same ticket instead
of creating a second one. The ticket key is stored on the finding (table ``finding_ticket``) and is part of its one
record (``FindingRecord.tickets``: CLI ``--json``, ``findings show``, the API and the web page).
"""

from __future__ import annotations

import io
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.csvcells import CsvDictWriter
from radguard.db.base import utcnow
from radguard.db.models.integrations import FindingTicket, RoadmapTicket
from radguard.errors import RadguardError

if TYPE_CHECKING:
    from radguard.readiness.roadmap_store import RoadmapView

PRIORITY = {"critical": "Highest", "high": "High", "medium": "Medium", "low": "Low", "info": "Lowest"}
SN_IMPACT = {"critical": 1, "high": 1, "medium": 2, "low": 3, "info": 3}
SERVICENOW_COLUMNS = ["u_radguard_finding_id", "u_short_description", "u_description", "u_impact", "u_urgency",
                      "u_cmdb_ci", "u_location", "u_state", "u_due_date", "u_risk_score", "u_check_id"]


_Ticket = TypeVar("_Ticket", FindingTicket, RoadmapTicket)


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
    _upsert_ticket(session, FindingTicket, {"finding_id": finding_id, "system": system}, key)


def _upsert_ticket(session: Session, model: type[_Ticket], match: dict[str, Any], key: str) -> None:
    """Keep the one row per (object, system) of ``model``: a re-export moves its key and time."""
    row = session.scalars(select(model).filter_by(**match)).first()
    if row is None:
        session.add(model(**match, key=key, exported_at=utcnow()))
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
    created: list[str] = []
    updated: list[str] = []
    for record in _open_records(session, states or ["open"]):
        label = f"radguard-finding-{record['id']}"
        fields = {"summary": f"[radguard #{record['id']}] {record['title']}"[:250],
                  "description": _description(record), "labels": ["radguard", label],
                  "priority": {"name": PRIORITY.get(record["severity"], "Medium")}}
        key, new = _upsert_jira(client, project, issue_type, label, fields, f"finding {record['id']}")
        (created if new else updated).append(key)
        _store_key(session, record["id"], "jira", key)
    session.flush()
    return {"created": created, "updated": updated}


def _upsert_jira(client: Any, project: str, issue_type: str, label: str, fields: dict[str, Any],
                 what: str) -> tuple[str, bool]:
    """Update the issue carrying ``label`` or create it; returns (key, created)."""
    from jira.exceptions import JIRAError

    try:
        found = client.enhanced_search_issues(f'project = "{project}" AND labels = "{label}"',
                                              fields=["key"], maxResults=1, json_result=True)
        issues = found.get("issues") or []
        if issues:
            key = str(issues[0]["key"])
            client.issue(key, fields="summary").update(fields=fields, notify=False)
            return key, False
        issue = client.create_issue(fields={"project": {"key": project}, "issuetype": {"name": issue_type}, **fields})
        return str(issue.key), True
    except JIRAError as exc:
        raise TicketError(f"Jira refused {what}: HTTP {exc.status_code} {exc.text}"[:500]) from None


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


# --- roadmap actions -----------------------------------------------------------------------------
# An action's ID is stable across roadmaps (the check ID for finding work, the question ID for a
# checklist gap), so it is what a re-export matches on: the Jira label radguard-action-ID, the
# ServiceNow column u_radguard_action_id. Its rank, horizon and findings change as work is done;
# a re-export writes them onto the same ticket.

ACTION_COLUMNS = ["u_radguard_action_id", "u_rank", "u_short_description", "u_description", "u_assignment_group",
                  "u_horizon", "u_effort", "u_priority", "u_risk_reduction", "u_findings"]


def roadmap_view(session: Session, today: date | None = None) -> RoadmapView:
    """The roadmap a ticket export hands on: the one the roadmap page shows (the stored ranking,
    ``readiness.roadmap_store.current_roadmap``), every action with all its findings.

    The CLI reads it first to say, as the page does, when decisions came after the ranking.
    """
    from radguard.readiness.roadmap_store import current_roadmap

    return current_roadmap(session, today=today, full=True)


def _roadmap_actions(session: Session, today: date | None, view: RoadmapView | None) -> list[dict[str, Any]]:
    return list((view if view is not None else roadmap_view(session, today)).doc["actions"])


def _label_part(action_id: str) -> str:
    """Jira labels cannot hold spaces; action IDs are check or question IDs (letters, digits, -_.)."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in action_id)


def _action_description(action: dict[str, Any]) -> str:
    findings = action["why"]["findings"]
    parts = [action.get("what") or action["title"], "",
             f"Roadmap rank {action['rank']}, horizon {action['horizon']}, effort {action['effort']}, "
             f"owner {action.get('owner') or '-'}"]
    if findings:
        parts += ["", f"Closes {len(findings)} open finding(s):"]
        parts += [f"- radguard #{f['id']} {f['title']} ({f['severity']})" for f in findings[:50]]
        if len(findings) > 50:
            parts.append(f"- and {len(findings) - 50} more")
    if action["why"]["questions"]:
        parts += ["", "Checklist questions below target: " + ", ".join(map(str, action["why"]["questions"]))]
    parts += ["", f"radguard roadmap action: {action['id']} (keep this line: re-exports update this ticket)"]
    return "\n".join(parts)


def _horizon_priority(action: dict[str, Any], horizons: list[str]) -> str:
    index = horizons.index(action["horizon"]) if action["horizon"] in horizons else len(horizons)
    return ("High", "Medium")[index] if index < 2 else "Low"


def _store_action_key(session: Session, action_id: str, system: str, key: str) -> None:
    _upsert_ticket(session, RoadmapTicket, {"action_id": action_id, "system": system}, key)


def export_roadmap_jira(session: Session, client: Any, project: str, issue_type: str = "Task",
                        today: date | None = None, view: RoadmapView | None = None) -> dict[str, list[str]]:
    """Create or update one Jira issue per roadmap action; returns the created and updated keys.

    :param session: the caller's transaction (ticket keys are stored in it, per action ID).
    :param client: a ``jira.JIRA`` client.
    :param project: the Jira project key.
    :param issue_type: the issue type name.
    :param today: the roadmap's date (default today).
    :param view: the roadmap to export, when the caller has read it (default: :func:`roadmap_view`).
    """
    actions = _roadmap_actions(session, today, view)
    horizons = list(dict.fromkeys(a["horizon"] for a in actions))
    created: list[str] = []
    updated: list[str] = []
    for action in actions:
        label = f"radguard-action-{_label_part(action['id'])}"
        fields = {"summary": f"[radguard roadmap #{action['rank']}] {action['title']}"[:250],
                  "description": _action_description(action), "labels": ["radguard", "radguard-roadmap", label],
                  "priority": {"name": _horizon_priority(action, horizons)}}
        key, new = _upsert_jira(client, project, issue_type, label, fields, f"roadmap action {action['id']}")
        (created if new else updated).append(key)
        _store_action_key(session, action["id"], "jira", key)
    session.flush()
    return {"created": created, "updated": updated}


def roadmap_servicenow_import_set(session: Session, today: date | None = None,
                                  view: RoadmapView | None = None) -> str:
    """A CSV for a ServiceNow import set table (``u_radguard_roadmap``): one row per roadmap
    action; the transform map coalesces on ``u_radguard_action_id``.

    :param view: the roadmap to export, when the caller has read it (default: :func:`roadmap_view`).
    """
    actions = _roadmap_actions(session, today, view)
    horizons = list(dict.fromkeys(a["horizon"] for a in actions))
    buf = io.StringIO()
    writer = CsvDictWriter(buf, ACTION_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for a in actions:
        writer.writerow({"u_radguard_action_id": a["id"], "u_rank": a["rank"],
                         "u_short_description": a["title"][:160], "u_description": _action_description(a),
                         "u_assignment_group": a.get("owner") or "", "u_horizon": a["horizon"],
                         "u_effort": a["effort"], "u_priority": {"High": 2, "Medium": 3}.get(
                             _horizon_priority(a, horizons), 4),
                         "u_risk_reduction": a["risk_reduction"],
                         "u_findings": " ".join(f"RG-{f['id']}" for f in a["why"]["findings"])})
        _store_action_key(session, a["id"], "servicenow", f"RGA-{a['id']}")
    session.flush()
    return buf.getvalue()


def roadmap_tickets(session: Session) -> dict[str, dict[str, str]]:
    """Roadmap action ID → {system: ticket key}: what the roadmap views show beside each action."""
    out: dict[str, dict[str, str]] = {}
    for row in session.scalars(select(RoadmapTicket).order_by(RoadmapTicket.action_id, RoadmapTicket.system)):
        out.setdefault(row.action_id, {})[row.system] = row.key
    return out
