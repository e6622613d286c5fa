"""Posyandu schedule rules: "tanggal 10" or "selasa minggu ke-2", and the next session day.

A posyandu meets once a month, either on a fixed day of the month or on the n-th weekday of the
month (n = 1..4, or the last one). A day-of-month rule for the 29th-31st falls on the last day of
shorter months, because the session still happens that month.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

WEEKDAYS: dict[str, int] = {
    # Indonesian
    "senin": 0,
    "selasa": 1,
    "rabu": 2,
    "kamis": 3,
    "jumat": 4,
    "jum'at": 4,
    "sabtu": 5,
    "minggu": 6,
    "ahad": 6,
    # English
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
ENGLISH_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
ORDINALS: dict[str, int] = {
    "1st": 1,
    "first": 1,
    "2nd": 2,
    "second": 2,
    "3rd": 3,
    "third": 3,
    "4th": 4,
    "fourth": 4,
    "last": -1,
}
ENGLISH_ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", -1: "last"}
LAST = -1

_DAY_OF_MONTH = re.compile(r"^(?:tanggal|tgl\.?|day)\s*(\d{1,2})$")
_ID_WEEKDAY = re.compile(r"^([a-z']+)\s+(?:minggu\s+)?(?:ke-?\s*(\d)|(terakhir))$")
_EN_WEEKDAY = re.compile(r"^(\w+)\s+([a-z']+)$")


class ScheduleRuleError(ValueError):
    """The text is not a schedule rule we understand."""


@dataclass(frozen=True)
class DayOfMonth:
    day: int

    def in_month(self, year: int, month: int) -> date:
        last_day = calendar.monthrange(year, month)[1]
        return date(year, month, min(self.day, last_day))

    def __str__(self) -> str:
        return f"day {self.day}"


@dataclass(frozen=True)
class NthWeekday:
    weekday: int  # Monday = 0
    week: int  # 1..4, or LAST

    def in_month(self, year: int, month: int) -> date:
        days = [
            day
            for day in calendar.Calendar().itermonthdates(year, month)
            if day.month == month and day.weekday() == self.weekday
        ]
        return days[-1] if self.week == LAST else days[self.week - 1]

    def __str__(self) -> str:
        return f"{ENGLISH_ORDINALS[self.week]} {ENGLISH_WEEKDAYS[self.weekday]}"


ScheduleRule = DayOfMonth | NthWeekday


def parse_schedule_rule(text: str) -> ScheduleRule:
    """Read a rule such as `tanggal 10`, `selasa minggu ke-2`, `day 10` or `2nd tuesday`."""
    normalized = " ".join(text.strip().lower().replace("’", "'").split())
    if match := _DAY_OF_MONTH.match(normalized):
        day = int(match.group(1))
        if not 1 <= day <= 31:
            raise ScheduleRuleError(text)
        return DayOfMonth(day)
    if match := _ID_WEEKDAY.match(normalized):
        if re.match(r"^minggu\s+(ke|terakhir)", normalized):
            # "minggu ke-2" may mean "the second week" or "the second Sunday": ask for the day.
            raise ScheduleRuleError(text)
        weekday = WEEKDAYS.get(match.group(1))
        week = LAST if match.group(3) else int(match.group(2))
        if weekday is None or week not in (1, 2, 3, 4, LAST):
            raise ScheduleRuleError(text)
        return NthWeekday(weekday, week)
    if match := _EN_WEEKDAY.match(normalized):
        week_or_none = ORDINALS.get(match.group(1))
        weekday = WEEKDAYS.get(match.group(2))
        if week_or_none is None or weekday is None:
            raise ScheduleRuleError(text)
        return NthWeekday(weekday, week_or_none)
    raise ScheduleRuleError(text)


def next_posyandu_day(rule: ScheduleRule, on_or_after: date) -> date:
    """The first session day of this rule on or after the given date."""
    year, month = on_or_after.year, on_or_after.month
    while True:
        session = rule.in_month(year, month)
        if session >= on_or_after:
            return session
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
