"""The programme's conditions as data, and how one member's condition is judged for one period.

A condition is what a member must do for the household to keep its transfer (docs/conditions.md
gives each rule's source). Each condition has its own natural period:

- a pregnant woman's antenatal visits, per trimester, counted back from the due date;
- a mother's postnatal (nifas) visits, in the 42 days after delivery;
- an under-five child's weighing at the posyandu, per calendar month;
- a school child's attendance, per calendar month, from the school's figures.

Each member-period ends with a status: met, not met, unknown (no data yet, or still running, or
a report still waiting for verification) or excused (no posyandu session was held that month).
The rules below are pure: they take the facts (visits, sessions held, school months) and a day,
and never read a database.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from fractions import Fraction

from bot.domain.models import Member, MemberKind, SchoolMonth


class Condition(StrEnum):
    ANTENATAL = "antenatal"  # ibu hamil: pemeriksaan kehamilan
    POSTNATAL = "postnatal"  # ibu nifas: pemeriksaan nifas
    GROWTH = "growth"  # balita: ditimbang di posyandu
    SCHOOL = "school"  # anak sekolah: hadir di sekolah


class Status(StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    UNKNOWN = "unknown"
    EXCUSED = "excused"


class Evidence(StrEnum):
    """Who vouches for a visit (or a month at school)."""

    CROSS_CHECKED = "cross_checked"  # the household reported and a health worker confirmed
    HEALTH_WORKER = "health_worker"  # a health worker confirmed on their own word
    HOUSEHOLD = "household"  # the household reported and the companion verified
    SCHOOL = "school"  # the school's monthly figures
    NO_SESSION = "no_session"  # excused: the posyandu held no session
    COMPANION_DECISION = "companion_decision"  # excused: the companion accepted the reason


# The strongest evidence first: a period shows the best evidence among its counted visits.
EVIDENCE_ORDER = (
    Evidence.CROSS_CHECKED,
    Evidence.HEALTH_WORKER,
    Evidence.HOUSEHOLD,
    Evidence.SCHOOL,
    Evidence.NO_SESSION,
    Evidence.COMPANION_DECISION,
)


@dataclass(frozen=True)
class ConditionRule:
    """One condition, as the programme sets it. Change a number here, and docs/conditions.md."""

    condition: Condition
    required: tuple[int, ...]  # visits per sub-period (trimesters), or one number
    days: int = 0  # the length of a fixed window (postnatal)
    share: Fraction = Fraction(0)  # the share of school days (school)


PREGNANCY_DAYS = 280  # due date = first day of the last period + 280 days (Naegele)
TRIMESTER_ENDS = (97, 195)  # days after the last period: 13 weeks 6 days, 27 weeks 6 days
UNDER_FIVE_YEARS = 5

RULES: dict[Condition, ConditionRule] = {
    Condition.ANTENATAL: ConditionRule(Condition.ANTENATAL, required=(2, 1, 3)),
    Condition.POSTNATAL: ConditionRule(Condition.POSTNATAL, required=(4,), days=42),
    Condition.GROWTH: ConditionRule(Condition.GROWTH, required=(1,)),
    Condition.SCHOOL: ConditionRule(Condition.SCHOOL, required=(1,), share=Fraction(85, 100)),
}


@dataclass(frozen=True)
class Visit:
    """A visit as the register sees it: one member, one day, how sure we are."""

    member_id: int
    day: date
    evidence: Evidence | None  # None: the report still waits for the companion's verification
    on_session_day: bool  # the posyandu held a session that day (after moves and cancellations)

    @property
    def counts(self) -> bool:
        """A visit counts once verified, on a session day, or whenever a health worker saw it."""
        if self.evidence is None:
            return False
        return self.on_session_day or self.evidence in (
            Evidence.CROSS_CHECKED,
            Evidence.HEALTH_WORKER,
        )


@dataclass(frozen=True)
class MemberPeriod:
    """One member's condition over one period, judged."""

    member_id: int
    condition: Condition
    start: date
    end: date
    required: int
    done: int  # counted visits, or days present at school
    status: Status
    evidence: Evidence | None
    waiting: int = 0  # reports still waiting for verification
    days_school: int = 0  # school: the month's school days

    @property
    def running(self) -> bool:
        return self.status is Status.UNKNOWN and self.waiting == 0 and self.done < self.required


# --- periods -------------------------------------------------------------------------------


def pregnancy_start(due: date) -> date:
    return due - timedelta(days=PREGNANCY_DAYS)


def trimesters(due: date) -> list[tuple[date, date]]:
    """The three trimesters, first and last day; the third ends on the due date."""
    start = pregnancy_start(due)
    first_end = start + timedelta(days=TRIMESTER_ENDS[0])
    second_end = start + timedelta(days=TRIMESTER_ENDS[1])
    return [
        (start, first_end),
        (first_end + timedelta(days=1), second_end),
        (second_end + timedelta(days=1), due),
    ]


def fifth_birthday(born: date) -> date:
    try:
        return born.replace(year=born.year + UNDER_FIVE_YEARS)
    except ValueError:  # born on 29 February
        return date(born.year + UNDER_FIVE_YEARS, 3, 1)


def months_between(first: date, last: date) -> list[date]:
    """First days of the months from `first`'s month to `last`'s month."""
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def month_end(month: date) -> date:
    following = (month.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


@dataclass(frozen=True)
class Period:
    """A stretch of months the programme pays on, e.g. `2026-T4` (October to December)."""

    code: str
    first: date
    last: date


_QUARTER = re.compile(r"^(\d{4})-[TtQq]([1-4])$")
_MONTH_RANGE = re.compile(r"^(\d{4})-(\d{1,2})(?:\.\.(\d{4})-(\d{1,2}))?$")


def parse_period(text: str) -> Period | None:
    """`2026-T4` (a quarter: tahap 4 = October to December), `2026-11` (one month), or
    `2026-09..2026-12` (a range of months)."""
    text = text.strip()
    if match := _QUARTER.match(text):
        year, quarter = int(match[1]), int(match[2])
        first = date(year, 3 * quarter - 2, 1)
        return Period(f"{year}-T{quarter}", first, month_end(date(year, 3 * quarter, 1)))
    if match := _MONTH_RANGE.match(text):
        try:
            first = date(int(match[1]), int(match[2]), 1)
            last = date(int(match[3]), int(match[4]), 1) if match[3] else first
        except ValueError:
            return None
        if last < first or not 2000 <= first.year <= 2100 or not 2000 <= last.year <= 2100:
            return None
        return Period(text, first, month_end(last))
    return None


# --- judging -------------------------------------------------------------------------------


def best_evidence(evidence: Iterable[Evidence | None]) -> Evidence | None:
    """The strongest of these (EVIDENCE_ORDER); None when there is none.

    By position, not in a set: an enum's hash is a Python call, and the register asks this for
    every member-period (a district's six months: half a million times)."""
    ranks = [EVIDENCE_ORDER.index(e) for e in evidence if e is not None]
    return EVIDENCE_ORDER[min(ranks)] if ranks else None


def judge_visits(
    member_id: int,
    condition: Condition,
    start: date,
    end: date,
    required: int,
    visits: Sequence[Visit],
    today: date,
    *,
    sessions_held: int | None = None,
    excused_days: Sequence[date] = (),
) -> MemberPeriod:
    """Visits needed within [start, end]: met once enough count; unknown while the period runs
    or reports wait for verification; excused when the posyandu held no session (monthly
    weighing only: `sessions_held` given) or the companion accepted the household's reason for
    missing a session in the period (`excused_days`); otherwise not met."""
    counted_days: set[date] = set()
    counted_evidence: list[Evidence | None] = []
    waiting = 0
    for visit in visits:  # one pass: the register judges every member-period this way
        if not start <= visit.day <= end:
            continue
        if visit.evidence is None:
            waiting += 1
        elif visit.counts:
            counted_days.add(visit.day)
            counted_evidence.append(visit.evidence)
    done = len(counted_days)
    evidence = best_evidence(counted_evidence)
    if done >= required:
        status = Status.MET
    elif today <= end or done + waiting >= required:
        status = Status.UNKNOWN
    elif sessions_held == 0:
        status, evidence = Status.EXCUSED, Evidence.NO_SESSION
    elif any(start <= day <= end for day in excused_days):
        status, evidence = Status.EXCUSED, Evidence.COMPANION_DECISION
    else:
        status = Status.NOT_MET
    return MemberPeriod(
        member_id, condition, start, end, required, done, status, evidence, waiting=waiting
    )


def judge_school(
    member_id: int, month: date, figures: SchoolMonth | None, today: date
) -> MemberPeriod:
    rule = RULES[Condition.SCHOOL]
    end = month_end(month)
    if figures is None or figures.days_school <= 0:
        return MemberPeriod(member_id, Condition.SCHOOL, month, end, 1, 0, Status.UNKNOWN, None)
    met = Fraction(figures.days_present, figures.days_school) >= rule.share
    return MemberPeriod(
        member_id,
        Condition.SCHOOL,
        month,
        end,
        1,
        figures.days_present,
        Status.MET if met else Status.NOT_MET,
        Evidence.SCHOOL,
        days_school=figures.days_school,
    )


@dataclass(frozen=True)
class MemberFacts:
    """All the register knows about one member for the months asked."""

    member: Member
    visits: Sequence[Visit]
    sessions_held: dict[date, int]  # month -> sessions held at the household's posyandu
    school: dict[date, SchoolMonth]
    excused_days: Sequence[date] = ()  # session days the companion excused (/tindaklanjut)
    delivered_on: date | None = None  # when a birth was recorded; else the due date is used


def member_periods(facts: MemberFacts, first: date, last: date, today: date) -> list[MemberPeriod]:
    """Every condition-period of the member that overlaps [first, last], in date order.

    Monthly conditions give one period per month; antenatal gives the trimesters, postnatal the
    42 days after delivery, each judged as a whole (a trimester running past `last` is judged
    as far as it got, and stays unknown until it ends or is met)."""
    member = facts.member
    periods: list[MemberPeriod] = []
    if member.kind is MemberKind.CHILD and member.birth_date is not None:
        born, five = member.birth_date, fifth_birthday(member.birth_date)
        for month in months_between(first, last):
            end = month_end(month)
            if born > end or five <= month:
                continue
            periods.append(
                judge_visits(
                    member.id,
                    Condition.GROWTH,
                    max(month, born),
                    end,
                    RULES[Condition.GROWTH].required[0],
                    facts.visits,
                    today,
                    sessions_held=facts.sessions_held.get(month, 0),
                    excused_days=facts.excused_days,
                )
            )
    elif member.kind is MemberKind.SCHOOL_CHILD:
        for month in months_between(first, last):
            periods.append(judge_school(member.id, month, facts.school.get(month), today))
    elif member.kind is MemberKind.PREGNANT and member.due_date is not None:
        delivery = facts.delivered_on or member.due_date
        antenatal = RULES[Condition.ANTENATAL]
        for (start, end), required in zip(
            trimesters(member.due_date), antenatal.required, strict=True
        ):
            end = min(end, delivery)
            if start > end or end < first or start > last:
                continue
            periods.append(
                judge_visits(
                    member.id, Condition.ANTENATAL, start, end, required, facts.visits, today
                )
            )
        postnatal = RULES[Condition.POSTNATAL]
        start, end = delivery, delivery + timedelta(days=postnatal.days)
        if not (end < first or start > last):
            periods.append(
                judge_visits(
                    member.id,
                    Condition.POSTNATAL,
                    start,
                    end,
                    postnatal.required[0],
                    facts.visits,
                    today,
                )
            )
    return sorted(periods, key=lambda p: (p.start, p.condition))


class Decision(StrEnum):
    """What the verification list says about a household for the payout period."""

    ALL_MET = "all_met"
    SOME_NOT_MET = "some_not_met"
    UNKNOWN = "unknown"
    NO_CONDITIONS = "no_conditions"  # nobody in the household has a condition this period


def decide(periods: Iterable[MemberPeriod]) -> Decision:
    statuses = {p.status for p in periods}
    if not statuses:
        return Decision.NO_CONDITIONS
    if Status.NOT_MET in statuses:
        return Decision.SOME_NOT_MET
    if Status.UNKNOWN in statuses:
        return Decision.UNKNOWN
    return Decision.ALL_MET


def overall(periods: Sequence[MemberPeriod]) -> Status | None:
    """One member's status over several periods of one condition (the worst wins)."""
    statuses = {p.status for p in periods}
    for status in (Status.NOT_MET, Status.UNKNOWN, Status.MET, Status.EXCUSED):
        if status in statuses:
            return status
    return None
