"""Months as the programme counts them: a month is its first day (`date(2026, 11, 1)`), typed
as `2026-11` or `11/2026`, running from 00:00 WIB on its first day to 00:00 WIB on the next
month's. Its own module: the registry import reads months too, without the recap."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_MONTH = re.compile(r"^(?:(\d{4})-(\d{1,2})|(\d{1,2})[/-](\d{4}))$")


def parse_month(text: str) -> date | None:
    """`2026-11`, `11/2026` or `11-2026`."""
    match = _MONTH.match(text.strip())
    if match is None:
        return None
    year, month = (int(match[1]), int(match[2])) if match[1] else (int(match[4]), int(match[3]))
    return date(year, month, 1) if 1 <= month <= 12 and 2000 <= year <= 2100 else None


def month_of(day: date) -> date:
    return day.replace(day=1)


def month_bounds(month: date, zone: ZoneInfo) -> tuple[date, date, datetime, datetime]:
    """First and last day, and the UTC instants the month starts and ends (WIB)."""
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    start = datetime.combine(month, time(0), tzinfo=zone)
    end = datetime.combine(following, time(0), tzinfo=zone)
    return month, following - timedelta(days=1), start, end


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_last_day(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)
