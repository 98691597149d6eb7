"""The one formatting layer: values turned into the words people read.

Pages, reports and ``show`` commands all print through these functions so that a Python
value (``False``, ``None``, ``[]``, ``['CVE-…']``), an internal enum name (``ai_application``,
``csf2``) or a count with a "(s)" never reaches a reader, and the same value reads the same
way everywhere. :func:`register` adds them as filters to a Jinja environment.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # jinja2 only when filters are registered: a sensor (no jinja2) words its results too
    from jinja2 import Environment
    from jinja2.runtime import Context

#: Internal names whose plain reading is not just "underscores become spaces".
LABELS: Mapping[str, str] = {
    "csf2": "NIST CSF 2.0",
    "hicp": "HICP",
    "hph_cpg": "HPH CPGs",
    "hipaa": "HIPAA",
    "ai_application": "AI application",
    "pacs": "PACS",
    "vna": "VNA",
    "ris": "RIS",
    "dicom": "DICOM",
    "hl7": "HL7",
    "mfa": "MFA",
    "rto": "RTO",
    "rpo": "RPO",
    "cve": "CVE",
    "backup_set": "backup set",
    "probe.endpoint": "network endpoints seen by discovery",
}

#: What each step of a re-rank (``readiness.dashboard.STEPS``) reads on the page and in the terminal.
RERANK_STEPS: Mapping[str, str] = {
    "reading": "reading the open findings",
    "ranking": "ranking the actions",
    "storing": "storing the ranking",
}

#: Plurals that are not the singular plus "s".
_IRREGULAR: Mapping[str, str] = {"was": "were", "is": "are", "has": "have", "this": "these", "speaks": "speak"}


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 site`` / ``10 sites``: a count with its noun, never ``site(s)``.

    :param count: how many.
    :param singular: the noun for one (may be several words; the last one is pluralised).
    :param plural_form: the noun for many when adding "s"/"es" is wrong.
    """
    return f"{count} {noun(count, singular, plural_form)}"


def count_of(count: int, singular: str, *, more: bool = False) -> str:
    """``2,000 assets``, or with ``more`` ``more than 5,000 assets``: a list's count, which
    stops at a cap for searches that match most of a register (``count`` is then the cap).

    :param count: how many (the cap when ``more``).
    :param singular: the noun for one.
    :param more: the count stopped at ``count``; more than that many exist.
    """
    if more:
        return f"more than {count:,} {noun(2, singular)}"
    return f"{count:,} {noun(count, singular)}"


def noun(count: int, singular: str, plural_form: str | None = None) -> str:
    """The noun alone in the number :func:`plural` would use (for "3 open findings speak ...")."""
    if count == 1:
        return singular
    if plural_form is not None:
        return plural_form
    head, _, last = singular.rpartition(" ")
    if last in _IRREGULAR:
        many = _IRREGULAR[last]
    elif last.endswith(("s", "x", "ch", "sh")):
        many = last + "es"
    elif last.endswith("y") and last[-2:-1] not in "aeiou":
        many = last[:-1] + "ies"
    else:
        many = last + "s"
    return f"{head} {many}" if head else many


def label(name: Any) -> str:
    """An internal identifier (enum value, key, ``kind:id`` reference) as words.

    :param name: ``ai_application``, ``hph_cpg``, ``backup_set:7``, an :class:`Enum` member...
    """
    if isinstance(name, Enum):
        name = name.value
    text = str(name)
    if text in LABELS:
        return LABELS[text]
    kind, sep, rest = text.partition(":")
    if sep and kind in LABELS and rest:
        return f"{LABELS[kind]} {rest}"
    if re.fullmatch(r"[a-z_]+\.[a-z_.]+", text):  # a dotted key (an evidence kind): its parts as words
        text = text.replace(".", " ")
    words = [LABELS.get(w.lower(), w) for w in text.replace("_", " ").split(" ")]
    return " ".join(words)


def hours(value: float | None, unknown: str = "not known") -> str:
    """A duration in hours: ``< 0.1 h`` rather than ``0.0 h``, minutes under an hour, days past two.

    :param value: hours, or None when not known.
    :param unknown: what to say for None.
    """
    if value is None:
        return unknown
    if value < 0:
        raise ValueError(f"a duration cannot be negative: {value}")
    if value == 0:
        return "0 h"
    if value < 0.1:
        return "< 0.1 h"
    if value >= 48 and value % 24 == 0:
        return f"{value / 24:g} days"
    return f"{value:g} h" if value == int(value) else f"{value:.1f} h"


def value(v: Any, empty: str = "—") -> str:
    """Any stored value as words: yes/no for booleans, a dash for nothing, lists joined by commas.

    :param v: the value (bool, None, number, str, list/tuple/set, dict, date, enum).
    :param empty: what to print for None and empty collections.
    """
    if v is None or v == "" or (isinstance(v, (list, tuple, set, frozenset, dict)) and not v):
        return empty
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, Enum):
        return label(v)
    if isinstance(v, datetime):
        return v.strftime("%Y-%m-%d %H:%M %Z").strip()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, (list, tuple, set, frozenset)):
        items = sorted(v, key=str) if isinstance(v, (set, frozenset)) else v
        return ", ".join(value(i, empty) for i in items)
    if isinstance(v, dict):
        return ", ".join(f"{label(k)}: {value(x, empty)}" for k, x in v.items())
    return str(v)


def evidence_rows(evidence: Mapping[str, Any], empty: str = "not recorded") -> list[tuple[str, str]]:
    """A finding's raw evidence as (field, value) rows in words, for a readable table.

    A nested mapping becomes one row per field, labelled ``parent › field``; a list of mappings
    one group per item (``parent 1 › field``), so no dict or list of dicts is printed whole.
    Other values go through :func:`value`.

    :param evidence: the stored evidence (the check's raw facts).
    :param empty: what a missing value reads (``None``, empty text, an empty list).
    """
    rows: list[tuple[str, str]] = []

    def walk(prefix: str, data: Mapping[str, Any]) -> None:
        for key, item in data.items():
            name = f"{prefix} › {label(key)}" if prefix else label(key)
            if isinstance(item, Mapping) and item:
                walk(name, item)
            elif isinstance(item, (list, tuple)) and item and all(isinstance(i, Mapping) for i in item):
                for n, entry in enumerate(item, start=1):
                    walk(f"{name} {n}", entry)
            else:
                rows.append((name, value(item, empty)))

    walk("", evidence)
    return rows


def job_outcome(status: str | None, attempts: int | None) -> str:
    """How a sensor job ended, with its tries: "ingested", "ingested after 2 attempts (1 retry)",
    "failed after 3 attempts (2 retries)", "queued".

    :param status: the job's status (queued, ingested, partial, refused, failed).
    :param attempts: how often it was tried on the sensor and at ingest (0 or None: not yet).
    """
    status = status or "queued"
    if not attempts or attempts <= 1:
        return status
    return f"{status} after {plural(attempts, 'attempt')} ({plural(attempts - 1, 'retry')})"


def account_state(active: bool, must_change_password: bool = False) -> str:
    """Whether a web account may sign in, as the CLI's user list and the admin page say it:
    "yes", "no", "yes; new password required at next sign-in" (a forced reset)."""
    if not active:
        return "no"
    return "yes; new password required at next sign-in" if must_change_password else "yes"


#: Day names for minutes of the week counted from Monday 00:00 (a maintenance window's spans).
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEK_MINUTES = 7 * 1440


def schedule_every(every_hours: int, month_day: int | None, timezone: str | None) -> str:
    """How often a schedule runs: "every 24 h", "monthly on day 15, UTC", "monthly on the last
    day, Europe/Berlin time".

    :param every_hours: the interval of an hourly schedule (ignored for a monthly one).
    :param month_day: the day of a monthly schedule, or None. Day 31, clamped to each month's
        end, is always the month's last day (``distributed.timing.LAST_DAY``).
    :param timezone: the schedule's IANA zone, or None for UTC.
    """
    if month_day is not None:
        where = "the last day" if month_day >= 31 else f"day {month_day}" + (
            " (or the month's last day)" if month_day > 28 else "")
        return f"monthly on {where}" + (f", {timezone} time" if timezone else ", UTC")
    return f"every {every_hours} h"


def window_spans(spans: Sequence[Sequence[int]] | None, empty: str = "any time") -> str:
    """A weekly maintenance window as a sentence: "Saturday 22:00 to Sunday 04:00".

    :param spans: (start minute of the week from Monday 00:00, length in minutes) pairs, as
        ``distributed.timing.Window.spans`` and a listed schedule's ``window_spans`` hold them.
    :param empty: the words for no window (a schedule that may run at any time).
    """
    if not spans:
        return empty

    def at(minute: int) -> str:
        day, rest = divmod(minute % _WEEK_MINUTES, 1440)
        return f"{DAY_NAMES[day]} {rest // 60:02d}:{rest % 60:02d}"

    return "; ".join(f"{at(start)} to {at(start + length)}" for start, length in spans)


def zone_name(tz: tzinfo | None) -> str:
    """The name a time zone is stated by beside a field or time: ``Europe/Berlin``, ``UTC``."""
    if tz is None:
        return "UTC"
    return str(getattr(tz, "key", None) or tz.tzname(None) or "UTC")


def moment(at: datetime | None, tz: tzinfo | None = None, *, seconds: bool = False, empty: str = "—") -> str:
    """A stored (UTC) instant in the reader's local time with its zone: ``2027-02-10 09:05 CET``.

    :param at: the instant (a naive value is taken as UTC, as the database stores it).
    :param tz: the reader's zone (the site's or the browser's); UTC when None.
    :param seconds: include seconds (timelines, logs).
    :param empty: what None reads.
    """
    if at is None:
        return empty
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    local = aware.astimezone(tz or UTC)
    abbreviation = local.tzname() or zone_name(tz)
    return f"{local.strftime('%Y-%m-%d %H:%M:%S' if seconds else '%Y-%m-%d %H:%M')} {abbreviation}"


def ranking_note(ranked_at: datetime | None, stale: bool, tz: tzinfo | None = None) -> str:
    """When a stored roadmap ranking was made, and whether decisions came after it.

    The one sentence the roadmap page, its exports, ``radguard roadmap``, the reports and the
    ticket exports say about a stored ranking: ``Ranked at 2026-12-04 22:50 UTC; decisions since
    then are not yet reflected.`` Empty for a ranking made live for the reader.

    :param ranked_at: when the stored ranking was made (None: ranked live).
    :param stale: a decision or checklist answer came after it.
    :param tz: the reader's zone (UTC when None).
    """
    if ranked_at is None:
        return ""
    when = moment(ranked_at, tz)
    return f"Ranked at {when}; decisions since then are not yet reflected." if stale else f"Ranked at {when}."


def local_day(at: datetime | None, tz: tzinfo | None = None, empty: str = "—") -> str:
    """The local calendar day of a stored instant (an expiry kept as its day's last minute)."""
    if at is None:
        return empty
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(tz or UTC).date().isoformat()


def local_input(at: datetime | None, tz: tzinfo | None = None) -> str:
    """A stored instant as a ``datetime-local`` field's value in the reader's zone (``2027-02-10T09:05``)."""
    if at is None:
        return ""
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(tz or UTC).strftime("%Y-%m-%dT%H:%M")


def _when(ctx: Context, at: datetime | None, seconds: bool = False) -> str:
    return moment(at, ctx.get("tz"), seconds=seconds)


def _day(ctx: Context, at: datetime | None) -> str:
    return local_day(at, ctx.get("tz"))


def _ranking_note(ctx: Context, ranked_at: datetime | None, stale: bool) -> str:
    return ranking_note(ranked_at, stale, ctx.get("tz"))


def register(env: Environment) -> Environment:
    """Add the wording filters (``plural``, ``label``, ``value``, ``evidence_rows`` ...) to a Jinja environment.

    :param env: the environment a page or report renders with.
    """
    from jinja2 import pass_context

    env.filters["plural"] = plural
    env.filters["count_of"] = count_of
    env.filters["noun"] = noun
    env.filters["label"] = label
    env.filters["hours"] = hours
    env.filters["value"] = value
    env.filters["subject"] = subject
    env.filters["evidence_rows"] = evidence_rows
    env.filters["recovery_point"] = recovery_point
    env.filters["rto_words"] = rto_words
    env.filters["job_outcome"] = job_outcome
    env.filters["account_state"] = account_state
    env.filters["schedule_every"] = schedule_every
    env.filters["window_spans"] = window_spans
    # Times in the reader's zone: the page's context carries it as ``tz`` (radguard.web.app.render).
    env.filters["when"] = pass_context(_when)
    env.filters["local_day"] = pass_context(_day)
    env.filters["ranking_note"] = pass_context(_ranking_note)
    env.filters["zone_name"] = zone_name
    return env


def restore_status(ok: int, expected: int | None, problems: list[tuple[str, int]]) -> str:
    """What a verified backup would bring back, in words.

    ``17 of 20 instances restorable — 1 missing, 1 altered, 1 corrupt: restore incomplete``.

    :param ok: instances that verified intact.
    :param expected: instances the archive holds (None when the inventory gave no count).
    :param problems: (status, count) pairs from :func:`radguard.backup.sets.verification_problems`.
    """
    of = f" of {expected}" if expected is not None else ""
    head = f"{ok}{of} {noun(expected if expected is not None else ok, 'instance')} restorable"
    if not problems:
        complete = expected is None or ok >= expected
        return head + ("" if complete else ": restore incomplete")
    listed = ", ".join(f"{n} {label(s)}" for s, n in problems)
    return f"{head} — {listed}: restore incomplete"


def recovery_point(lag_hours: float | None, since_backup_hours: float | None, target_hours: float | None) -> str:
    """The achieved RPO in words: the lag measured from study dates, else the age of the last backup.

    ``2.5 h (target 4 h: within)``, ``about 26 h since the last backup (target 24 h: beyond)``,
    ``not known (no backup time recorded)``.

    :param lag_hours: hours of studies the backup lacked at verification (None: not measured).
    :param since_backup_hours: hours from the set's last successful backup to the verification.
    :param target_hours: the RPO the services need (None: none recorded).
    """
    if lag_hours is not None:
        achieved, text = lag_hours, hours(lag_hours)
    elif since_backup_hours is not None:
        achieved, text = since_backup_hours, f"about {hours(since_backup_hours)} since the last backup"
    else:
        return "not known (no backup time recorded)"
    if target_hours is None:
        return text
    return f"{text} (target {hours(target_hours)}: {'within' if achieved <= target_hours else 'beyond'})"


def rto_words(label_text: str | None, rto_hours: float | None) -> str:
    """The RTO verdict of a verification for a table cell: ``4 h: not met: copy incomplete``.

    The label comes from ``radguard.backup.timing.RtoVerdict.label`` (never "met" for an incomplete copy).
    """
    if not label_text or rto_hours is None:
        return "no RTO to compare with"
    return f"{hours(rto_hours)}: {label_text}"


_REF = re.compile(r"^([a-z][a-z0-9_]*):(.+)$")


def subject(text: str | None) -> str:
    """A finding's subject as words: ``backup_set:pacs-nas-replica`` reads ``backup set pacs-nas-replica``.

    Asset subjects (``SITE/NAME``) and free text pass through unchanged.

    :param text: the stored subject, or None for an organisation-wide finding.
    """
    if not text:
        return "organization"
    m = _REF.match(text)
    return f"{label(m.group(1))} {m.group(2)}" if m else text
