"""The recap that measures the programme, for a kecamatan (coordinator) or the district (TPJK):
attendance per desa, complaints, companion activity, unreachable households, messages that could
not be delivered; one month, and the attendance of the months before it for the chart."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.conditions import Period
from bot.domain.follow_ups import ClosedFollowUp
from bot.domain.models import AbsenceReason
from bot.domain.months import add_months, month_bounds, month_last_day, month_of
from bot.domain.recap import CompanionRow, DesaAttendance, Recap, ReportSources, followed_window
from bot.domain.register import counts_by, counts_per_month
from bot.domain.schedule import ScheduleRule
from bot.domain.sessions import sessions_between
from bot.services.offload import Offload, run_here
from bot.services.register import RegisterFacts, judge_register, read_register_facts
from storage.store import Repositories, Store


async def attendance_by_month(
    repo: Repositories, kecamatan_id: int | None, months: list[date], *, sources: bool = False
) -> list[list[DesaAttendance]]:
    """Attendance per desa in each of consecutive `months` (first days, oldest first), with one
    pass over the members and one over the reports, however many months; `sources`: the last
    month's reports also by who made them (the household, or staff for it)."""
    if not months:
        return []
    places = await repo.recap.places(kecamatan_id)
    changes = await repo.planning.session_changes()
    followed = await repo.recap.followed_members(
        kecamatan_id, [followed_window(month) for month in months]
    )
    reports = await repo.recap.reports_by_posyandu_day(
        kecamatan_id, months[0], month_last_day(months[-1])
    )
    names: dict[int, tuple[str, str]] = {}
    rules: dict[int, ScheduleRule] = {}
    for place in places:
        names[place.desa_id] = (place.kecamatan, place.desa)
        rules[place.posyandu_id] = place.schedule
    desa_of = {place.posyandu_id: place.desa_id for place in places}
    reported: dict[tuple[date, int], Counter[str]] = defaultdict(Counter)  # (month, desa)
    for (posyandu_id, day), by_status in reports.items():
        reported[(month_of(day), desa_of[posyandu_id])].update(by_status)
    made_by: dict[int, ReportSources] = defaultdict(ReportSources)  # desa, in the last month
    if sources:
        found = await repo.recap.report_sources(
            kecamatan_id, months[-1], month_last_day(months[-1])
        )
        for posyandu_id, counts in found.items():
            made_by[desa_of[posyandu_id]] += counts
    history = []
    for index, month in enumerate(months):
        expected: dict[int, int] = defaultdict(int)
        for place in places:
            rule = rules.get(place.posyandu_id)
            if rule is None:
                continue
            changed = changes.get(place.posyandu_id, {})
            held = len(sessions_between(rule, changed, month, month_last_day(month)))
            members = followed.get(place.posyandu_id, [0] * len(months))
            expected[place.desa_id] += held * members[index]
        rows = []
        for desa_id, (kecamatan, desa) in names.items():
            by_status = reported[(month, desa_id)]
            rows.append(
                DesaAttendance(
                    kecamatan,
                    desa,
                    expected[desa_id],
                    sum(by_status.values()),
                    by_status["verified"] + by_status["cross_checked"],
                    by_status["cross_checked"],
                    made_by[desa_id] if index == len(months) - 1 else ReportSources(),
                )
            )
        history.append(sorted(rows, key=lambda r: (r.kecamatan, r.desa)))
    return history


async def build_recap(
    store: Store,
    kecamatan_id: int | None,
    month: date,
    *,
    now: datetime,
    zone: ZoneInfo,
    with_complaint_rows: bool = False,
    history_months: int = 1,
    offload: Offload = run_here,
) -> Recap:
    """The month's figures; `with_complaint_rows` adds the complaint list the export needs,
    `history_months` the attendance of the months before for the chart (in the same pass).
    The conditions are judged by `offload` (the bot's rendering process): the register of a
    kecamatan's six months is the recap's one heavy computation."""
    _first, _last, start, end = month_bounds(month, zone)
    shown = [add_months(month, -back) for back in range(max(history_months, 1) - 1, -1, -1)]
    # The register's facts first, so that `offload` judges them (on the other core, in the bot)
    # while the rest of the figures are read here.
    facts = await read_register_facts(store, kecamatan_id, Period("", shown[0], _last))
    today = now.astimezone(zone).date()
    judged = asyncio.ensure_future(
        offload(partial(conditions_figures, facts, today, shown, month, _first, _last))
    )
    try:
        async with store.read() as repo:
            scope = ""
            if kecamatan_id is not None:
                scope = (await repo.planning.kecamatan_names()).get(kecamatan_id, "")
            by_month = await attendance_by_month(repo, kecamatan_id, shown, sources=True)
            complaints = await repo.recap.complaints_by_category_status(kecamatan_id, start, end)
            filers = await repo.recap.complaints_by_filer(kecamatan_id, start, end)
            hours = await repo.recap.resolution_hours(kecamatan_id, start, end)
            breaches = await repo.recap.escalations(kecamatan_id, start, end)
            companions = await repo.recap.companions(kecamatan_id, start, end, now)
            closed = await repo.follow_ups.closed_between(kecamatan_id, start, end)
            companions = _with_follow_ups(companions, closed)
            unreachable = await repo.recap.unreachable_households(kecamatan_id)
            undelivered = await repo.recap.undelivered_messages(kecamatan_id, start, end)
            rows = (
                await repo.recap.complaint_rows(kecamatan_id, start, end)
                if with_complaint_rows
                else []
            )
    except BaseException:
        judged.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):  # its own end, not ours
            await judged
        raise
    conditions = await judged
    return Recap(
        month,
        scope,
        by_month[-1],
        complaints,
        statistics.median(hours) if hours else None,
        breaches,
        companions,
        unreachable,
        rows,
        list(zip(shown, by_month, strict=True)) if history_months > 1 else [],
        undelivered_messages=undelivered,
        complaints_by_filer=filers,
        **conditions,
    )


def _with_follow_ups(
    companions: list[CompanionRow], closed: list[ClosedFollowUp]
) -> list[CompanionRow]:
    """Each companion's follow-ups closed this month, and the median days they took."""
    days: dict[int | None, list[float]] = defaultdict(list)
    for follow_up in closed:
        taken = (follow_up.closed_at - follow_up.created_at).total_seconds() / 86400
        days[follow_up.companion_id].append(max(taken, 0.0))
    return [
        replace(
            row,
            follow_ups_closed=len(days.get(row.staff_id, [])),
            median_days_to_close=(
                statistics.median(days[row.staff_id]) if days.get(row.staff_id) else None
            ),
        )
        for row in companions
    ]


def conditions_figures(
    facts: RegisterFacts,
    today: date,
    shown: list[date],
    month: date,
    first: date,
    last: date,
) -> dict[str, Any]:
    """The recap's condition figures, out of the register of the months shown (judged here,
    so only the counts leave the rendering process)."""
    register = judge_register(facts, "", today)  # the scope's name is not counted
    absences: dict[str, Counter[AbsenceReason]] = defaultdict(Counter)
    by_posyandu: dict[str, Counter[AbsenceReason]] = defaultdict(Counter)
    for line in register.households:
        given = [reason for day, reason in line.absences if first <= day <= last]
        where = line.household
        absences[f"{where.kecamatan} · {where.desa}"].update(given)
        by_posyandu[f"{where.desa} · {where.posyandu or '—'}"].update(given)
    return {
        "conditions_by_desa": counts_by(register, "desa", first, last),
        "conditions_by_companion": counts_by(register, "companion", first, last),
        "condition_history": list(
            zip(shown, counts_per_month(register.households, shown), strict=True)
        ),
        "absence_reasons": {place: found for place, found in sorted(absences.items()) if found},
        "absence_reasons_by_posyandu": {
            place: found for place, found in sorted(by_posyandu.items()) if found
        },
    }


async def attendance_history(
    store: Store, kecamatan_id: int | None, month: date, zone: ZoneInfo, months: int = 6
) -> list[tuple[date, list[DesaAttendance]]]:
    """Attendance per desa for the last `months` months, oldest first (for the chart)."""
    shown = [add_months(month, -back) for back in range(months - 1, -1, -1)]
    async with store.read() as repo:
        history = await attendance_by_month(repo, kecamatan_id, shown)
    return list(zip(shown, history, strict=True))
