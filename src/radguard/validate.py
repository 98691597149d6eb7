"""Rules about what input values mean, shared by every importer so one rule holds everywhere.

The reading layer (:mod:`radguard.textfiles`) checks the shape of a file; these check that a
value makes sense: a CVSS score between 0 and 10, a CVE ID shaped as the CVE program assigns
them, a site code the inventory can store and discovery can create, a date in a window no
real record falls outside of, and periods that end after they start. Each function raises
:class:`ValueError` with a message a person can act on, so that pydantic validators and the
feed readers can both use it and name the file and field themselves.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime, time, tzinfo
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel

CVE_ID = re.compile(r"^CVE-\d{4}-\d{4,}$")
SITE_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
SITE_CODE_RULE = "1–64 letters, digits, '.', '_' or '-'"
# No asset, contract, training record or advisory radguard reads is dated outside these years;
# a date outside them is a typo (20024) or a placeholder (9999-12-31) that would otherwise
# silently read as "valid forever".
FIRST_YEAR = 1970
LAST_YEAR = 2100


def cvss_score(value: float) -> float:
    """A CVSS base score: a finite number from 0.0 to 10.0."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a CVSS score; give a number from 0.0 to 10.0")
    if not math.isfinite(value) or not 0 <= value <= 10:
        raise ValueError(f"CVSS score {value} is outside 0.0–10.0")
    return float(value)


def cve_id(value: str) -> str:
    """A CVE ID, ``CVE-YYYY-NNNN`` with four or more digits after the year."""
    text = value.strip()
    if not CVE_ID.match(text):
        raise ValueError(f"{value!r} is not a CVE ID (CVE-YYYY-NNNN)")
    return text


def site_code(value: str) -> str:
    """A site code as the inventory stores it (and as ``discover --site`` may create it)."""
    text = value.strip()
    if not SITE_CODE.match(text):
        raise ValueError(f"{value!r} is not a valid site code ({SITE_CODE_RULE})")
    return text


def plausible_day(value: date) -> date:
    """A date (or time) between :data:`FIRST_YEAR` and :data:`LAST_YEAR`."""
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"{value.isoformat()} is not a plausible date (years {FIRST_YEAR}–{LAST_YEAR})")
    return value


def plausible_time(value: datetime) -> datetime:
    """A time between :data:`FIRST_YEAR` and :data:`LAST_YEAR`."""
    plausible_day(value.date())
    return value


def ordered(start: date | datetime | None, end: date | datetime | None, start_name: str, end_name: str) -> None:
    """Refuse a period that ends before it starts (a contract expiring before it was signed)."""
    if start is None or end is None:
        return
    a = start.date() if isinstance(start, datetime) else start
    b = end.date() if isinstance(end, datetime) else end
    if b < a:
        raise ValueError(f"{end_name} {b.isoformat()} is before {start_name} {a.isoformat()}")


def time_zone(name: str) -> ZoneInfo:
    """An IANA time zone (``Europe/Berlin``, ``UTC``), or a ValueError naming it."""
    text = name.strip()
    try:
        if not text or text.startswith(("/", ".")) or ".." in text:
            raise ValueError
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not an IANA time zone such as Europe/Berlin or UTC") from None


def local_moment(text: str, tz: tzinfo) -> datetime:
    """A date and time typed in local time (a ``datetime-local`` field: ``2027-02-10T09:05``) as UTC.

    A value with its own offset keeps it. A wall-clock time the zone skips (the hour the clocks go
    forward) is refused rather than silently moved; of the two instants a repeated hour names
    (clocks going back) the first is taken.

    :param text: what the field sent.
    :param tz: the zone the person typed it in (the one stated beside the field).
    """
    value = text.strip()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time such as 2027-02-10T09:05") from None
    if parsed.tzinfo is None:
        local = parsed.replace(tzinfo=tz)
        if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != parsed:
            raise ValueError(f"{value} does not exist in {getattr(tz, 'key', tz)} time (the clocks skip it)")
        parsed = local
    return plausible_time(parsed.astimezone(UTC))


def local_day_end(text: str, tz: tzinfo) -> datetime:
    """A date typed in local time (a ``date`` field) as the UTC instant its last minute begins.

    "Valid through 2027-03-31" in Berlin lasts until 23:59 Berlin time, which is 21:59 UTC in summer.

    :param text: ``YYYY-MM-DD``.
    :param tz: the zone stated beside the field.
    """
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"{text!r} is not a date (YYYY-MM-DD)") from None
    plausible_day(day)
    return datetime.combine(day, time(23, 59), tzinfo=tz).astimezone(UTC)


PlausibleDate = Annotated[date, AfterValidator(plausible_day)]
PlausibleDateTime = Annotated[datetime, AfterValidator(plausible_time)]
SiteCode = Annotated[str, AfterValidator(site_code)]


def implausible(value: Any, path: tuple[str | int, ...] = ()) -> tuple[tuple[str | int, ...], str] | None:
    """The first value in validated data (a model dump) that no real record holds, with its path.

    Non-finite numbers (a quoted ``"inf"`` passes pydantic's float), integers beyond 64 bits and
    dates outside :data:`FIRST_YEAR`–:data:`LAST_YEAR`. For importers whose models are many and
    hand-written, so that one walk applies the rule to all their fields.
    """
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, BaseModel):
            item = item.model_dump()
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, float) and not math.isfinite(item):
            return where, f"{item} is not a finite number"
        if isinstance(item, int) and abs(item) >= 2**63:
            return where, f"the number {item} is too large"
        if isinstance(item, date):  # datetime too
            try:
                plausible_day(item if not isinstance(item, datetime) else item.date())
            except ValueError as exc:
                return where, str(exc)
        elif isinstance(item, dict):
            stack.extend((v, (*where, str(k))) for k, v in reversed(list(item.items())))
        elif isinstance(item, list | tuple):
            stack.extend((v, (*where, i)) for i, v in reversed(list(enumerate(item))))
    return None
