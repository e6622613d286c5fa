"""The recap's figures as values: attendance per desa, complaints, companions, and the months
they cover. Built by `bot.services.recap`, read by the storage queries that feed it, drawn and
written by `bot.texts` (charts, workbooks)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from bot.domain.models import AbsenceReason, Role
from bot.domain.months import month_last_day
from bot.domain.register import ConditionCounts


@dataclass(frozen=True)
class FollowedWindow:
    """Whom a posyandu follows in one month: pregnant women due on or after
    `pregnant_due_after` (or with no due date), children born after `born_after` up to `day`."""

    pregnant_due_after: date
    born_after: date
    day: date


@dataclass(frozen=True)
class CompanionRow:
    staff_id: int
    code: str
    name: str
    last_active: datetime | None
    verifications: int
    complaints_handled: int
    overdue: int
    follow_ups_closed: int = 0  # this month (/tindaklanjut)
    median_days_to_close: float | None = None  # of those, from opened to closed
    visits_for_households: int = 0  # posyandu visits she reported for households (/hadiruntuk)


@dataclass(frozen=True)
class ComplaintRow:
    ticket_code: str
    program_number: str
    desa: str
    category: str
    status: str
    level: str
    created_at: datetime
    deadline_at: datetime
    resolved_at: datetime | None
    filed_by: Role = Role.HOUSEHOLD  # the household, or staff for it (/keluhanuntuk)


@dataclass(frozen=True)
class ReportSources:
    """A month's reports by who made them: the household itself, or staff for it (assisted,
    /hadiruntuk). A health worker's own ticks at the session (/konfirmasi) are none of these."""

    self_reported: int = 0
    by_companion: int = 0
    by_health_worker: int = 0

    @property
    def assisted(self) -> int:
        return self.by_companion + self.by_health_worker

    def __add__(self, other: ReportSources) -> ReportSources:
        return ReportSources(
            self.self_reported + other.self_reported,
            self.by_companion + other.by_companion,
            self.by_health_worker + other.by_health_worker,
        )


PUERPERIUM_DAYS = 42
CHART_MONTHS = 6  # the chart sent with /rekap: attendance over this many months


@dataclass(frozen=True)
class DesaAttendance:
    kecamatan: str
    desa: str
    expected: int  # visits due: followed members x sessions held in the month
    reported: int  # reports of any status (households and health workers)
    verified: int  # verified or cross-checked
    cross_checked: int
    # Who made the reports (the recap's month only; the chart's earlier months leave it empty).
    sources: ReportSources = field(default_factory=ReportSources)

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
    # Attendance of this month and the ones before it (for the chart), oldest first.
    history: list[tuple[date, list[DesaAttendance]]] = field(default_factory=list)
    # Messages due this month to the scope's households and staff that could not be delivered.
    undelivered_messages: int = 0
    # The programme's conditions (docs/conditions.md): member-periods ending this month, per
    # "kecamatan · desa" and per companion; and per month for the chart, oldest first.
    conditions_by_desa: dict[str, ConditionCounts] = field(default_factory=dict)
    conditions_by_companion: dict[str, ConditionCounts] = field(default_factory=dict)
    condition_history: list[tuple[date, ConditionCounts]] = field(default_factory=list)
    # The households' answers "we did not go" this month, per "kecamatan · desa" and reason.
    absence_reasons: dict[str, Counter[AbsenceReason]] = field(default_factory=dict)
    # The same answers per "desa · posyandu", for the workbook.
    absence_reasons_by_posyandu: dict[str, Counter[AbsenceReason]] = field(default_factory=dict)
    # Complaints filed this month by who filed them: the household, or staff for it.
    complaints_by_filer: dict[Role, int] = field(default_factory=dict)

    @property
    def report_sources(self) -> ReportSources:
        """The month's reports by who made them, over every desa."""
        return sum((row.sources for row in self.attendance), ReportSources())


def followed_window(month: date) -> FollowedWindow:
    """Whom the posyandu follow in the month: pregnant women, and mothers for the 42 days after
    the birth; children under five at the end of the month."""
    last = month_last_day(month)
    try:
        born_after = last.replace(year=last.year - 5)
    except ValueError:  # 29 February
        born_after = last.replace(year=last.year - 5, day=28)
    return FollowedWindow(month - timedelta(days=PUERPERIUM_DAYS), born_after, last)
