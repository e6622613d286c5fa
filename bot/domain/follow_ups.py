"""Follow-ups as values: a household that missed its posyandu session (no report, or its answer
"we did not go" with a reason) or that the bot cannot reach, on its companion's list until she
closes it with what she did. The measure of an active companion (issue 16)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.domain.models import AbsenceReason

ABSENCE_DUE = timedelta(days=7)  # a missed session: followed up within a week
UNREACHABLE_DUE = timedelta(days=3)  # a household the bot cannot reach: within three days


class FollowUpKind(StrEnum):
    ABSENCE = "absence"
    UNREACHABLE = "unreachable"


class FollowUpOutcome(StrEnum):
    HOME_VISIT = "home_visit"
    PHONED = "phoned"
    REFERRED = "referred"  # to the bidan or the puskesmas
    MOVED_AWAY = "moved_away"
    EXCUSED = "excused"  # a reason the companion accepts: the month's weighing is excused
    OTHER = "other"  # with a note


@dataclass(frozen=True)
class FollowUpLine:
    id: int
    household_id: int
    program_number: str
    head_name: str
    kind: FollowUpKind
    about_date: date  # the session day, or the day the household became unreachable
    reason: AbsenceReason | None  # the household's own, when it answered
    due_on: date
    companion_id: int | None
    outcome: FollowUpOutcome | None = None

    def overdue(self, today: date) -> bool:
        return self.outcome is None and self.due_on < today


@dataclass(frozen=True)
class ClosedFollowUp:
    companion_id: int | None
    created_at: datetime
    closed_at: datetime


def five_years_before(day: date) -> date:
    try:
        return day.replace(year=day.year - 5)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 5, day=28)
