"""Reporting a posyandu visit: which members, which dates are allowed, and saving the report.

A household reports that a member went to the posyandu on a day within the last 14 days (never in
the future, never before the member was born), optionally with a photo of the KMS card or the buku
KIA page as proof. The same member, day and posyandu is recorded once. The companion hears of the
report through the outbox.

When the health worker (bidan, kader) already confirmed that visit on their own word, the
household's report does not wait for the companion: it joins the confirmation, and the attendance
becomes cross-checked, whichever of the two came first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.domain.models import (
    AbsenceReason,
    AttendanceReport,
    Household,
    Member,
    MemberKind,
    Person,
    Recipient,
)
from bot.texts.notices import ATTENDANCE_REPORTED
from storage.store import Store

REPORT_WINDOW_DAYS = 14
PUERPERIUM = timedelta(days=42)  # ibu nifas: still followed for 42 days after delivery

_TYPED_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2}|\d{4}))?$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


class DateProblem(StrEnum):
    FUTURE = "future"
    TOO_OLD = "too_old"
    BEFORE_BIRTH = "before_birth"


class ReportOutcome(StrEnum):
    SAVED = "saved"
    CROSS_CHECKED = "cross_checked"  # the health worker had already confirmed this visit
    ALREADY_RECORDED = "already_recorded"
    NOT_ALLOWED = "not_allowed"  # member or posyandu outside the household's scope, bad date


@dataclass(frozen=True)
class AttendanceDraft:
    """What the user has chosen so far; nothing is saved until they confirm."""

    member_id: int
    session_date: date
    posyandu_id: int
    proof_file_id: str | None = None


def missed_question_prefix(household_id: int, session_date: date) -> str:
    """The dedup key prefix of a household's missed-session questions for one day."""
    return f"missed:{household_id}:{session_date.isoformat()}:"


def is_under_five(member: Member, today: date) -> bool:
    if member.kind is not MemberKind.CHILD or member.birth_date is None:
        return False
    born = member.birth_date
    try:
        fifth_birthday = born.replace(year=born.year + 5)
    except ValueError:  # born on 29 February
        fifth_birthday = date(born.year + 5, 3, 1)
    return today < fifth_birthday


def is_followed(member: Member, today: date) -> bool:
    """Pregnant women (until 42 days after the due date) and children under five."""
    if member.kind is MemberKind.PREGNANT:
        return member.due_date is None or today <= member.due_date + PUERPERIUM
    return is_under_five(member, today)


def members_to_offer(members: list[Member], today: date) -> list[Member]:
    """Pregnant women and children under five first, then everyone else, each in record order."""
    return sorted(members, key=lambda m: not is_followed(m, today))


def allowed_dates(today: date) -> list[date]:
    """Today back to 14 days ago, newest first."""
    return [today - timedelta(days=n) for n in range(REPORT_WINDOW_DAYS + 1)]


def date_problem(day: date, today: date, member: Member) -> DateProblem | None:
    if day > today:
        return DateProblem.FUTURE
    if day < today - timedelta(days=REPORT_WINDOW_DAYS):
        return DateProblem.TOO_OLD
    if member.birth_date is not None and day < member.birth_date:
        return DateProblem.BEFORE_BIRTH
    return None


# Days said in words, as the buttons say them (Indonesian, Sundanese, English): days before today.
DAYS_IN_WORDS = {
    "hari ini": 0,
    "kemarin": 1,
    "kemarin lusa": 2,
    "kemaren": 1,
    "dinten ieu": 0,
    "poe ieu": 0,
    "kamari": 1,
    "mangkukna": 2,
    "today": 0,
    "yesterday": 1,
}


def parse_typed_date(text: str, today: date) -> date | None:
    """`5/12/2026`, `05-12-26`, `5.12` or `2026-12-05`; without a year, the latest past one;
    or a day in words ("kemarin", "hari ini")."""
    text = text.strip()
    words = " ".join(text.casefold().replace("é", "e").split())
    if words in DAYS_IN_WORDS:
        return today - timedelta(days=DAYS_IN_WORDS[words])
    try:
        if match := _ISO_DATE.match(text):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _TYPED_DATE.match(text):
            day, month, year_text = int(match[1]), int(match[2]), match[3]
            if year_text is None:
                candidate = date(today.year, month, day)
                return candidate if candidate <= today else date(today.year - 1, month, day)
            year = int(year_text) + (2000 if len(year_text) == 2 else 0)
            return date(year, month, day)
    except ValueError:
        return None
    return None


async def report_attendance(
    store: Store,
    person: Person,
    household: Household,
    draft: AttendanceDraft,
    *,
    now: datetime,
    today: date,
) -> tuple[ReportOutcome, AttendanceReport | None]:
    """Save the report after checking the draft again on the server side."""
    async with store.write() as repo:
        members = {m.id: m for m in await repo.households.members(household.id)}
        member = members.get(draft.member_id)
        posyandu = await repo.geography.posyandu_by_id(draft.posyandu_id)
        if (
            member is None
            or posyandu is None
            or posyandu.kecamatan_id != household.kecamatan_id
            or date_problem(draft.session_date, today, member) is not None
        ):
            return ReportOutcome.NOT_ALLOWED, None
        visit = (member.id, posyandu.id, draft.session_date, draft.proof_file_id, person.id, now)
        outcome = ReportOutcome.SAVED
        report = await repo.attendance.add_reported(*visit)
        if report is None:
            outcome = ReportOutcome.CROSS_CHECKED
            report = await repo.attendance.add_to_health_worker_confirmation(*visit)
        if report is None:
            return ReportOutcome.ALREADY_RECORDED, None
        # The "did you go yesterday?" question is moot now.
        await repo.notifications.cancel_pending(
            dedup_prefix=missed_question_prefix(household.id, draft.session_date)
        )
        # A cross-checked visit needs no verification, so the companion is not asked for one.
        if outcome is ReportOutcome.SAVED and household.companion_id is not None:
            await repo.notifications.queue(
                Recipient(staff_id=household.companion_id),
                ATTENDANCE_REPORTED,
                {
                    "program_number": household.program_number,
                    "member": member.name,
                    "date": draft.session_date.isoformat(),
                },
                due_at=now,
                dedup_key=f"attendance:reported:{report.id}",
                now=now,
            )
        await repo.audit.record(
            now,
            f"person:{person.id}",
            "report_attendance",
            "attendance_report",
            str(report.id),
            {"status": report.status.value},
        )
    return outcome, report


async def record_absence(
    store: Store,
    person: Person,
    household: Household,
    posyandu_id: int,
    session_date: date,
    reason: AbsenceReason,
    *,
    now: datetime,
) -> bool:
    """The household's answer "we did not go"; False when it had already answered that day."""
    async with store.write() as repo:
        saved = await repo.attendance.add_absence(
            household.id, posyandu_id, session_date, reason, person.id, now
        )
        await repo.notifications.cancel_pending(
            dedup_prefix=missed_question_prefix(household.id, session_date)
        )
        if saved:
            detail = {"date": session_date.isoformat(), "reason": reason.value}
            await repo.audit.record(
                now,
                f"person:{person.id}",
                "report_absence",
                "household",
                household.program_number,
                detail,
            )
    return saved
