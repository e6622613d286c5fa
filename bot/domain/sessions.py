"""Posyandu sessions as they will really happen: the monthly rule, with single sessions moved or
cancelled by a coordinator or operator (`sapa session move|cancel`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.schedule import ScheduleRule

# A moved session keeps its original date as its identity (for dedup keys and notices).
SessionChanges = dict[date, date | None]  # original date -> new date, or None when cancelled


@dataclass(frozen=True, order=True)
class Session:
    day: date
    original_day: date


def _months(start: date, end: date) -> list[tuple[int, int]]:
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append((year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def sessions_between(
    rule: ScheduleRule, changes: SessionChanges, start: date, end: date
) -> list[Session]:
    """Sessions held from `start` to `end` (both included), in date order."""
    # A session may be moved by up to a month either way, so look a month beyond both ends.
    originals = [
        rule.in_month(year, month)
        for year, month in _months(start - timedelta(days=31), end + timedelta(days=31))
    ]
    held = []
    for original in originals:
        day = changes.get(original, original)
        if day is not None and start <= day <= end:
            held.append(Session(day, original))
    return sorted(held)


def next_session(rule: ScheduleRule, changes: SessionChanges, on_or_after: date) -> Session | None:
    found = sessions_between(rule, changes, on_or_after, on_or_after + timedelta(days=62))
    return found[0] if found else None


def last_session_before(rule: ScheduleRule, changes: SessionChanges, day: date) -> Session | None:
    found = sessions_between(rule, changes, day - timedelta(days=62), day - timedelta(days=1))
    return found[-1] if found else None
