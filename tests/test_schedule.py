"""Posyandu schedule rules: parsing in Indonesian and English, and the next session day."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.schedule import (
    LAST,
    DayOfMonth,
    NthWeekday,
    ScheduleRuleError,
    next_posyandu_day,
    parse_schedule_rule,
)


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("tanggal 10", DayOfMonth(10)),
        ("Tanggal  5", DayOfMonth(5)),
        ("tgl 31", DayOfMonth(31)),
        ("tgl. 1", DayOfMonth(1)),
        ("day 10", DayOfMonth(10)),
        ("selasa minggu ke-2", NthWeekday(1, 2)),
        ("Selasa minggu ke 2", NthWeekday(1, 2)),
        ("kamis ke-3", NthWeekday(3, 3)),
        ("jum'at minggu ke-1", NthWeekday(4, 1)),
        ("jumat minggu terakhir", NthWeekday(4, LAST)),
        ("minggu minggu ke-2", NthWeekday(6, 2)),
        ("2nd tuesday", NthWeekday(1, 2)),
        ("Second Tuesday", NthWeekday(1, 2)),
        ("last friday", NthWeekday(4, LAST)),
        ("4th monday", NthWeekday(0, 4)),
    ],
)
def test_parse(text: str, rule: DayOfMonth | NthWeekday) -> None:
    assert parse_schedule_rule(text) == rule
    assert parse_schedule_rule(str(rule)) == rule  # the stored form reads back


@pytest.mark.parametrize(
    "text",
    ["", "tanggal 0", "tanggal 32", "selasa minggu ke-5", "5th tuesday", "minggu ke-2",
     "setiap bulan", "tuesday", "selasa", "rabu minggu ke-", "day ten"],
)  # fmt: skip
def test_refuse(text: str) -> None:
    with pytest.raises(ScheduleRuleError):
        parse_schedule_rule(text)


@pytest.mark.parametrize(
    ("rule", "after", "expected"),
    [
        (DayOfMonth(10), date(2026, 12, 1), date(2026, 12, 10)),
        (DayOfMonth(10), date(2026, 12, 10), date(2026, 12, 10)),  # on the day itself
        (DayOfMonth(10), date(2026, 12, 11), date(2027, 1, 10)),  # across the year end
        (DayOfMonth(31), date(2027, 2, 1), date(2027, 2, 28)),  # month end, short month
        (DayOfMonth(30), date(2028, 2, 1), date(2028, 2, 29)),  # leap year
        (DayOfMonth(31), date(2027, 4, 1), date(2027, 4, 30)),
        (NthWeekday(1, 2), date(2026, 12, 1), date(2026, 12, 8)),  # second Tuesday
        (NthWeekday(1, 2), date(2026, 12, 9), date(2027, 1, 12)),
        (NthWeekday(1, 1), date(2026, 12, 1), date(2026, 12, 1)),  # 1 Dec 2026 is a Tuesday
        (NthWeekday(4, LAST), date(2026, 12, 1), date(2026, 12, 25)),
        (NthWeekday(0, LAST), date(2027, 5, 25), date(2027, 5, 31)),
        (NthWeekday(3, 4), date(2027, 2, 1), date(2027, 2, 25)),
    ],
)
def test_next_posyandu_day(rule: DayOfMonth | NthWeekday, after: date, expected: date) -> None:
    assert next_posyandu_day(rule, after) == expected
