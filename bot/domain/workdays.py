"""Working days: weekends, Indonesian public holidays and cuti bersama are skipped.

Complaint deadlines are counted in working days: a complaint filed on Friday 14 August 2026 at
10:00 WIB with 3 working days is due on Thursday 20 August at 10:00 (17 August is Independence
Day, a Monday).

Both calendars come from the `holidays` package: the public holidays (category "public") and the
government's joint leave days, cuti bersama (category "government", from the yearly decree of
three ministers, the SKB 3 Menteri). Government offices, so the kecamatan coordinators and Dinas
Sosial, are closed on cuti bersama, so by default they are not working days either
(`SAPA_SLA_SKIP_CUTI_BERSAMA`). Around Lebaran 2026: Wednesday 18 March (cuti bersama), Thursday
19 March (Nyepi), Friday 20 March (cuti bersama), Saturday 21 and Sunday 22 March (Idul Fitri),
Monday 23 and Tuesday 24 March (cuti bersama) are all days off. The package only knows the cuti
bersama that have been decreed (up to 2027 in the installed version); later years count public
holidays only until the package is updated.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

PUBLIC = "public"
CUTI_BERSAMA = "government"  # the `holidays` category that holds Indonesia's joint leave days


@lru_cache(maxsize=32)
def _days_off(year: int, skip_cuti_bersama: bool) -> holidays.HolidayBase:
    categories = (PUBLIC, CUTI_BERSAMA) if skip_cuti_bersama else (PUBLIC,)
    return holidays.country_holidays("ID", years=year, categories=categories)


def is_working_day(day: date, *, skip_cuti_bersama: bool = True) -> bool:
    return day.weekday() < 5 and day not in _days_off(day.year, skip_cuti_bersama)


def add_working_days(start: date, count: int, *, skip_cuti_bersama: bool = True) -> date:
    """The date `count` working days after `start` (which itself need not be a working day)."""
    day = start
    remaining = count
    while remaining > 0:
        day += timedelta(days=1)
        if is_working_day(day, skip_cuti_bersama=skip_cuti_bersama):
            remaining -= 1
    return day


def working_deadline(
    opened_at: datetime, working_days: int, zone: ZoneInfo, *, skip_cuti_bersama: bool = True
) -> datetime:
    """Same wall-clock time, `working_days` working days later in local time; returned in the
    time zone of `opened_at` (UTC as stored)."""
    local = opened_at.astimezone(zone)
    due_day = add_working_days(local.date(), working_days, skip_cuti_bersama=skip_cuti_bersama)
    due = datetime.combine(due_day, local.timetz().replace(tzinfo=None), tzinfo=zone)
    return due.astimezone(opened_at.tzinfo or zone)
