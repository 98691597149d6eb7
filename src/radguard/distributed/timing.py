"""When a schedule runs: calendar months and maintenance windows, in the schedule's time zone.

A "monthly" schedule cannot be a fixed number of hours (months are 28-31 days long and a report
due "on the 31st" must land on the 28th or 29th in February, then on the 31st again in March), so
the next run is the same day of the next month, clamped to that month's last day, at the same
wall-clock time in the schedule's time zone (DST changes the UTC hour, not the local one).

A maintenance window ("Sat 22:00-Sun 04:00", or "Mon,Wed 22:00-04:00" for the same hours on several
days) bounds when a due run may start: a due run outside it waits for the window's next opening,
so probing of imaging segments happens only when the site agreed to it.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from radguard.errors import InputError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEK_MINUTES = 7 * 24 * 60
_TIME = r"([01]?\d|2[0-3]):([0-5]\d)"
_SPAN = re.compile(rf"^([a-z]{{3}})[a-z]*\s+{_TIME}\s*-\s*([a-z]{{3}})[a-z]*\s+{_TIME}$")
_DAILY = re.compile(rf"^([a-z,\s-]+?)\s+{_TIME}\s*-\s*{_TIME}$")


def zone(name: str | None) -> ZoneInfo | None:
    """The IANA time zone ``name`` (e.g. ``Europe/Berlin``), None for UTC; refuses an unknown name."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError("--timezone", None, None, f"{name!r} is not an IANA time zone such as "
                         "Europe/Berlin or America/New_York") from None


def add_month(when: datetime, day: int, tz: ZoneInfo | None) -> datetime:
    """The run after ``when``: day ``day`` of the next month (clamped), same local time, in UTC.

    :param when: the previous nominal run (aware, UTC).
    :param day: the schedule's day of the month (1-31), kept apart from ``when`` so that a run
        clamped to Feb 28 is followed by Mar 31, not Mar 28.
    :param tz: the schedule's time zone; None means UTC.
    """
    local = when.astimezone(tz or UTC)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    nxt = local.replace(tzinfo=None).replace(year=year, month=month, day=month_day_in(year, month, day))
    return nxt.replace(tzinfo=tz or UTC).astimezone(UTC)


LAST_DAY = 31  # "last": day 31 clamped to each month's end is always the month's last day


def parse_month_day(text: str | int) -> int:
    """A day of the month for ``--monthly``: 1-31 (clamped to a shorter month's end) or ``last``.

    :raises InputError: anything else, naming ``--monthly``.
    """
    value = str(text).strip().lower()
    if value == "last":
        return LAST_DAY
    if value.isdigit() and 1 <= int(value) <= 31:
        return int(value)
    raise InputError("--monthly", None, None, f"{text!r}: give a day of the month, 1 to 31 (the 29th-31st "
                     "become the last day of a shorter month), or 'last'")


def month_day_in(year: int, month: int, day: int) -> int:
    """Day ``day`` of that month, clamped to the month's last day."""
    return min(day, calendar.monthrange(year, month)[1])


def first_monthly_run(start: datetime, day: int, tz: ZoneInfo | None) -> datetime:
    """The first run of a schedule on day ``day`` of each month, created at ``start``: ``start``
    itself when today (local) is that day, else that day (clamped) this month if still ahead,
    else next month's — at ``start``'s local time of day, in UTC.
    """
    local = start.astimezone(tz or UTC)
    this_month = month_day_in(local.year, local.month, day)
    if this_month == local.day:
        return start
    if this_month > local.day:
        nxt = local.replace(tzinfo=None).replace(day=this_month)
        return nxt.replace(tzinfo=tz or UTC).astimezone(UTC)
    return add_month(start, day, tz)


@dataclass(frozen=True)
class Window:
    """Weekly spans (start minute of the week from Monday 00:00, length in minutes), local time."""

    text: str
    spans: tuple[tuple[int, int], ...]

    def contains(self, local: datetime) -> bool:
        """Whether the local wall-clock time ``local`` falls inside the window."""
        minute = local.weekday() * 1440 + local.hour * 60 + local.minute
        return any((minute - start) % WEEK_MINUTES < length for start, length in self.spans)

    def next_opening(self, when: datetime, tz: ZoneInfo | None) -> datetime:
        """``when`` itself if inside the window, else the window's next opening (UTC)."""
        local = when.astimezone(tz or UTC)
        if self.contains(local):
            return when
        minute = local.weekday() * 1440 + local.hour * 60 + local.minute
        wait = min((start - minute) % WEEK_MINUTES for start, _ in self.spans)
        opening = local.replace(tzinfo=None, second=0, microsecond=0) + timedelta(minutes=wait)
        return opening.replace(tzinfo=tz or UTC).astimezone(UTC)


def _day(text: str, window: str) -> int:
    key = text.strip()[:3]
    if key not in DAYS:
        raise InputError("--window", None, None, f"{window!r}: {text.strip()!r} is not a day (Mon .. Sun)")
    return DAYS.index(key)


def _days(text: str, window: str) -> list[int]:
    """"mon,wed", "mon-fri" or "sat" as weekday numbers."""
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            first, last = (_day(p, window) for p in part.split("-", 1))
            out.extend((first + i) % 7 for i in range((last - first) % 7 + 1))
        else:
            out.append(_day(part, window))
    return sorted(set(out))


def parse_window(text: str | None) -> Window | None:
    """Read a maintenance window; None or empty means "any time".

    Forms: ``Sat 22:00-Sun 04:00`` (one span a week) or ``Mon-Fri 22:00-04:00`` /
    ``Sat,Sun 01:00-05:00`` (those hours on each listed day; an end before the start crosses
    midnight).
    """
    if not text or not text.strip():
        return None
    t = " ".join(text.strip().lower().split())
    spans: list[tuple[int, int]] = []
    if m := _SPAN.match(t):
        start = _day(m[1], text) * 1440 + int(m[2]) * 60 + int(m[3])
        end = _day(m[4], text) * 1440 + int(m[5]) * 60 + int(m[6])
        spans.append((start, (end - start) % WEEK_MINUTES or WEEK_MINUTES))
    elif m := _DAILY.match(t):
        begin, finish = int(m[2]) * 60 + int(m[3]), int(m[4]) * 60 + int(m[5])
        length = (finish - begin) % 1440 or 1440
        spans.extend((d * 1440 + begin, length) for d in _days(m[1], text))
    else:
        raise InputError("--window", None, None, f"{text!r}: write a window as 'Sat 22:00-Sun 04:00' or "
                         "'Mon-Fri 22:00-04:00' (days, then start-end in 24-hour time)")
    return Window(text=text.strip(), spans=tuple(spans))
