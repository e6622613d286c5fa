"""The compliance register of a kecamatan (or the district) for a payout period: every member's
conditions judged from the reports, the health workers' confirmations, the posyandu sessions
really held and the schools' figures, and each household's payout decision.

Read in one transaction with a handful of queries (storage/register.py); the judging is the pure
rules of `bot.domain.conditions`, so a test can judge the same facts by hand and compare. The bot
judges in its rendering process (`judge_register` and `register_workbook_of` are plain
functions of plain values): only the facts go there, and only figures or a file come back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from bot.domain.conditions import (
    TRIMESTER_ENDS,
    Evidence,
    MemberFacts,
    Period,
    Visit,
    decide,
    member_periods,
)
from bot.domain.models import AbsenceReason, Member, ReportStatus, SchoolMonth
from bot.domain.months import month_of
from bot.domain.register import HouseholdLine, MemberLine, Register, RegisterHousehold
from bot.domain.sessions import sessions_between
from bot.texts.register_sheet import register_workbook
from storage.recap import PlaceRow
from storage.register import AbsenceFact, ReportFact
from storage.store import Store

if TYPE_CHECKING:
    from bot.texts.i18n import Translator

# A trimester that ends inside the period may have begun this long before it.
LOOK_BACK = timedelta(days=TRIMESTER_ENDS[0] + 1)


def evidence_of(report: ReportFact) -> Evidence | None:
    """Who vouches for a report; None while it waits for the companion's verification."""
    if report.status is ReportStatus.CROSS_CHECKED:
        return Evidence.CROSS_CHECKED
    if report.status is ReportStatus.VERIFIED:
        return Evidence.HOUSEHOLD if report.by_household else Evidence.HEALTH_WORKER
    return None


@dataclass(frozen=True)
class RegisterFacts:
    """What the register is judged from, as read from the database: plain values that can be
    sent to the rendering process (`Services.render`), where the judging runs off the event
    loop (a kecamatan's six months take a few hundred milliseconds of CPU, the district's
    seconds)."""

    period: Period
    households: list[RegisterHousehold]
    members: list[Member]
    reports: list[ReportFact]
    absences: list[AbsenceFact]
    school: list[SchoolMonth]
    excused: dict[int, list[date]]
    places: list[PlaceRow]
    changes: dict[int, dict[date, date | None]]

    def __reduce__(self) -> tuple[Callable[..., RegisterFacts], tuple[Any, ...]]:
        """Pickled (for the rendering process) with the members and reports as plain tuples:
        a pydantic model or a dataclass pickles field by field, and a kecamatan's six months
        took about 18 ms to pickle and unpickle that way, 8 ms so (bench/README.md)."""
        members = [
            (m.id, m.household_id, m.name, m.kind, m.birth_date, m.due_date) for m in self.members
        ]
        reports = [
            (r.member_id, r.posyandu_id, r.day, r.status, r.by_household, r.by_health_worker)
            for r in self.reports
        ]
        return _facts_from_tuples, (
            self.period,
            self.households,
            members,
            reports,
            self.absences,
            self.school,
            self.excused,
            self.places,
            self.changes,
        )


def _facts_from_tuples(
    period: Period,
    households: list[RegisterHousehold],
    members: list[tuple[Any, ...]],
    reports: list[tuple[Any, ...]],
    *rest: Any,
) -> RegisterFacts:
    """RegisterFacts again, from what `RegisterFacts.__reduce__` gave to pickle."""
    return RegisterFacts(
        period,
        households,
        [
            Member(id=m, household_id=h, name=n, kind=k, birth_date=b, due_date=d)
            for m, h, n, k, b, d in members
        ],
        [ReportFact(*report) for report in reports],
        *rest,
    )


async def read_register_facts(
    store: Store, kecamatan_id: int | None, period: Period
) -> RegisterFacts:
    """The facts of a kecamatan (None: the district) for `period`, in one read transaction."""
    since = period.first - LOOK_BACK
    async with store.read() as repo:
        return RegisterFacts(
            period,
            await repo.register.households(kecamatan_id),
            await repo.register.members(kecamatan_id),
            await repo.register.reports(kecamatan_id, since, period.last),
            await repo.register.absences(kecamatan_id, period.first, period.last),
            await repo.register.school_months(kecamatan_id, period.first, period.last),
            await repo.follow_ups.excused(kecamatan_id, period.first, period.last),
            await repo.recap.places(kecamatan_id),
            await repo.planning.session_changes(),
        )


async def build_register(
    store: Store, kecamatan_id: int | None, scope: str, period: Period, today: date
) -> Register:
    """Read and judge here (the CLI and tests); the bot judges in the rendering process."""
    return judge_register(await read_register_facts(store, kecamatan_id, period), scope, today)


def register_workbook_of(facts: RegisterFacts, scope: str, today: date, t: Translator) -> bytes:
    """The verification list's workbook, judged and written in one go (in the rendering
    process: the register itself never crosses back)."""
    return register_workbook(judge_register(facts, scope, today), t)


def judge_register(facts: RegisterFacts, scope: str, today: date) -> Register:
    """Every member's conditions over the period and each household's decision: pure."""
    period = facts.period
    since = period.first - LOOK_BACK
    session_days: dict[int, set[date]] = {}
    held_per_month: dict[int, dict[date, int]] = {}
    for place in facts.places:
        held = sessions_between(
            place.schedule, facts.changes.get(place.posyandu_id, {}), since, period.last
        )
        session_days[place.posyandu_id] = {session.day for session in held}
        per_month: dict[date, int] = defaultdict(int)
        for session in held:
            per_month[month_of(session.day)] += 1
        held_per_month[place.posyandu_id] = per_month

    visits: dict[int, list[Visit]] = defaultdict(list)
    for report in facts.reports:
        on_session_day = report.day in session_days.get(report.posyandu_id, set())
        visits[report.member_id].append(
            Visit(report.member_id, report.day, evidence_of(report), on_session_day)
        )
    figures: dict[int, dict[date, SchoolMonth]] = defaultdict(dict)
    for month_figures in facts.school:
        figures[month_figures.member_id][month_figures.month] = month_figures
    absent: dict[int, list[tuple[date, AbsenceReason]]] = defaultdict(list)
    for answer in facts.absences:
        absent[answer.household_id].append((answer.day, answer.reason))

    members_of = defaultdict(list)
    for member in facts.members:
        members_of[member.household_id].append(member)
    lines = []
    for household in facts.households:
        sessions = held_per_month.get(household.posyandu_id, {})
        member_lines = []
        for number, member in enumerate(members_of[household.id], start=1):
            member_facts = MemberFacts(
                member,
                visits.get(member.id, []),
                sessions,
                figures[member.id],
                facts.excused.get(household.id, []),
            )
            periods = member_periods(member_facts, period.first, period.last, today)
            member_lines.append(MemberLine(member, number, periods))
        decision = decide(p for line in member_lines for p in line.periods)
        lines.append(
            HouseholdLine(household, member_lines, decision, sorted(absent.get(household.id, [])))
        )
    return Register(period, scope, today, lines)
