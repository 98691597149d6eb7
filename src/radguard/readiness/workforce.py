"""Workforce awareness: training records and phishing-simulation results, imported and measured.

Learning-management and phishing-simulation tools all export CSV, each with its own column
names. radguard reads any of them: columns are matched to radguard's fields by name
(case, spaces and punctuation ignored, plus a few common aliases), and ``--map COLUMN=field``
names the rest. Imports are all-or-nothing and re-importing the same export updates rows.

Training fields: ``person``, ``role``, ``course`` (required); ``site``, ``required`` (yes/no,
default yes), ``assigned``, ``due``, ``completed`` (dates), ``status`` (``completed``/``passed``
counts as done when no completion date is given).

Phishing fields, one row per campaign and audience: ``campaign``, ``date``, ``audience``
(required); ``site``; ``sent``, ``clicked``, ``reported`` (counts). Or one row per recipient:
when there is no ``sent`` column, each row is one recipient and ``clicked``/``reported`` are
yes/no; radguard adds them up per campaign, audience and site.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from radguard.db.base import utcnow
from radguard.db.models.workforce import PhishingResult, TrainingRecord
from radguard.errors import InputError
from radguard.textfiles import read_csv, read_text, sniff_dialect
from radguard.validate import plausible_day

TRAINING_FIELDS = ("person", "role", "course", "site", "required", "assigned", "due", "completed", "status")
TRAINING_REQUIRED = ("person", "role", "course")
PHISHING_FIELDS = ("campaign", "date", "audience", "site", "sent", "clicked", "reported")
PHISHING_REQUIRED = ("campaign", "date", "audience")

# Names other tools commonly use, already normalised (lower case, non-alphanumerics as "_").
ALIASES: dict[str, str] = {
    "employee": "person", "employee_id": "person", "user": "person", "learner": "person", "email": "person",
    "name": "person", "job_role": "role", "job_title": "role", "position": "role", "group": "audience",
    "department": "role", "course_name": "course", "training": "course", "module": "course",
    "location": "site", "facility": "site", "site_code": "site", "mandatory": "required",
    "assigned_date": "assigned", "assigned_on": "assigned", "due_date": "due", "due_on": "due",
    "completion_date": "completed", "completed_on": "completed", "date_completed": "completed",
    "completed_date": "completed", "completion_status": "status", "campaign_name": "campaign",
    "send_date": "date", "launch_date": "date", "sent_date": "date", "target_group": "audience",
    "emails_sent": "sent", "recipients": "sent", "clicks": "clicked", "clicked_link": "clicked",
    "reports": "reported", "email_reported": "reported",
}
_TRUE = {"yes", "y", "true", "1", "x"}
_FALSE = {"no", "n", "false", "0", ""}
_DONE = {"completed", "complete", "passed", "pass", "done", "finished"}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


def parse_mapping(pairs: list[str], fields: tuple[str, ...]) -> dict[str, str]:
    """``["Employee Name=person"]`` → ``{"employee_name": "person"}``; errors name the bad pair."""
    out: dict[str, str] = {}
    for pair in pairs:
        column, sep, target = pair.rpartition("=")
        if not sep or not column.strip() or target.strip() not in fields:
            raise InputError("--map", None, None,
                             f"{pair!r} must be COLUMN=FIELD with FIELD one of {', '.join(fields)}")
        out[_norm(column)] = target.strip()
    return out


def _columns(path: Path, header: list[str], fields: tuple[str, ...], required: tuple[str, ...],
             mapping: dict[str, str]) -> dict[str, str]:
    """CSV column → radguard field, by explicit map, then exact name, then alias."""
    chosen: dict[str, str] = {}
    for column in header:
        key = _norm(column)
        target = mapping.get(key) or (key if key in fields else None) or ALIASES.get(key)
        if target in fields and target not in chosen.values():
            chosen[column] = target
    missing = [f for f in required if f not in chosen.values()]
    if missing:
        raise InputError(str(path), "line 1", missing[0],
                         f"no column for '{missing[0]}' (columns: {', '.join(header)}); "
                         f"name it or add --map 'YOUR COLUMN={missing[0]}'")
    return chosen


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    text = read_text(path)
    table = read_csv(text.splitlines(keepends=True), str(path), sniff_dialect(text))
    rows = [(r.line, {k: v.strip() for k, v in r.cells.items()}) for r in table.rows]
    rows = [(line, cells) for line, cells in rows if any(cells.values())]
    return table.header, rows


def parse_date(raw: str, date_format: str | None) -> date | None:
    text = raw.strip()
    if not text:
        return None
    if date_format:
        return datetime.strptime(text, date_format).date()
    if re.match(r"^\d{4}-\d{2}-\d{2}$", text):
        return date.fromisoformat(text)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).date()


class _Row:
    """One CSV row seen through the column map, raising errors that name line and field."""

    def __init__(self, path: Path, line: int, raw: dict[str, str], columns: dict[str, str],
                 date_format: str | None) -> None:
        self.path, self.line, self.date_format = path, line, date_format
        self.values = {target: raw.get(column, "") for column, target in columns.items()}
        self.columns = {target: column for column, target in columns.items()}

    def fail(self, name: str, problem: str) -> InputError:
        return InputError(str(self.path), f"line {self.line}", self.columns.get(name, name), problem)

    def text(self, name: str, required: bool = False) -> str:
        value = self.values.get(name, "").strip()
        if required and not value:
            raise self.fail(name, "is empty")
        if len(value) > 1000:
            raise self.fail(name, f"{len(value):,} characters; at most 1,000 are kept")
        return value

    def day(self, name: str, required: bool = False) -> date | None:
        try:
            value = parse_date(self.values.get(name, ""), self.date_format)
        except ValueError as exc:
            hint = f"the format {self.date_format}" if self.date_format else "YYYY-MM-DD (or give --date-format)"
            raise self.fail(name, f"{self.values.get(name)!r} is not a date in {hint}") from exc
        if required and value is None:
            raise self.fail(name, "is empty")
        if value is not None:
            try:
                plausible_day(value)
            except ValueError as exc:
                raise self.fail(name, str(exc)) from None
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = self.values.get(name)
        if value is None or value.strip() == "":
            return default
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise self.fail(name, f"{value!r} is not yes/no")

    def count(self, name: str) -> int:
        value = self.values.get(name, "").strip()
        if not value.isdigit():
            raise self.fail(name, f"{value!r} is not a whole number")
        if len(value) > 9:
            raise self.fail(name, f"{value} is not a plausible count")
        return int(value)


@dataclass
class ImportSummary:
    rows: int = 0
    created: int = 0
    updated: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"rows": self.rows, "created": self.created, "updated": self.updated}


def import_training(session: Session, path: Path, mapping: dict[str, str] | None = None,
                    date_format: str | None = None) -> ImportSummary:
    """Read a training export and upsert every row (nothing is written if any row is invalid)."""
    header, rows = _read_rows(path)
    columns = _columns(path, header, TRAINING_FIELDS, TRAINING_REQUIRED, mapping or {})
    records: dict[str, dict[str, Any]] = {}
    for line, raw in rows:
        row = _Row(path, line, raw, columns, date_format)
        person, role, course = row.text("person", True), row.text("role", True), row.text("course", True)
        due, completed_on = row.day("due"), row.day("completed")
        status = row.text("status").lower()
        assigned = row.day("assigned")
        if completed_on and assigned and completed_on < assigned:
            raise row.fail("completed", "is before the assignment date")
        key = f"{person}|{course}|{due.isoformat() if due else ''}"
        records[key] = {"record_key": key, "person": person, "role": role, "site": row.text("site"),
                        "course": course, "required": row.flag("required", True), "assigned_on": assigned,
                        "due_on": due, "completed_on": completed_on,
                        "completed": completed_on is not None or status in _DONE, "source": path.name}
    return _upsert(session, TrainingRecord, records, len(rows))


def import_phishing(session: Session, path: Path, mapping: dict[str, str] | None = None,
                    date_format: str | None = None) -> ImportSummary:
    """Read a phishing-simulation export (per campaign and audience, or per recipient) and upsert it."""
    header, rows = _read_rows(path)
    columns = _columns(path, header, PHISHING_FIELDS, PHISHING_REQUIRED, mapping or {})
    per_recipient = "sent" not in columns.values()
    totals: dict[str, dict[str, Any]] = {}
    for line, raw in rows:
        row = _Row(path, line, raw, columns, date_format)
        campaign, audience = row.text("campaign", True), row.text("audience", True)
        sent_on = row.day("date", True)
        assert sent_on is not None
        site = row.text("site")
        if per_recipient:
            sent, clicked, reported = 1, int(row.flag("clicked", False)), int(row.flag("reported", False))
        else:
            sent, clicked, reported = row.count("sent"), row.count("clicked"), row.count("reported")
            if clicked > sent or reported > sent:
                raise row.fail("clicked" if clicked > sent else "reported", "is larger than the number sent")
        key = f"{campaign}|{audience}|{site}"
        entry = totals.setdefault(key, {"record_key": key, "campaign": campaign, "sent_on": sent_on,
                                        "audience": audience, "site": site, "sent": 0, "clicked": 0,
                                        "reported": 0, "source": path.name})
        if not per_recipient and entry["sent"]:
            raise row.fail("campaign", f"campaign {campaign!r} for {audience!r} at {site or 'no site'} "
                                       "appears twice; give one row per campaign, audience and site")
        entry["sent_on"] = min(entry["sent_on"], sent_on)
        entry["sent"] += sent
        entry["clicked"] += clicked
        entry["reported"] += reported
    return _upsert(session, PhishingResult, totals, len(rows))


def _upsert(session: Session, model: type[TrainingRecord] | type[PhishingResult],
            records: dict[str, dict[str, Any]], row_count: int) -> ImportSummary:
    summary = ImportSummary(rows=row_count)
    existing: dict[str, Any] = {}
    keys = list(records)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        for found in session.scalars(select(model).where(model.record_key.in_(chunk))):
            existing[str(getattr(found, "record_key"))] = found  # noqa: B009 (mypy sees the union's Base)
    now = utcnow()
    for key, values in records.items():
        obj = existing.get(key)
        if obj is None:
            session.add(model(**values, imported_at=now))
            summary.created += 1
        else:
            for name, value in values.items():
                setattr(obj, name, value)
            obj.imported_at = now
            summary.updated += 1
    session.flush()
    return summary


# ── Metrics ──────────────────────────────────────────────────────────────────────────────────

@dataclass
class TrainingGroup:
    """Required training for one role (and site): what is due, done and overdue on a given day."""

    role: str
    site: str
    assigned: int = 0
    due: int = 0
    completed: int = 0
    overdue: int = 0
    overdue_people: set[str] = field(default_factory=set)

    @property
    def completion(self) -> float | None:
        return round(self.completed / self.due, 4) if self.due else None

    def as_dict(self) -> dict[str, Any]:
        return {"role": self.role, "site": self.site or None, "assigned": self.assigned, "due": self.due,
                "completed": self.completed, "overdue": self.overdue, "completion": self.completion,
                "overdue_people": len(self.overdue_people)}


def _counts_on(record: TrainingRecord, day: date) -> tuple[bool, bool, bool]:
    """(due by ``day``, completed by ``day``, overdue on ``day``) for one required assignment.

    Assignments without a due date are due from the start; completed ones without a completion
    date count as completed whenever asked.
    """
    is_due = record.due_on is None or record.due_on <= day
    done = record.completed and (record.completed_on is None or record.completed_on <= day)
    overdue = not done and record.due_on is not None and record.due_on < day
    return is_due, done, overdue


def training_groups(records: list[TrainingRecord], day: date, *, by_site: bool = True) -> list[TrainingGroup]:
    groups: dict[tuple[str, str], TrainingGroup] = {}
    for r in records:
        if not r.required:
            continue
        if r.assigned_on is not None and r.assigned_on > day:
            continue
        site = r.site if by_site else ""
        g = groups.setdefault((r.role, site), TrainingGroup(r.role, site))
        is_due, done, overdue = _counts_on(r, day)
        g.assigned += 1
        if is_due:
            g.due += 1
            g.completed += done
        if overdue:
            g.overdue += 1
            g.overdue_people.add(r.person)
    return [groups[k] for k in sorted(groups)]


def quarter_ends(day: date, count: int = 4) -> list[date]:
    """The last ``count`` calendar-quarter ends before ``day``'s quarter, oldest first, then ``day``."""
    ends: list[date] = []
    year, quarter = day.year, (day.month - 1) // 3  # 0-based index of the current quarter
    for _ in range(count):
        quarter -= 1
        if quarter < 0:
            year, quarter = year - 1, 3
        ends.append(date(year, 12, 31) if quarter == 3 else date(year, 3 * quarter + 4, 1) - timedelta(days=1))
    return [*reversed(ends), day]


def training_metrics(session: Session, today: date | None = None) -> dict[str, Any]:
    today = today or date.today()
    records = list(session.scalars(select(TrainingRecord)))
    by_role_site = training_groups(records, today)
    by_role = training_groups(records, today, by_site=False)
    sites: dict[str, TrainingGroup] = {}
    for g in by_role_site:
        s = sites.setdefault(g.site, TrainingGroup("", g.site))
        s.assigned += g.assigned
        s.due += g.due
        s.completed += g.completed
        s.overdue += g.overdue
    trend = []
    for day in quarter_ends(today):
        groups = training_groups(records, day, by_site=False)
        due = sum(g.due for g in groups)
        trend.append({"as_of": day, "due": due,
                      "completion": round(sum(g.completed for g in groups) / due, 4) if due else None,
                      "by_role": {g.role: g.completion for g in groups}})
    return {"as_of": today, "by_role": [g.as_dict() for g in by_role],
            "by_site": [{k: v for k, v in s.as_dict().items() if k != "role"} for _, s in sorted(sites.items())],
            "by_role_and_site": [g.as_dict() for g in by_role_site], "trend": trend}


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def phishing_series(session: Session) -> dict[tuple[str, str], list[PhishingResult]]:
    """Campaign results per (audience, site), oldest first."""
    series: dict[tuple[str, str], list[PhishingResult]] = defaultdict(list)
    for r in session.scalars(select(PhishingResult).order_by(PhishingResult.sent_on, PhishingResult.campaign)):
        series[(r.audience, r.site)].append(r)
    return dict(series)


def phishing_metrics(session: Session) -> dict[str, Any]:
    groups: list[dict[str, Any]] = []
    for (audience, site), results in sorted(phishing_series(session).items()):
        campaigns: list[dict[str, Any]] = [
                     {"campaign": r.campaign, "date": r.sent_on, "sent": r.sent, "clicked": r.clicked,
                      "reported": r.reported, "click_rate": _rate(r.clicked, r.sent),
                      "report_rate": _rate(r.reported, r.sent)} for r in results]
        trend: dict[str, float | None] = {"click_rate": None, "report_rate": None}
        if len(campaigns) >= 2:
            for name in trend:
                last, before = campaigns[-1][name], campaigns[-2][name]
                trend[name] = None if last is None or before is None else round(last - before, 4)
        groups.append({"audience": audience, "site": site or None, "campaigns": campaigns,
                       "change_since_previous": trend})
    by_campaign: dict[str, dict[str, Any]] = {}
    for g in groups:
        for c in g["campaigns"]:
            agg = by_campaign.setdefault(c["campaign"], {"campaign": c["campaign"], "date": c["date"],
                                                         "sent": 0, "clicked": 0, "reported": 0})
            for k in ("sent", "clicked", "reported"):
                agg[k] += c[k]
    totals: list[dict[str, Any]] = sorted(by_campaign.values(), key=lambda c: (c["date"], c["campaign"]))
    for c in totals:
        c["click_rate"], c["report_rate"] = _rate(c["clicked"], c["sent"]), _rate(c["reported"], c["sent"])
    return {"campaigns": totals, "by_audience_and_site": groups}
