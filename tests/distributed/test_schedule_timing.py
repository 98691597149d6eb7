"""Calendar-monthly schedules and maintenance windows: next run, clamping, time zones, waiting for the window."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from radguard.db.session import Database
from radguard.distributed.schedules import add_schedule, list_schedules, next_run_after, tick
from radguard.distributed.timing import add_month, parse_window
from radguard.errors import InputError


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_monthly_clamps_to_short_months_and_comes_back() -> None:
    jan31 = _utc(2027, 1, 31, 2, 0)
    feb = add_month(jan31, 31, None)
    assert feb == _utc(2027, 2, 28, 2, 0)
    assert add_month(feb, 31, None) == _utc(2027, 3, 31, 2, 0)  # the day is kept, not the clamped 28
    assert add_month(_utc(2028, 1, 31, 2, 0), 31, None) == _utc(2028, 2, 29, 2, 0)  # leap year
    assert add_month(_utc(2027, 12, 15, 9, 30), 15, None) == _utc(2028, 1, 15, 9, 30)  # December → January
    assert add_month(_utc(2027, 4, 30), 30, None) == _utc(2027, 5, 30)


def test_monthly_keeps_local_time_across_dst() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 1 March 02:00 in Berlin is 01:00 UTC (CET); 1 April 02:00 is 00:00 UTC (CEST)
    march = datetime(2027, 3, 1, 2, 0, tzinfo=berlin).astimezone(UTC)
    april = add_month(march, 1, berlin)
    assert april == _utc(2027, 4, 1, 0, 0) and april.astimezone(berlin).hour == 2
    # 31 December 23:30 New York is already 1 January in UTC: the month is stepped in local time
    ny = ZoneInfo("America/New_York")
    dec31 = datetime(2027, 12, 31, 23, 30, tzinfo=ny).astimezone(UTC)
    jan = add_month(dec31, 31, ny).astimezone(ny)
    assert (jan.year, jan.month, jan.day, jan.hour) == (2028, 1, 31, 23)


def test_missed_months_step_to_the_first_run_after_now() -> None:
    nxt = next_run_after(_utc(2027, 1, 31, 2), _utc(2027, 5, 3), 720, 31, None)
    assert nxt == _utc(2027, 5, 31, 2)
    assert next_run_after(_utc(2027, 1, 1), _utc(2027, 1, 1, 5), 24, None, None) == _utc(2027, 1, 2, 5)


def test_window_forms_words_and_next_opening() -> None:
    weekend = parse_window("Sat 22:00-Sun 04:00")
    assert weekend is not None and weekend.words() == "Saturday 22:00 to Sunday 04:00"
    # 2027-01-01 is a Friday
    assert weekend.contains(datetime(2027, 1, 2, 23, 0)) and weekend.contains(datetime(2027, 1, 3, 3, 59))
    assert not weekend.contains(datetime(2027, 1, 3, 4, 0)) and not weekend.contains(datetime(2027, 1, 2, 21, 59))
    assert weekend.next_opening(_utc(2027, 1, 1, 12), None) == _utc(2027, 1, 2, 22)
    assert weekend.next_opening(_utc(2027, 1, 3, 5), None) == _utc(2027, 1, 9, 22)  # just closed: next week
    nightly = parse_window("Mon-Fri 22:00-04:00")
    assert nightly is not None and len(nightly.spans) == 5
    assert nightly.contains(datetime(2027, 1, 2, 3, 0))  # Friday night's window runs into Saturday
    assert not nightly.contains(datetime(2027, 1, 3, 3, 0))  # no window on Saturday night
    assert nightly.next_opening(_utc(2027, 1, 2, 12), None) == _utc(2027, 1, 4, 22)  # Saturday noon → Monday
    berlin = parse_window("sat,sun 01:00-05:00")
    assert berlin is not None and berlin.next_opening(_utc(2027, 1, 1, 12), ZoneInfo("Europe/Berlin")) == \
        _utc(2027, 1, 2, 0)  # 01:00 Berlin = 00:00 UTC in winter
    for bad, word in (("Sat 25:00-Sun 04:00", "write a window"), ("Xyz 22:00-04:00", "'xyz' is not a day"),
                      ("weekends", "write a window")):
        with pytest.raises(InputError, match=word):
            parse_window(bad)


def test_tick_waits_for_the_window_and_monthly_moves_by_calendar(sqlite_db: Database) -> None:
    friday_noon = _utc(2027, 1, 29, 12)
    add_schedule(sqlite_db, "assess-weekend", "assess", 24, start=_utc(2027, 1, 29, 6),
                 window="Sat 22:00-Sun 04:00")
    add_schedule(sqlite_db, "assess-monthly", "assess", 1, start=_utc(2027, 1, 31, 2), monthly=True)
    with pytest.raises(InputError, match="IANA"):
        add_schedule(sqlite_db, "bad-zone", "assess", 24, timezone="Mars/Olympus")
    with pytest.raises(InputError, match="--window"):
        add_schedule(sqlite_db, "bad-window", "assess", 24, window="sometimes")
    rows = {r["name"]: r for r in list_schedules(sqlite_db)}
    assert rows["assess-weekend"]["window_words"] == "Saturday 22:00 to Sunday 04:00"
    assert rows["assess-monthly"]["every_words"] == "monthly on day 31 (or the month's last day), UTC"
    assert "bad-zone" not in rows and "bad-window" not in rows
    ran: list[Any] = tick(sqlite_db, now=friday_noon)  # due since 06:00, but the window opens Saturday 22:00
    assert ran == []
    assert tick(sqlite_db, now=_utc(2027, 1, 30, 21, 59)) == []
    ran = tick(sqlite_db, now=_utc(2027, 1, 30, 22, 5))
    assert [r["name"] for r in ran] == ["assess-weekend"] and ran[0]["status"] == "ok"
    ran = tick(sqlite_db, now=_utc(2027, 1, 31, 2, 0))
    assert [r["name"] for r in ran] == ["assess-monthly"]
    rows = {r["name"]: r for r in list_schedules(sqlite_db)}
    assert rows["assess-monthly"]["next_run"] == _utc(2027, 2, 28, 2, 0)
    # Sunday 28 February 02:01 is inside the weekend window too: both run
    assert sorted(r["name"] for r in tick(sqlite_db, now=_utc(2027, 2, 28, 2, 1))) == ["assess-monthly",
                                                                                        "assess-weekend"]
    rows = {r["name"]: r for r in list_schedules(sqlite_db)}
    assert rows["assess-monthly"]["next_run"] == _utc(2027, 3, 31, 2, 0)
