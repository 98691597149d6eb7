"""Notifications on what changed, never on what was already known.

``radguard notify run --rules rules.yaml`` (from cron or a timer) collects the current *events* —
a new open KEV finding with ransomware use, a new open critical finding, an open finding past its
SLA date, a new unconfirmed discovered device, a backup verification that failed or a backup
schedule that could not run, a planned drill whose date passed, a silent sensor, a schedule that
keeps failing — and sends each event a rule selects that the
notification log has not recorded as sent for that rule. Rules choose sites and a minimum
severity, a channel, ``immediate`` or ``digest`` (one message a day with everything new), and
quiet hours (immediate events are deferred, then sent on the first run after them).

Channels: SMTP (STARTTLS, then AUTH when a user is configured; the password comes from the
environment variable the rule names, never the rules file), generic webhook (JSON signed with
HMAC-SHA256 in ``X-Radguard-Signature: sha256=HEX``, retried with exponential backoff), and
Microsoft Teams / Slack incoming webhooks (their payload formats), and syslog (one RFC 5424 message
per event, CEF in the message, over UDP, TCP or TLS as :mod:`radguard.integrations.siem` sends
findings, MSGID ``notify``). Every attempt is a
``notification_log`` row. Findings are read through :mod:`radguard.checks.findings` and devices
through :mod:`radguard.inventory.queries`; the other facts through their owners
(:mod:`radguard.backup.sets`, :mod:`radguard.response.drills`, :mod:`radguard.discovery.sensors`).

Each event's *key* names the fact and the moment it became true (the verification, the run that
started a failing streak, the last result before a sensor went quiet), so the same fact is never
announced twice while a new occurrence of it is.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.db.base import utcnow
from radguard.db.models.integrations import NotificationLog
from radguard.errors import InputError, RadguardError
from radguard.textfiles import load_yaml

EVENTS = ("kev_ransomware", "new_critical", "sla_passed", "new_unconfirmed_device", "backup_failed",
          "drill_overdue", "sensor_silent", "schedule_failing")
SEVERITY_ORDER = ["info", "low", "medium", "high", "critical"]


class NotifyError(RadguardError):
    """A channel could not deliver (logged as failed; the next run tries again)."""

    exit_code = 5


class Channel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["smtp", "webhook", "teams", "slack", "syslog"]
    # smtp
    host: str | None = None
    port: int = 587
    starttls: bool = True
    user: str | None = None
    password_env: str | None = None
    ca_file: str | None = None
    sender: str | None = None
    to: list[str] = Field(default_factory=list)
    # webhook / teams / slack: https://…; syslog: udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT
    url: str | None = None
    secret_env: str | None = None
    retries: int = 3
    backoff_s: float = 1.0


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    events: list[str] = Field(default_factory=lambda: list(EVENTS))
    sites: list[str] = Field(default_factory=list)  # empty: every site
    min_severity: str = "info"
    mode: Literal["immediate", "digest"] = "immediate"
    quiet_hours: str | None = None  # "22:00-07:00", UTC
    channel: Channel

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        bad = [e for e in value if e not in EVENTS]
        if bad:
            raise ValueError(f"unknown events {bad}; use {', '.join(EVENTS)}")
        return value

    @field_validator("min_severity")
    @classmethod
    def _severity(cls, value: str) -> str:
        if value not in SEVERITY_ORDER:
            raise ValueError(f"use one of {', '.join(SEVERITY_ORDER)}")
        return value

    def quiet(self, now: datetime) -> bool:
        if not self.quiet_hours:
            return False
        start_s, _, end_s = self.quiet_hours.partition("-")
        start, end, t = dtime.fromisoformat(start_s), dtime.fromisoformat(end_s), now.astimezone(UTC).time()
        return start <= t < end if start <= end else (t >= start or t < end)


class Rules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rules: list[Rule]
    # The thresholds of the matching checks (RG-SENSOR-SILENT, RG-SCHEDULE-FAILING) by default.
    sensor_silent_hours: int = Field(default=48, ge=1)
    schedule_failing_runs: int = Field(default=3, ge=1)


def load_rules(path: Path) -> Rules:
    """The rules file, validated; errors name the file and the rule field."""
    doc = load_yaml(path)
    try:
        rules = Rules.model_validate(doc)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise InputError(str(path), ".".join(str(x) for x in err["loc"]), None, err["msg"]) from None
    for rule in rules.rules:
        if rule.channel.type == "syslog":
            from radguard.integrations.siem import Target

            try:
                Target.parse(rule.channel.url or "")
            except InputError as exc:
                raise InputError(str(path), f"rule {rule.name}", "channel.url", exc.problem) from None
        if rule.quiet_hours:
            try:
                rule.quiet(utcnow())
            except ValueError:
                raise InputError(str(path), f"rule {rule.name}", "quiet_hours",
                                 f"{rule.quiet_hours!r}: use HH:MM-HH:MM") from None
    return rules


@dataclass(frozen=True)
class Event:
    key: str
    kind: str
    severity: str
    site: str | None
    title: str
    detail: dict[str, Any]


def collect_events(session: Session, now: datetime, *, sensor_silent_hours: int = 48,
                   schedule_failing_runs: int = 3) -> list[Event]:
    """Every event true at ``now`` (sending only the new ones is :func:`run`'s job).

    :param sensor_silent_hours: a sensor with no result for this long is silent.
    :param schedule_failing_runs: this many failed runs in a row make a schedule failing.
    """
    from radguard.backup.sets import list_sets, verification_record
    from radguard.checks.findings import list_findings
    from radguard.discovery.sensors import failing_schedules, silent_sensors
    from radguard.inventory.queries import list_assets
    from radguard.response.drills import planned_drills

    today = now.date()
    out: list[Event] = []
    for f in list_findings(session, states=["open"]):
        site = f.asset.site.code if f.asset is not None else None
        info = {"finding_id": f.id, "check_id": f.check_id, "asset": f.asset.name if f.asset else None,
                "risk_score": f.risk_score, "summary": f.summary}
        if f.check_id == "RG-KEV" and (f.evidence or {}).get("ransomware"):
            out.append(Event(f"kev_ransomware:{f.id}", "kev_ransomware", f.severity, site,
                             f"KEV-listed, ransomware-used: {f.title}", info))
        if f.severity == "critical":
            out.append(Event(f"new_critical:{f.id}", "new_critical", f.severity, site,
                             f"New critical: {f.title}", info))
        if f.due is not None and f.due < today:
            out.append(Event(f"sla_passed:{f.id}:{f.due.isoformat()}", "sla_passed", f.severity, site,
                             f"SLA passed ({f.due.isoformat()}): {f.title}", info))
    for asset in list_assets(session):
        if not asset.confirmed:
            out.append(Event(f"new_unconfirmed_device:{asset.id}", "new_unconfirmed_device", "medium",
                             asset.site.code if asset.site else None, f"New unconfirmed device: {asset.name}",
                             {"asset_id": asset.id, "asset": asset.name, "source": asset.source}))
    for bset in list_sets(session):
        if not bset.verifications:
            continue
        last = bset.verifications[-1]
        rec = verification_record(last)
        if rec["all_ok"] and rec["complete"]:
            continue
        protects = bset.asset.site.code if bset.asset is not None and bset.asset.site else None
        what = "ransom notes found" if rec["ransom_notes"] else (
            "incomplete" if not rec["complete"] else
            ", ".join(f"{n} {status}" for status, n in rec["problems"]) or "not all files ok")
        out.append(Event(f"backup_failed:{bset.name}:{last.id}", "backup_failed",
                         "critical" if rec["ransom_notes"] else "high", protects,
                         f"Backup verification failed for {bset.name}: {what}",
                         {"backup_set": bset.name, "finished_at": rec["finished_at"].isoformat(),
                          "problems": dict(rec["problems"]), "complete": rec["complete"]}))
    for row in failing_schedules(session, schedule_failing_runs):
        started = row["first_failed"].isoformat(timespec="seconds")
        detail = {"schedule": row["name"], "kind": row["kind"], "failed_runs": row["failed_runs"],
                  "last_error": (row["last_error"] or "")[:500], "first_failed": started}
        if row["kind"] == "backup":  # a verification that could not run is a backup event too
            out.append(Event(f"backup_failed:schedule:{row['name']}:{started}", "backup_failed", "high",
                             row["site"], f"Backup verification could not run: schedule {row['name']}", detail))
        out.append(Event(f"schedule_failing:{row['name']}:{started}", "schedule_failing", "medium", row["site"],
                         f"Schedule {row['name']} failed {row['failed_runs']} runs in a row", detail))
    for drill in planned_drills(session):
        if drill.scheduled_on < today:
            out.append(Event(f"drill_overdue:{drill.key}:{drill.scheduled_on.isoformat()}", "drill_overdue",
                             "medium", None, f"Drill overdue: {drill.title} (planned {drill.scheduled_on})",
                             {"drill": drill.key, "kind": drill.kind, "scheduled_on": drill.scheduled_on.isoformat()}))
    for sensor in silent_sensors(session, now, sensor_silent_hours):
        since = sensor["last_seen"] or sensor["enrolled_at"]
        out.append(Event(f"sensor_silent:{sensor['id']}:{since.isoformat(timespec='seconds')}", "sensor_silent",
                         "high", sensor["site"], f"Sensor {sensor['id']} silent since {since:%Y-%m-%d %H:%M} UTC",
                         {"sensor": sensor["id"], "last_seen": since.isoformat(timespec="seconds")}))
    return out


def _selected(rule: Rule, event: Event) -> bool:
    return (event.kind in rule.events and (not rule.sites or event.site in rule.sites)
            and SEVERITY_ORDER.index(event.severity) >= SEVERITY_ORDER.index(rule.min_severity))


def sign(secret: bytes, body: bytes) -> str:
    """The webhook signature header value for ``body``."""
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


def payload(channel: Channel, subject: str, events: list[Event]) -> dict[str, Any]:
    """The JSON body for a webhook, Teams or Slack channel."""
    lines = [e.title for e in events]
    if channel.type == "slack":
        return {"text": subject, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text":
                f"*{subject}*\n" + "\n".join(f"• {line}" for line in lines)}}]}
    if channel.type == "teams":
        return {"type": "message", "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive", "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                "version": "1.4", "body": [{"type": "TextBlock", "weight": "Bolder", "text": subject, "wrap": True}]
                + [{"type": "TextBlock", "text": line, "wrap": True} for line in lines]}}]}
    return {"source": "radguard", "subject": subject,
            "events": [{"key": e.key, "event": e.kind, "severity": e.severity, "site": e.site, "title": e.title,
                        **e.detail} for e in events]}


def _post(channel: Channel, body: dict[str, Any], sleep: Callable[[float], None]) -> int:
    assert channel.url
    data = json.dumps(body, sort_keys=True).encode()
    headers = {"Content-Type": "application/json"}
    if channel.secret_env:
        secret = os.environ.get(channel.secret_env)
        if not secret:
            raise NotifyError(f"the webhook secret variable {channel.secret_env} is not set")
        headers["X-Radguard-Signature"] = sign(secret.encode(), data)
    verify: Any = ssl.create_default_context(cafile=channel.ca_file) if channel.ca_file else True
    last = ""
    for attempt in range(1, channel.retries + 1):
        try:
            response = httpx.post(channel.url, content=data, headers=headers, timeout=10, verify=verify)
            if response.status_code < 300:
                return attempt
            last = f"HTTP {response.status_code}"
            if response.status_code < 500 and response.status_code != 429:
                break  # the receiver refused this message; retrying will not change that
        except httpx.HTTPError as exc:
            last = str(exc) or type(exc).__name__
        if attempt < channel.retries:
            sleep(channel.backoff_s * 2 ** (attempt - 1))
    raise NotifyError(f"{channel.url}: {last} after {attempt} attempts")


def _mail(channel: Channel, subject: str, events: list[Event]) -> int:
    if not channel.host or not channel.to or not channel.sender:
        raise NotifyError("an smtp channel needs host, sender and to")
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, channel.sender, ", ".join(channel.to)
    msg.set_content("\n".join(f"- {e.title}" for e in events) + "\n\nradguard notification (change only)\n")
    try:
        with smtplib.SMTP(channel.host, channel.port, timeout=20) as smtp:
            if channel.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=channel.ca_file))
            if channel.user:
                password = os.environ.get(channel.password_env or "")
                if not password:
                    raise NotifyError(f"the SMTP password variable {channel.password_env} is not set")
                smtp.login(channel.user, password)
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise NotifyError(f"SMTP {channel.host}:{channel.port}: {exc}") from None
    return 1


def syslog_messages(events: list[Event], at: datetime | None = None) -> list[str]:
    """One RFC 5424 message per event: CEF with signature ``notify:EVENT``, the change key as
    ``externalId`` and the site in ``cs2`` (the mapping is in docs/integrations.md)."""
    from radguard.integrations.siem import CEF_SEVERITY, cef, syslog_line

    out = []
    for e in events:
        ext: dict[str, object] = {"externalId": e.key, "cs1Label": "event", "cs1": e.kind,
                                  "cs2Label": "site", "cs2": e.site, "cat": "notification", "msg": e.title}
        for field, label in (("finding_id", "cn2"), ("asset", "dhost")):
            if e.detail.get(field) is not None:
                ext[label] = e.detail[field]
        if "cn2" in ext:
            ext["cn2Label"] = "findingId"
        out.append(syslog_line(cef(f"notify:{e.kind}", e.title, CEF_SEVERITY.get(e.severity, 5), ext),
                               msgid="notify", severity=e.severity, at=at))
    return out


def _syslog(channel: Channel, events: list[Event]) -> int:
    from radguard.integrations.siem import SiemError, Target, send

    try:
        send(Target.parse(channel.url or "", channel.ca_file), syslog_messages(events))
    except (SiemError, InputError) as exc:
        raise NotifyError(str(exc)) from None
    return 1


def deliver(channel: Channel, subject: str, events: list[Event],
            sleep: Callable[[float], None] = time.sleep) -> int:
    """Send one message (for syslog, one per event); returns the number of attempts it took."""
    if channel.type == "smtp":
        return _mail(channel, subject, events)
    if channel.type == "syslog":
        return _syslog(channel, events)
    return _post(channel, payload(channel, subject, events), sleep)


def run(session: Session, rules: Rules, now: datetime | None = None,
        sleep: Callable[[float], None] = time.sleep) -> dict[str, int]:
    """Send what is new for each rule and log every attempt (inside the caller's transaction)."""
    now = now or utcnow()
    events = collect_events(session, now, sensor_silent_hours=rules.sensor_silent_hours,
                            schedule_failing_runs=rules.schedule_failing_runs)
    counts = {"sent": 0, "failed": 0, "deferred": 0}
    for rule in rules.rules:
        done = set(session.scalars(select(NotificationLog.event_key).where(
            NotificationLog.rule == rule.name, NotificationLog.status == "sent")))
        new = [e for e in events if _selected(rule, e) and e.key not in done]
        if not new:
            continue
        if rule.mode == "digest":
            last = session.scalar(select(NotificationLog.at).where(
                NotificationLog.rule == rule.name, NotificationLog.status == "sent")
                .order_by(NotificationLog.at.desc()))
            if last is not None and now - last < timedelta(days=1):
                continue
            batches = [(f"radguard daily digest: {len(new)} changes", new)]
        else:
            if rule.quiet(now):
                for e in new:
                    session.add(NotificationLog(at=now, rule=rule.name, event_key=e.key, event=e.kind,
                                                channel=rule.channel.type, status="deferred", attempts=0,
                                                detail="quiet hours"))
                counts["deferred"] += len(new)
                continue
            batches = [(f"radguard: {e.title}", [e]) for e in new]
        for subject, batch in batches:
            try:
                attempts, status, detail = deliver(rule.channel, subject, batch, sleep), "sent", None
            except NotifyError as exc:
                attempts, status, detail = rule.channel.retries, "failed", str(exc)[:1000]
            for e in batch:
                session.add(NotificationLog(at=now, rule=rule.name, event_key=e.key, event=e.kind,
                                            channel=rule.channel.type, status=status, attempts=attempts,
                                            detail=detail))
            counts[status] += len(batch)
    session.flush()
    return counts


def log(session: Session, limit: int = 500) -> list[dict[str, Any]]:
    """The notification log, newest first (for the CLI and the web page)."""
    rows = session.scalars(select(NotificationLog).order_by(NotificationLog.at.desc(), NotificationLog.id.desc())
                           .limit(limit))
    return [{"at": r.at, "rule": r.rule, "event": r.event, "event_key": r.event_key, "channel": r.channel,
             "status": r.status, "attempts": r.attempts, "detail": r.detail} for r in rows]
