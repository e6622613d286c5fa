"""The compliance register as values: each active household of a scope, its members' condition
periods judged (`bot.domain.conditions`), and the household's payout decision for a period.
Built by `bot.services.register`, written out by `bot.texts.register_sheet`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from bot.domain.conditions import Condition, Decision, MemberPeriod, Period, Status
from bot.domain.models import AbsenceReason, Member


@dataclass(frozen=True)
class RegisterHousehold:
    id: int
    program_number: str
    head_name: str
    nik_masked: str
    kecamatan: str
    desa: str
    posyandu_id: int
    companion: str | None
    posyandu: str | None = None  # its name


@dataclass(frozen=True)
class MemberLine:
    member: Member
    number: int  # 1, 2, 3 … within the household, in record order
    periods: list[MemberPeriod]


@dataclass(frozen=True)
class HouseholdLine:
    household: RegisterHousehold
    members: list[MemberLine]
    decision: Decision
    absences: list[tuple[date, AbsenceReason]]  # "we did not go", with the reason given

    def statuses(self) -> Counter[Status]:
        return Counter(p.status for line in self.members for p in line.periods)


@dataclass(frozen=True)
class Register:
    period: Period
    scope: str  # the kecamatan's name, or "" for the whole district
    today: date  # the day it was judged on: periods still running are unknown
    households: list[HouseholdLine]

    def decisions(self) -> Counter[Decision]:
        return Counter(line.decision for line in self.households)

    def by_condition(self) -> dict[Condition, Counter[Status]]:
        found: dict[Condition, Counter[Status]] = {}
        for line in self.households:
            for member in line.members:
                for period in member.periods:
                    found.setdefault(period.condition, Counter())[period.status] += 1
        return found


ConditionCounts = dict[Condition, Counter[Status]]


def ends_in(period: MemberPeriod, first: date, last: date) -> bool:
    """A member-period belongs to the month it ends in (a trimester to the month it closes)."""
    return first <= period.end <= last


def counts_between(lines: list[HouseholdLine], first: date, last: date) -> ConditionCounts:
    """Member-periods ending from `first` to `last`, per condition and status."""
    found: ConditionCounts = {}
    for line in lines:
        for member in line.members:
            for period in member.periods:
                if ends_in(period, first, last):
                    found.setdefault(period.condition, Counter())[period.status] += 1
    return found


def counts_per_month(lines: list[HouseholdLine], months: list[date]) -> list[ConditionCounts]:
    """`counts_between` for each calendar month of `months` (their first days), in one pass
    over the member-periods instead of one per month."""
    index = {(month.year, month.month): n for n, month in enumerate(months)}
    found: list[ConditionCounts] = [{} for _ in months]
    for line in lines:
        for member in line.members:
            for period in member.periods:
                n = index.get((period.end.year, period.end.month))
                if n is not None:
                    found[n].setdefault(period.condition, Counter())[period.status] += 1
    return found


def counts_by(register: Register, key: str, first: date, last: date) -> dict[str, ConditionCounts]:
    """`counts_between` per desa ("kecamatan · desa") or per companion (`key`: "desa" or
    "companion"); households without a companion under ""."""
    groups: dict[str, list[HouseholdLine]] = {}
    for line in register.households:
        household = line.household
        name = (
            f"{household.kecamatan} · {household.desa}"
            if key == "desa"
            else household.companion or ""
        )
        groups.setdefault(name, []).append(line)
    return {name: counts_between(lines, first, last) for name, lines in sorted(groups.items())}
