"""What an import found and did (`ImportReport`), and what every step of it shares
(`ImportContext`): the translator, the clock, the NIK key and the report being written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from tqdm import tqdm

from bot.domain.models import Role
from bot.texts.i18n import Translator

# The programme's calendar (WIB) when the caller does not name one (`Settings.zone`).
PROGRAMME_ZONE = ZoneInfo("Asia/Jakarta")

# A report lists this many problems; past that it only counts them (a file with thousands of bad
# rows usually has one mistake repeated, and a screenful is enough to find it).
MAX_LISTED_PROBLEMS = 100


class ImportKind(StrEnum):
    POSYANDU = "posyandu"
    PEOPLE = "people"
    HOUSEHOLDS = "households"
    MEMBERS = "members"
    PAYOUTS = "payouts"
    SCHOOL_ATTENDANCE = "school-attendance"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: where (line, column) and why, in plain words."""

    line: int | None
    column: str | None
    reason: str


@dataclass(frozen=True)
class StaffChange:
    """A staff member whose role or kecamatan a re-import changed (listed in the summary; it
    takes effect at their next message, since authorization reads the registry every time)."""

    code: str
    name: str
    role_before: Role
    role_after: Role
    kecamatan_before: str | None
    kecamatan_after: str | None


@dataclass
class ImportReport:
    """What an import found and did. `problems` holds the first MAX_LISTED_PROBLEMS problems, in
    the order they were found; `more_problems` counts the ones found after them."""

    kind: ImportKind
    file: str
    dry_run: bool
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    problems: list[Problem] = field(default_factory=list)
    more_problems: int = 0
    applied: bool = False
    staff_changes: list[StaffChange] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and not self.more_problems

    @property
    def problem_count(self) -> int:
        """All the problems found, listed or not."""
        return len(self.problems) + self.more_problems

    def add_problem(self, problem: Problem) -> None:
        if len(self.problems) < MAX_LISTED_PROBLEMS:
            self.problems.append(problem)
        else:
            self.more_problems += 1


@dataclass
class ImportContext:
    """What the steps of one import share. Problems found in a chunk of rows wait in `pending`
    until `flush` adds them to the report in line order, so that the report lists them in the
    order of the file whatever step found them."""

    t: Translator
    now: datetime
    nik_key: bytes | None
    report: ImportReport
    progress: bool
    pending: list[Problem] = field(default_factory=list)
    zone: tzinfo = PROGRAMME_ZONE  # the calendar of "today" and "this month"

    @property
    def today(self) -> date:
        """The import's day in the programme's calendar (birth dates, months to come)."""
        return self.now.astimezone(self.zone).date()

    def problem(self, line: int | None, column: str | None, reason: str) -> None:
        self.pending.append(Problem(line, column, reason))

    @property
    def clean(self) -> bool:
        """No problem so far, in the report or waiting: what has been checked may be written."""
        return self.report.ok and not self.pending

    def flush(self) -> None:
        for found in sorted(self.pending, key=lambda p: p.line or 0):
            self.report.add_problem(found)
        self.pending.clear()

    def bar(self, total: int | None, description: str) -> tqdm[Any]:
        return tqdm(
            total=total,
            desc=description,
            unit=" rows",
            disable=not self.progress or None,
            leave=False,
        )
