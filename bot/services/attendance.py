"""Reporting a posyandu visit: which members, which dates are allowed, and saving the report.

A household reports that a member went to the posyandu on a day within the last 14 days (never in
the future, never before the member was born), optionally with a photo of the KMS card or the buku
KIA page as proof; a mother who went with her small children reports them together, with one
photo. Only the members the posyandu follows are offered and accepted: pregnant women, mothers up
to 42 days after the birth, children under five. A visit on a day the posyandu held no session
is kept, but counts in the register only when a health worker confirms it (the household is told
so before saving). The same member, day and posyandu is recorded once. The companion hears of the
report through the outbox.

When the health worker (bidan, kader) already confirmed that visit on their own word, the
household's report does not wait for the companion: it joins the confirmation, and the attendance
becomes cross-checked, whichever of the two came first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.domain.follow_ups import ABSENCE_DUE
from bot.domain.models import (
    AbsenceReason,
    AttendanceReport,
    Household,
    Member,
    MemberKind,
    Person,
    Posyandu,
    Recipient,
    Role,
)
from bot.domain.sessions import sessions_between
from bot.texts.notices import ATTENDANCE_REPORTED, POSYANDU_NOT_OPEN
from storage.store import Repositories, Store

REPORT_WINDOW_DAYS = 14
PUERPERIUM = timedelta(days=42)  # ibu nifas: still followed for 42 days after delivery


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
    together_with: tuple[int, ...] = ()  # members who went with `member_id` that day

    @property
    def member_ids(self) -> tuple[int, ...]:
        return tuple(dict.fromkeys((self.member_id, *self.together_with)))


@dataclass(frozen=True)
class ReportResult:
    """What became of a report: one outcome for it all, and one per member."""

    outcome: ReportOutcome
    report: AttendanceReport | None  # the first member's row
    members: list[tuple[Member, ReportOutcome]]


@dataclass(frozen=True)
class SessionDay:
    """Whether a posyandu held a session on a day; if not, its last session before it."""

    held: bool
    last_before: date | None


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
    """The members the posyandu follows today, in record order: pregnant women, mothers up to
    42 days after the birth, children under five. Nobody else has a posyandu condition."""
    return [m for m in members if is_followed(m, today)]


async def visit_place(
    store: Store, posyandu_id: int, day: date
) -> tuple[Posyandu | None, SessionDay]:
    """The posyandu, and whether it met that day after moves and cancellations."""
    async with store.quick_snapshot() as repo:  # reads by key, one moment
        posyandu = await repo.geography.posyandu_by_id(posyandu_id)
        changes = await repo.geography.session_changes_at(posyandu_id)
    if posyandu is None:
        return None, SessionDay(False, None)
    held = sessions_between(posyandu.schedule, changes, day - timedelta(days=31), day)
    if held and held[-1].day == day:
        return posyandu, SessionDay(True, day)
    return posyandu, SessionDay(False, held[-1].day if held else None)


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


async def report_attendance(
    store: Store,
    person: Person,
    household: Household,
    draft: AttendanceDraft,
    *,
    now: datetime,
    today: date,
) -> ReportResult:
    """Save the household's report after checking the draft again on the server side: every
    member must be of the household, followed by the posyandu on that day, and the day allowed;
    otherwise nothing is saved."""
    async with store.write() as repo:
        return await record_report(repo, person, household, draft, now=now, today=today)


async def checked_members(
    repo: Repositories, household: Household, draft: AttendanceDraft, today: date
) -> list[Member] | None:
    """The draft's members when the draft holds on the server side (each a member of the
    household followed by the posyandu that day, the day allowed, the posyandu in the
    household's kecamatan); None otherwise."""
    members = {m.id: m for m in await repo.households.members(household.id)}
    chosen = [members.get(member_id) for member_id in draft.member_ids]
    posyandu = await repo.geography.posyandu_by_id(draft.posyandu_id)
    if posyandu is None or posyandu.kecamatan_id != household.kecamatan_id:
        return None
    valid = [
        member
        for member in chosen
        if member is not None
        and is_followed(member, draft.session_date)
        and date_problem(draft.session_date, today, member) is None
    ]
    return valid if len(valid) == len(chosen) else None


async def record_report(
    repo: Repositories,
    person: Person,
    household: Household,
    draft: AttendanceDraft,
    *,
    now: datetime,
    today: date,
    assisted: Role | None = None,
) -> ReportResult:
    """Save a report of the household, in the caller's transaction: its own, or made for it by
    its companion (`assisted`), which counts the same way and waits for a cross-check."""
    chosen = await checked_members(repo, household, draft, today)
    if chosen is None:
        return ReportResult(ReportOutcome.NOT_ALLOWED, None, [])
    results: list[tuple[Member, ReportOutcome]] = []
    saved: list[tuple[Member, AttendanceReport]] = []
    first: AttendanceReport | None = None
    for member in chosen:
        visit = (
            member.id,
            draft.posyandu_id,
            draft.session_date,
            draft.proof_file_id,
            person.id,
            now,
        )
        outcome = ReportOutcome.SAVED
        report = await repo.attendance.add_reported(*visit, assisted_role=assisted)
        if report is None:
            outcome = ReportOutcome.CROSS_CHECKED
            report = await repo.attendance.add_to_health_worker_confirmation(
                *visit, assisted_role=assisted
            )
        if report is None:
            outcome = ReportOutcome.ALREADY_RECORDED
        else:
            first = first or report
            detail = {"status": report.status.value}
            if assisted is not None:
                detail["assisted"] = assisted.value
            await repo.audit.record(
                now,
                f"person:{person.id}",
                "report_attendance",
                "attendance_report",
                str(report.id),
                detail,
            )
            if outcome is ReportOutcome.SAVED:
                saved.append((member, report))
        results.append((member, outcome))
    if first is None:
        return ReportResult(ReportOutcome.ALREADY_RECORDED, None, results)
    # The "did you go yesterday?" question is moot now (and an open follow-up of that day
    # drops off the companion's list: it is read with the reports).
    await repo.notifications.cancel_pending(
        dedup_prefix=missed_question_prefix(household.id, draft.session_date)
    )
    # A cross-checked visit needs no verification, so the companion is not asked for one; nor
    # is she told of a report she made herself.
    companion = household.companion_id
    if saved and companion is not None and companion != person.staff_id:
        await repo.notifications.queue(
            Recipient(staff_id=companion),
            ATTENDANCE_REPORTED,
            {
                "program_number": household.program_number,
                "member": ", ".join(member.name for member, _ in saved),
                "date": draft.session_date.isoformat(),
            },
            due_at=now,
            dedup_key=f"attendance:reported:{saved[0][1].id}",
            now=now,
        )
    return ReportResult(overall_outcome(results), first, results)


def overall_outcome(results: list[tuple[Member, ReportOutcome]]) -> ReportOutcome:
    """One outcome for a report of several members: saved when any was."""
    outcomes = {outcome for _, outcome in results}
    return next(
        (
            o
            for o in (
                ReportOutcome.SAVED,
                ReportOutcome.CROSS_CHECKED,
                ReportOutcome.ALREADY_RECORDED,
            )
            if o in outcomes
        ),
        ReportOutcome.NOT_ALLOWED,
    )


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
    """The household's answer "we did not go"; False when it had already answered that day.

    When a second household says the posyandu did not open on a day it should have, the
    kecamatan's coordinators hear of it the same day (once per posyandu and day)."""
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
        if saved:  # on the companion's list, with the household's reason
            await repo.follow_ups.open_absence(
                household.id,
                household.companion_id,
                session_date,
                None if reason is AbsenceReason.NONE else reason,
                now,
                session_date + ABSENCE_DUE,
            )
        if saved and reason is AbsenceReason.SESSION_CANCELLED:
            await _alert_if_not_open(repo, posyandu_id, session_date, now)
    return saved


NOT_OPEN_ALERT_AT = 2  # households saying a posyandu did not open before the coordinator hears


async def _alert_if_not_open(
    repo: Repositories, posyandu_id: int, session_date: date, now: datetime
) -> None:
    posyandu = await repo.geography.posyandu_by_id(posyandu_id)
    if posyandu is None:
        return
    changes = await repo.geography.session_changes_at(posyandu_id)
    held = sessions_between(posyandu.schedule, changes, session_date, session_date)
    if not held:  # the session was moved or cancelled: nobody should have come
        return
    count = await repo.attendance.households_answering(
        posyandu_id, session_date, AbsenceReason.SESSION_CANCELLED
    )
    if count < NOT_OPEN_ALERT_AT:
        return
    for coordinator in await repo.staff.active_with_role(Role.COORDINATOR, posyandu.kecamatan_id):
        await repo.notifications.queue(
            Recipient(staff_id=coordinator.id),
            POSYANDU_NOT_OPEN,
            {"posyandu": posyandu.name, "date": session_date.isoformat(), "count": count},
            due_at=now,
            dedup_key=f"posyandu:not_open:{posyandu_id}:{session_date.isoformat()}"
            f":{coordinator.id}",
            now=now,
        )
