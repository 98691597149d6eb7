"""Calendar-monthly schedules and maintenance windows: next run, clamping, time zones, waiting for the window."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from radguard.db.session import Database
from radguard.distributed.schedules import add_schedule, list_schedules, next_run_after, tick
from radguard.distributed.timing import add_month, first_monthly_run, parse_month_day, parse_window
from radguard.errors import InputError
from radguard.wording import schedule_every, window_spans


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


def _every(row: dict[str, Any]) -> str:
    """A listed schedule's interval in words, as the CLI and pages word it."""
    return schedule_every(row["every_hours"], row["month_day"], row["timezone"])


def test_window_forms_words_and_next_opening() -> None:
    weekend = parse_window("Sat 22:00-Sun 04:00")
    assert weekend is not None and window_spans(weekend.spans) == "Saturday 22:00 to Sunday 04:00"
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
    assert window_spans(rows["assess-weekend"]["window_spans"]) == "Saturday 22:00 to Sunday 04:00"
    assert _every(rows["assess-monthly"]) == "monthly on the last day, UTC"  # 31 clamps: always the last
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


def test_monthly_day_first_run_and_clamping() -> None:
    assert parse_month_day("last") == 31 and parse_month_day(" 15 ") == 15 and parse_month_day(1) == 1
    for bad in ("0", "32", "-1", "first", "", "1.5"):
        with pytest.raises(InputError, match="--monthly"):
            parse_month_day(bad)
    # created on 10 March 14:30 UTC: day 15 is still ahead this month, day 5 is next month's,
    # day 10 is today (due at once); day 31 in February is the 28th (29th in a leap year)
    created = _utc(2027, 3, 10, 14, 30)
    assert first_monthly_run(created, 15, None) == _utc(2027, 3, 15, 14, 30)
    assert first_monthly_run(created, 5, None) == _utc(2027, 4, 5, 14, 30)
    assert first_monthly_run(created, 10, None) == created
    assert first_monthly_run(_utc(2027, 2, 3, 8), 31, None) == _utc(2027, 2, 28, 8)
    assert first_monthly_run(_utc(2028, 2, 3, 8), 31, None) == _utc(2028, 2, 29, 8)
    assert first_monthly_run(_utc(2027, 12, 20, 8), 5, None) == _utc(2028, 1, 5, 8)  # December -> January
    # in the schedule's zone: 23:30 UTC on 14 March is already 15 March in Berlin (today: due now)
    late = _utc(2027, 3, 14, 23, 30)
    assert first_monthly_run(late, 15, ZoneInfo("Europe/Berlin")) == late
    assert first_monthly_run(late, 15, None) == _utc(2027, 3, 15, 23, 30)


def test_monthly_day_schedule_runs_on_its_day_across_months(sqlite_db: Database, tmp_path: Any,
                                                           rg: Any) -> None:
    add_schedule(sqlite_db, "assess-15th", "assess", 24, start=_utc(2027, 1, 20, 6), month_day=15)
    add_schedule(sqlite_db, "assess-last", "assess", 24, start=_utc(2027, 1, 20, 6), month_day="last")
    rows = {r["name"]: r for r in list_schedules(sqlite_db)}
    assert rows["assess-15th"]["next_run"] == _utc(2027, 2, 15, 6)  # the 15th has passed in January
    assert rows["assess-last"]["next_run"] == _utc(2027, 1, 31, 6)
    assert _every(rows["assess-15th"]) == "monthly on day 15, UTC"
    assert _every(rows["assess-last"]) == "monthly on the last day, UTC"
    assert tick(sqlite_db, now=_utc(2027, 1, 30, 23)) == []
    seen: dict[str, list[datetime]] = {"assess-15th": [], "assess-last": []}
    for now in (_utc(2027, 1, 31, 6, 1), _utc(2027, 2, 15, 6, 1), _utc(2027, 2, 28, 6, 1), _utc(2027, 3, 15, 6, 1),
                _utc(2027, 3, 31, 6, 1), _utc(2027, 4, 15, 6, 1), _utc(2027, 4, 30, 6, 1)):
        for r in tick(sqlite_db, now=now):
            seen[r["name"]].append(now)
    assert [d.date().isoformat() for d in seen["assess-last"]] == ["2027-01-31", "2027-02-28", "2027-03-31",
                                                                  "2027-04-30"]
    assert [d.date().isoformat() for d in seen["assess-15th"]] == ["2027-02-15", "2027-03-15", "2027-04-15"]

    url = str(sqlite_db.engine.url)
    out = rg("--db", url, "schedule", "add", "report-last", "--kind", "report", "--monthly", "last",
             "--report-dir", str(tmp_path))
    assert out.code == 0, out.err
    assert {r["name"]: r for r in list_schedules(sqlite_db)}["report-last"]["month_day"] == 31
    bad = rg("--db", url, "schedule", "add", "report-bad", "--kind", "report", "--monthly", "32",
             "--report-dir", str(tmp_path))
    assert bad.code != 0 and "--monthly" in bad.err and "1 to 31" in bad.err


@pytest.mark.parametrize(("option", "value"), [("--monthly", ""), ("--monthly", " "), ("--timezone", ""),
                                               ("--window", "")])
def test_an_empty_schedule_option_is_refused_not_dropped(sqlite_db: Database, rg: Any, option: str,
                                                         value: str) -> None:
    """``--monthly "$DAY"`` with DAY unset made a daily schedule; now it names the option and stores nothing."""
    url = str(sqlite_db.engine.url)
    out = rg("--db", url, "schedule", "add", "empty", "--kind", "assess", "--monthly", "1", option, value)
    assert out.code != 0 and f"{option}: empty; give a value" in out.err, out.err
    assert list_schedules(sqlite_db) == []
