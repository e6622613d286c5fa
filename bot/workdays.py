"""Working days: weekends and Indonesian public holidays (from the `holidays` package) are skipped.

Complaint deadlines are counted in working days: a complaint filed on Friday 14 August 2026 at
10:00 WIB with 3 working days is due on Thursday 20 August at 10:00 (17 August is Independence
Day, a Monday).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays


@lru_cache(maxsize=32)
def _holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("ID", years=year)


def is_working_day(day: date) -> bool:
    return day.weekday() < 5 and day not in _holidays(day.year)


def add_working_days(start: date, count: int) -> date:
    """The date `count` working days after `start` (which itself need not be a working day)."""
    day = start
    remaining = count
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            remaining -= 1
    return day


def working_deadline(opened_at: datetime, working_days: int, zone: ZoneInfo) -> datetime:
    """Same wall-clock time, `working_days` working days later in local time; returned in UTC."""
    local = opened_at.astimezone(zone)
    due_day = add_working_days(local.date(), working_days)
    due = datetime.combine(due_day, local.timetz().replace(tzinfo=None), tzinfo=zone)
    return due.astimezone(opened_at.tzinfo or zone)
