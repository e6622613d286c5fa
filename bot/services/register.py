"""The compliance register of a kecamatan (or the district) for a payout period: every member's
conditions judged from the reports, the health workers' confirmations, the posyandu sessions
really held and the schools' figures, and each household's payout decision.

Read in one transaction with a handful of queries (storage/register.py); the judging is the pure
rules of `bot.domain.conditions`, so a test can judge the same facts by hand and compare.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from bot.domain.conditions import (
    TRIMESTER_ENDS,
    Evidence,
    MemberFacts,
    Period,
    Visit,
    decide,
    member_periods,
)
from bot.domain.models import AbsenceReason, ReportStatus, SchoolMonth
from bot.domain.recap import month_of
from bot.domain.register import HouseholdLine, MemberLine, Register
from bot.domain.sessions import sessions_between
from storage.register import ReportFact
from storage.store import Store

# A trimester that ends inside the period may have begun this long before it.
LOOK_BACK = timedelta(days=TRIMESTER_ENDS[0] + 1)


def evidence_of(report: ReportFact) -> Evidence | None:
    """Who vouches for a report; None while it waits for the companion's verification."""
    if report.status is ReportStatus.CROSS_CHECKED:
        return Evidence.CROSS_CHECKED
    if report.status is ReportStatus.VERIFIED:
        return Evidence.HOUSEHOLD if report.by_household else Evidence.HEALTH_WORKER
    return None


async def build_register(
    store: Store, kecamatan_id: int | None, scope: str, period: Period, today: date
) -> Register:
    since = period.first - LOOK_BACK
    async with store.read() as repo:
        households = await repo.register.households(kecamatan_id)
        members = await repo.register.members(kecamatan_id)
        reports = await repo.register.reports(kecamatan_id, since, period.last)
        absences = await repo.register.absences(kecamatan_id, period.first, period.last)
        school = await repo.register.school_months(kecamatan_id, period.first, period.last)
        excused = await repo.follow_ups.excused(kecamatan_id, period.first, period.last)
        places = await repo.recap.places(kecamatan_id)
        changes = await repo.planning.session_changes()

    session_days: dict[int, set[date]] = {}
    held_per_month: dict[int, dict[date, int]] = {}
    for place in places:
        held = sessions_between(
            place.schedule, changes.get(place.posyandu_id, {}), since, period.last
        )
        session_days[place.posyandu_id] = {session.day for session in held}
        per_month: dict[date, int] = defaultdict(int)
        for session in held:
            per_month[month_of(session.day)] += 1
        held_per_month[place.posyandu_id] = per_month

    visits: dict[int, list[Visit]] = defaultdict(list)
    for report in reports:
        on_session_day = report.day in session_days.get(report.posyandu_id, set())
        visits[report.member_id].append(
            Visit(report.member_id, report.day, evidence_of(report), on_session_day)
        )
    figures: dict[int, dict[date, SchoolMonth]] = defaultdict(dict)
    for month_figures in school:
        figures[month_figures.member_id][month_figures.month] = month_figures
    absent: dict[int, list[tuple[date, AbsenceReason]]] = defaultdict(list)
    for answer in absences:
        absent[answer.household_id].append((answer.day, answer.reason))

    members_of = defaultdict(list)
    for member in members:
        members_of[member.household_id].append(member)
    lines = []
    for household in households:
        sessions = held_per_month.get(household.posyandu_id, {})
        member_lines = []
        for number, member in enumerate(members_of[household.id], start=1):
            facts = MemberFacts(
                member,
                visits.get(member.id, []),
                sessions,
                figures[member.id],
                excused.get(household.id, []),
            )
            periods = member_periods(facts, period.first, period.last, today)
            member_lines.append(MemberLine(member, number, periods))
        decision = decide(p for line in member_lines for p in line.periods)
        lines.append(
            HouseholdLine(household, member_lines, decision, sorted(absent.get(household.id, [])))
        )
    return Register(period, scope, today, lines)
