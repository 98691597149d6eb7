"""``radguard findings list|show|accept|resolve|false-positive|reopen``."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import typer
from rich.table import Table

from radguard import wording
from radguard.checks.engine import load_settings
from radguard.checks.findings import finding_record, get_finding, list_findings, service_sites, transition
from radguard.cli.common import console, db, print_json
from radguard.errors import InputError
from radguard.validate import plausible_day, plausible_time
from radguard.web.audit import os_user, record_cli
from radguard.wording import plural

findings_app = typer.Typer(help="The findings register: triage and decisions.", no_args_is_help=True)


def parse_day_or_time(text: str, field: str, *, end_of_day: bool) -> datetime:
    """``YYYY-MM-DD`` (through that whole day if ``end_of_day``) or an ISO 8601 timestamp, UTC."""
    try:
        if len(text) == 10:
            day = plausible_day(datetime.strptime(text, "%Y-%m-%d").date())
            start = datetime.combine(day, time(), tzinfo=UTC)
            if not end_of_day:
                return start
            try:
                return start + timedelta(days=1)
            except OverflowError:  # 9999-12-31: the last representable moment of that day
                return datetime.combine(day, time.max, tzinfo=UTC)
        value = plausible_time(datetime.fromisoformat(text.replace("Z", "+00:00")))
    except ValueError as exc:
        if "plausible" in str(exc):
            raise InputError(field, None, None, str(exc)) from None
        raise InputError(field, None, None, f"{text!r} is not a date (YYYY-MM-DD) or ISO 8601 timestamp") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@findings_app.command("list")
def list_cmd(
    ctx: typer.Context,
    state: list[str] = typer.Option([], "--state", help="open (incl. reopened), reopened, mitigated, "
                                                         "risk_accepted, false_positive; repeatable."),
    severity: list[str] = typer.Option([], "--severity", help="critical, high, medium, low, info; repeatable."),
    asset: str | None = typer.Option(None, "--asset", help="Asset ID, SITE/NAME or unique name."),
    check: list[str] = typer.Option([], "--check", help="Check ID; repeatable."),
    site: str | None = typer.Option(None, "--site", help="Site code: its assets' and imaging services' findings "
                                                               "and the organisation-wide ones."),
    limit: int | None = typer.Option(None, "--limit", help="At most this many, highest risk first."),
    offset: int = typer.Option(0, "--offset", min=0, help="Skip this many first (paging with --limit)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Findings, highest risk first."""
    with db(ctx).read() as session:
        rows = list_findings(session, states=state, severities=severity, asset_ref=asset, check_ids=check,
                             site=site, limit=limit, offset=offset)
        if json_out:
            services = service_sites(session)
            print_json([finding_record(f, services=services) for f in rows])
            return
        if not rows:
            filtered = bool(state or severity or asset or check)
            if not filtered or not list_findings(session, limit=1):
                console.print("The findings register is empty: run `radguard assess` to evaluate the checks "
                              "against the inventory and evidence.", highlight=False)
            else:
                console.print("No findings match these filters.", highlight=False)
            return
        table = Table("ID", "Risk", "Severity", "State", "Check", "Asset / subject", "Due", "Summary")
        for f in rows:
            where = f"{f.asset.site.code}/{f.asset.name}" if f.asset is not None else (f.subject or "")
            if f.key:
                where += f" [{f.key}]"
            table.add_row(str(f.id), str(f.risk_score), f.severity, f.state, f.check_id, where,
                          f.due.isoformat() if f.due else "", f.summary or f.title)
        console.print(table)
        console.print(plural(len(rows), "finding"))


@findings_app.command("show")
def show_cmd(ctx: typer.Context, finding_id: int = typer.Argument(..., help="Finding ID."),
             json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """One finding with its risk explanation, evidence and history."""
    with db(ctx).read() as session:
        record = finding_record(get_finding(session, finding_id), events=True)
    if json_out:
        print_json(record)
        return
    for key in ("id", "check_id", "title", "summary", "asset", "subject", "key", "state", "severity",
                "risk_score", "due", "first_seen", "last_seen", "closed_at", "decided_by", "decision_reason",
                "accepted_until", "safeguard_type", "defense_layer", "frameworks", "evidence", "remediation",
                "tickets"):
        value = record[key]
        if value in (None, "", {}, []):
            continue
        if key == "asset" and isinstance(value, dict):
            cls = wording.label(value.get("class"))
            value = f"{value.get('site')}/{value.get('name')} ({cls}, ID {value.get('id')})"
        console.print(f"[bold]{wording.label(key)}[/]: {wording.value(value)}", highlight=False)
    expl = record["risk_explanation"]
    if expl:
        console.print(
            f"[bold]risk[/]: {expl['score']} = 100 × severity {expl['severity']['factor']} × criticality "
            f"{expl['criticality']['factor']} ({expl['criticality']['note']}) × exposure {expl['exposure']['factor']} "
            f"({expl['exposure']['note']}) × exploit {expl['exploit']['factor']} ({expl['exploit']['note']})",
            highlight=False)
    advisory = record.get("advisory")
    if advisory:
        console.print(f"[bold]advisory[/]: {advisory['advisory_id']} ({advisory['status']})", highlight=False)
        for c in advisory["cves"]:
            console.print(f"  {c['id']} CVSS {c['cvss'] if c['cvss'] is not None else '?'}"
                          + (" · CISA KEV" if c["kev"] else "")
                          + (f" · ransomware use {c['ransomware']}" if c["ransomware"] else "")
                          + (f" · EPSS {c['epss']['epss']:.1%} (percentile {c['epss']['percentile']:.0%}, "
                             f"scored {c['epss']['score_date']})" if c.get("epss") else ""), highlight=False)
        for remediation in advisory["remediations"]:
            console.print(f"  fix: {remediation}", highlight=False)
    console.print("[bold]history[/]:")
    for e in record["history"]:
        console.print(f"  {e['at'].isoformat()} {e['actor']}: {e['from'] or '-'} → {e['to']}"
                      + (f" ({e['reason']})" if e["reason"] else ""), highlight=False)


def _decide(action: str, help_text: str) -> None:
    def command(
        ctx: typer.Context,
        finding_id: int = typer.Argument(..., help="Finding ID."),
        reason: str = typer.Option(..., "--reason", help="Why; kept in the finding's history."),
        by: str | None = typer.Option(None, "--by", help="Who decides (default: the login name)."),
        until: str | None = typer.Option(None, "--until", help="Risk acceptance end (YYYY-MM-DD, through that day)."),
        settings_file: Path | None = typer.Option(None, "--settings",
                                                  help="YAML settings (as for `radguard assess`): "
                                                       "sla.max_acceptance_days caps --until."),
        beyond_reason: str | None = typer.Option(
            None, "--beyond-max-reason",
            help="Why a risk acceptance may end later than sla.max_acceptance_days (required then; kept "
                 "with the decision)."),
        json_out: bool = typer.Option(False, "--json", help="Print the updated finding as JSON."),
    ) -> None:
        operator = os_user()
        who = by or operator
        end = parse_day_or_time(until, "--until", end_of_day=True) if until else None
        if end is not None and action != "accept":
            raise InputError("--until", None, None, "only `findings accept` takes an end date")
        if beyond_reason is not None and action != "accept":
            raise InputError("--beyond-max-reason", None, None, "only `findings accept` takes it")
        settings = load_settings(settings_file)
        with db(ctx).transaction() as session:
            finding = transition(session, finding_id, action, by=who, reason=reason, until=end, sla=settings.sla,
                                 beyond_maximum_reason=beyond_reason)
            beyond = finding.events[-1].evidence.get("beyond_maximum") if finding.events else None
            record = finding_record(finding, events=True)
            # --by is a claim; the audit log keeps who ran the command beside it.
            record_cli(session, f"finding.{action}", target=f"finding:{finding_id}",
                       detail={"check": finding.check_id, "by": who, "reason": reason,
                               "until": end.isoformat() if end else None, "to": finding.state,
                               **({"beyond_maximum_reason": beyond["reason"]} if beyond else {})})
        if json_out:
            print_json(record)
            return
        console.print(f"finding {finding_id} is now {record['state']}"
                      + (f" until {end.isoformat()}" if end else ""), highlight=False)

    command.__doc__ = help_text
    findings_app.command(action)(command)


_decide("accept", "Accept the risk, with who, why and until when; expiry reopens it.")
_decide("resolve", "Mark as mitigated by a person; the next assessment reopens it if still observed.")
_decide("false-positive", "Mark as a false positive (who, why); it stays closed.")
_decide("reopen", "Reopen a mitigated, accepted or false-positive finding.")


def register(app: typer.Typer) -> None:
    app.add_typer(findings_app, name="findings")
