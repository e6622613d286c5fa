"""The recap that measures the programme, for a kecamatan (coordinator) or the district (TPJK):
attendance per desa, complaints, companion activity, unreachable households; one month."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.schedule import ScheduleRuleError, parse_schedule_rule
from bot.sessions import sessions_between
from storage.recap import CompanionRow, ComplaintRow
from storage.store import Repositories, Store

PUERPERIUM_DAYS = 42


@dataclass(frozen=True)
class DesaAttendance:
    kecamatan: str
    desa: str
    expected: int  # visits due: followed members x sessions held in the month
    reported: int  # reports of any status (households and health workers)
    verified: int  # verified or cross-checked
    cross_checked: int

    @property
    def rate(self) -> float | None:
        """Share of expected visits that are verified (None when nobody was expected)."""
        return min(self.verified / self.expected, 1.0) if self.expected else None


@dataclass(frozen=True)
class Recap:
    month: date  # first day of the month
    scope: str  # the kecamatan's name, or "" for the whole district
    attendance: list[DesaAttendance]
    complaints: dict[tuple[str, str], int]  # (category, status) -> count, filed this month
    median_hours_to_resolve: float | None
    sla_breaches: int
    companions: list[CompanionRow]
    unreachable_households: int
    complaint_rows: list[ComplaintRow]


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


async def attendance_by_desa(
    repo: Repositories, kecamatan_id: int | None, month: date, zone: ZoneInfo
) -> list[DesaAttendance]:
    first, last, _start, _end = month_bounds(month, zone)
    places = await repo.recap.places(kecamatan_id)
    changes = await repo.planning.session_changes()
    try:
        born_after = last.replace(year=last.year - 5)
    except ValueError:
        born_after = last.replace(year=last.year - 5, day=28)
    followed = await repo.recap.followed_members(
        kecamatan_id, first - timedelta(days=PUERPERIUM_DAYS), born_after, last
    )
    reports = await repo.recap.reports_by_desa(kecamatan_id, first, last)
    expected: dict[int, int] = {}
    names: dict[int, tuple[str, str]] = {}
    for place in places:
        names[place.desa_id] = (place.kecamatan, place.desa)
        try:
            rule = parse_schedule_rule(place.schedule)
        except ScheduleRuleError:
            continue
        held = len(sessions_between(rule, changes.get(place.posyandu_id, {}), first, last))
        expected[place.desa_id] = expected.get(place.desa_id, 0) + held * followed.get(
            place.posyandu_id, 0
        )
    rows = []
    for desa_id, (kecamatan, desa) in names.items():
        counts = reports.get(desa_id, {})
        rows.append(
            DesaAttendance(
                kecamatan,
                desa,
                expected.get(desa_id, 0),
                sum(counts.values()),
                counts.get("verified", 0) + counts.get("cross_checked", 0),
                counts.get("cross_checked", 0),
            )
        )
    return sorted(rows, key=lambda r: (r.kecamatan, r.desa))


async def build_recap(
    store: Store,
    kecamatan_id: int | None,
    month: date,
    *,
    now: datetime,
    zone: ZoneInfo,
    with_complaint_rows: bool = False,
) -> Recap:
    """The month's figures; `with_complaint_rows` adds the complaint list the export needs."""
    _first, _last, start, end = month_bounds(month, zone)
    async with store.read() as repo:
        scope = ""
        if kecamatan_id is not None:
            scope = (await repo.planning.kecamatan_names()).get(kecamatan_id, "")
        attendance = await attendance_by_desa(repo, kecamatan_id, month, zone)
        complaints = await repo.recap.complaints_by_category_status(kecamatan_id, start, end)
        hours = await repo.recap.resolution_hours(kecamatan_id, start, end)
        breaches = await repo.recap.escalations(kecamatan_id, start, end)
        companions = await repo.recap.companions(kecamatan_id, start, end, now)
        unreachable = await repo.recap.unreachable_households(kecamatan_id)
        rows = (
            await repo.recap.complaint_rows(kecamatan_id, start, end) if with_complaint_rows else []
        )
    return Recap(
        month,
        scope,
        attendance,
        complaints,
        statistics.median(hours) if hours else None,
        breaches,
        companions,
        unreachable,
        rows,
    )


async def attendance_history(
    store: Store, kecamatan_id: int | None, month: date, zone: ZoneInfo, months: int = 6
) -> list[tuple[date, list[DesaAttendance]]]:
    """Attendance per desa for the last `months` months, oldest first (for the chart)."""
    history = []
    async with store.read() as repo:
        for back in range(months - 1, -1, -1):
            shown = add_months(month, -back)
            history.append((shown, await attendance_by_desa(repo, kecamatan_id, shown, zone)))
    return history
