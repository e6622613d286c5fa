"""Bulk reads and writes for the reminder planner and the companion digest.

Queries here read whole kecamatan or districts at once (one query per kind of data, not one per
household), so planning stays fast at 15,000 households. The companions' digests are read for
many companions at once, grouped by companion (`caseloads`, `waiting_reports`, ...): their
number of queries does not grow with the number of companions.

The planner's memory between passes is here too: `planner_progress` (for each part of its work,
the local day it was last done for) and `planner_change`, the marks that database triggers
(migration 0012) leave when the registry changes; see `jobs.planner`.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, case, delete, func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.domain.models import (
    AbsenceReason,
    ComplaintCategory,
    ComplaintStatus,
    EscalationLevel,
    Member,
    MemberKind,
    PayoutRound,
    ReportStatus,
    Role,
)
from bot.domain.schedule import ScheduleRule, parse_schedule_rule
from storage.database import upsert
from storage.locks import lock_key
from storage.schema import (
    absence,
    attendance_report,
    complaint,
    complaint_event,
    desa,
    household,
    kecamatan,
    link_attempt,
    member,
    notification,
    payout_round,
    person,
    planner_change,
    planner_progress,
    posyandu,
    queue_slot,
    session_change,
    staff,
    staff_posyandu,
)

_CHUNK = 5_000


@dataclass(frozen=True, slots=True)  # a full pass holds a kecamatan's or a group's: no __dict__
class LinkedPerson:
    """A household member's Telegram account, with what the planner needs about the household."""

    person_id: int
    household_id: int
    program_number: str
    posyandu_id: int
    kecamatan_id: int
    reachable: bool
    # /pengingat: the account muted its optional reminders; or, when it turned them on again,
    # from when (no optional reminder due before that moment).
    muted: bool = False
    reminders_from: datetime | None = None

    def wants_optional(self, due: datetime) -> bool:
        """Whether an optional reminder due then may be planned for this account."""
        return not self.muted and (self.reminders_from is None or due >= self.reminders_from)


class FollowableMember(NamedTuple):
    """A member a posyandu can follow (pregnant woman, child) as the planner reads them in bulk:
    plain values, no model (`bot.services.digest.followed_until` tells until when)."""

    household_id: int
    name: str
    pregnant: bool
    birth_date: date | None
    due_date: date | None


@dataclass(frozen=True)
class HouseholdLine:
    """A household as a companion sees it in a list."""

    id: int
    program_number: str
    head_name: str
    posyandu_id: int


@dataclass(frozen=True)
class CaseloadHousehold(HouseholdLine):
    """A household of a companion's caseload, with what its members a posyandu can follow say
    about when it is expected: whether a pregnant member has no due date, the latest due date,
    and the latest birth date of a child (`bot.services.digest` decides from these)."""

    pregnant_undated: bool
    last_due: date | None
    youngest_birth: date | None


@dataclass(frozen=True)
class PosyanduSchedule:
    id: int
    name: str
    kecamatan_id: int
    schedule: ScheduleRule


@dataclass(frozen=True)
class WaitingReport:
    program_number: str
    member: str
    session_date: date


@dataclass(frozen=True)
class WaitingComplaint:
    ticket_code: str
    program_number: str
    deadline_at: datetime
    # Where it is: at the companion's level, or above her (she follows it, read-only); and
    # whether it went up from her level (her deadline passed: overdue for her).
    level: EscalationLevel = EscalationLevel.COMPANION
    went_up: bool = False


def _chunks(ids: Sequence[int], size: int = _CHUNK) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


_MEMBER_CHUNK = 200  # households whose members are read at a time (rows, for a streamed read)


# The kinds of member a posyandu can follow (`bot.services.attendance.is_followed`).
_FOLLOWABLE = (MemberKind.PREGNANT.value, MemberKind.CHILD.value)


def _member(r: Any) -> Member:
    """A member from its row, as stored (read in bulk: the row is not validated again)."""
    return Member.model_construct(
        id=r.id,
        household_id=r.household_id,
        name=r.name,
        kind=MemberKind(r.kind),
        birth_date=r.birth_date,
        due_date=r.due_date,
    )


def _linked_person(row: Any) -> LinkedPerson:
    return LinkedPerson(
        row.id,
        row.household_id,
        row.program_number,
        row.posyandu_id,
        row.kecamatan_id,
        row.reachable,
        bool(row.muted),
        row.reminders_resumed_at,
    )


@asynccontextmanager
async def job_session_lock(engine: AsyncEngine, name: str) -> AsyncIterator[None]:
    """Hold a job's lock for a whole run made of several transactions.

    On PostgreSQL: a session-level advisory lock (the same key as `storage.locks.hold_job_lock`)
    on a connection of its own, kept for the run and unlocked at the end (a process that dies
    loses its connection, and the lock with it); a second process waits for it. On SQLite there
    is one machine and each write takes the write lock in turn: nothing more is taken.
    """
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        key = {"key": lock_key(name)}
        await connection.execute(text("SELECT pg_advisory_lock(:key)"), key)
        try:
            yield
        finally:
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), key)


class PlanningRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def linked_people(
        self, kecamatan_id: int | None = None, posyandu_ids: Sequence[int] | None = None
    ) -> list[LinkedPerson]:
        """Telegram users linked to active households (of one kecamatan, or of some posyandu,
        when given)."""
        query = (
            select(
                person.c.id,
                person.c.household_id,
                household.c.program_number,
                household.c.posyandu_id,
                desa.c.kecamatan_id,
                person.c.reachable,
                person.c.reminders_muted_at.is_not(None).label("muted"),
                person.c.reminders_resumed_at,
            )
            .join(household, household.c.id == person.c.household_id)
            .join(desa, desa.c.id == household.c.desa_id)
            .where(person.c.role == Role.HOUSEHOLD.value, household.c.active.is_(True))
            .order_by(person.c.id)
        )
        if kecamatan_id is not None:
            query = query.where(desa.c.kecamatan_id == kecamatan_id)
        if posyandu_ids is not None:
            query = query.where(household.c.posyandu_id.in_(sorted(set(posyandu_ids))))
        found: list[LinkedPerson] = []
        result = await self._connection.stream(query)
        async for rows in result.partitions(_MEMBER_CHUNK):  # other tasks run between partitions
            found += [_linked_person(row) for row in rows]
        return found

    async def members_of(
        self, household_ids: Iterable[int], *, followable_only: bool = False
    ) -> dict[int, list[Member]]:
        """Members by household, in record order; with `followable_only` only those of a kind a
        posyandu can follow (pregnant women, children)."""
        found: dict[int, list[Member]] = defaultdict(list)
        for chunk in _chunks(sorted(set(household_ids)), _MEMBER_CHUNK):
            query = select(member).where(member.c.household_id.in_(chunk)).order_by(member.c.id)
            if followable_only:
                query = query.where(member.c.kind.in_(_FOLLOWABLE))
            for r in await self._connection.execute(query):
                found[r.household_id].append(_member(r))
            await asyncio.sleep(0)  # a turn for other tasks between chunks of a big read
        return found

    async def followable_members(
        self, household_ids: Iterable[int]
    ) -> dict[int, list[FollowableMember]]:
        """The members a posyandu can follow of these households, by household, in record order,
        as plain values (read in chunks, with a turn for other tasks between chunks)."""
        found: dict[int, list[FollowableMember]] = defaultdict(list)
        pregnant = (member.c.kind == MemberKind.PREGNANT.value).label("pregnant")
        columns = (member.c.household_id, member.c.name, pregnant, member.c.birth_date)
        for chunk in _chunks(sorted(set(household_ids)), _MEMBER_CHUNK):
            query = (
                select(*columns, member.c.due_date)
                .where(member.c.household_id.in_(chunk), member.c.kind.in_(_FOLLOWABLE))
                .order_by(member.c.id)
            )
            for row in await self._connection.execute(query):
                household_id, name, is_pregnant, birth_date, due_date = row
                found[household_id].append(
                    FollowableMember(household_id, name, bool(is_pregnant), birth_date, due_date)
                )
            await asyncio.sleep(0)
        return found

    async def posyandu_schedules(self) -> dict[int, PosyanduSchedule]:
        query = select(posyandu.c.id, posyandu.c.name, desa.c.kecamatan_id, posyandu.c.schedule)
        rows = await self._connection.execute(query.join(desa))
        return {
            row.id: PosyanduSchedule(
                row.id, row.name, row.kecamatan_id, parse_schedule_rule(row.schedule)
            )
            for row in rows
        }

    async def session_changes(self) -> dict[int, dict[date, date | None]]:
        """Moved and cancelled sessions by posyandu: original date -> new date (None: cancelled)."""
        found: dict[int, dict[date, date | None]] = defaultdict(dict)
        query = select(
            session_change.c.posyandu_id, session_change.c.original_date, session_change.c.new_date
        )
        for posyandu_id, original, new in await self._connection.execute(query):
            found[posyandu_id][original] = new
        return found

    async def change_session(
        self, posyandu_id: int, original: date, new: date | None, actor: str, now: datetime
    ) -> None:
        statement = upsert(self._connection, session_change).values(
            posyandu_id=posyandu_id,
            original_date=original,
            new_date=new,
            changed_by=actor,
            changed_at=now,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[session_change.c.posyandu_id, session_change.c.original_date],
            set_={"new_date": new, "changed_by": actor, "changed_at": now},
        )
        await self._connection.execute(statement)

    async def households_with_visit(
        self, household_ids: Sequence[int], day: date, *, with_answers: bool = True
    ) -> set[int]:
        """Households with an attendance report (not rejected) for that day, and with
        `with_answers` those that answered "we did not go" too (they need no question)."""
        found: set[int] = set()
        for chunk in _chunks(sorted(set(household_ids))):
            reported = (
                select(member.c.household_id)
                .join(attendance_report, attendance_report.c.member_id == member.c.id)
                .where(
                    attendance_report.c.session_date == day,
                    attendance_report.c.status != ReportStatus.REJECTED.value,
                    member.c.household_id.in_(chunk),
                )
            )
            found.update((await self._connection.execute(reported)).scalars())
            if with_answers:
                answered = select(absence.c.household_id).where(
                    absence.c.session_date == day, absence.c.household_id.in_(chunk)
                )
                found.update((await self._connection.execute(answered)).scalars())
        return found

    async def rounds_between(self, first: date, last: date) -> list[PayoutRound]:
        query = (
            select(payout_round)
            .where(payout_round.c.payout_date.between(first, last))
            .order_by(payout_round.c.payout_date, payout_round.c.id)
        )
        rows = await self._connection.execute(query)
        return [PayoutRound.model_validate(row._asdict()) for row in rows]

    async def active_households(self, kecamatan_id: int) -> dict[int, str]:
        """Programme numbers of the kecamatan's active households, by household id."""
        query = (
            select(household.c.id, household.c.program_number)
            .join(desa)
            .where(desa.c.kecamatan_id == kecamatan_id, household.c.active.is_(True))
        )
        return {id_: number for id_, number in await self._connection.execute(query)}

    async def all_household_ids(self) -> list[int]:
        query = select(household.c.id).where(household.c.active.is_(True))
        return list((await self._connection.execute(query)).scalars())

    async def program_numbers(self, household_ids: list[int]) -> dict[int, str]:
        found: dict[int, str] = {}
        for chunk in _chunks(sorted(set(household_ids))):
            query = select(household.c.id, household.c.program_number).where(
                household.c.id.in_(chunk)
            )
            found.update({id_: number for id_, number in await self._connection.execute(query)})
        return found

    async def kecamatan_names(self) -> dict[int, str]:
        rows = await self._connection.execute(select(kecamatan.c.id, kecamatan.c.name))
        return {id_: name for id_, name in rows}

    async def slots(self, round_id: int) -> dict[int, int]:
        """Slot index by household id."""
        query = select(queue_slot.c.household_id, queue_slot.c.slot_index).where(
            queue_slot.c.round_id == round_id
        )
        return {h: s for h, s in await self._connection.execute(query)}

    async def assign_slots(self, round_id: int, slots: dict[int, int]) -> None:
        if not slots:
            return
        statement = upsert(self._connection, queue_slot).on_conflict_do_nothing(
            index_elements=[queue_slot.c.round_id, queue_slot.c.household_id]
        )
        rows = [
            {"round_id": round_id, "household_id": h, "slot_index": s} for h, s in slots.items()
        ]
        await self._connection.execute(statement, rows)

    async def staff_with_role(self, role: Role, kecamatan_id: int | None = None) -> list[int]:
        query = select(staff.c.id).where(staff.c.role == role.value, staff.c.active.is_(True))
        if kecamatan_id is not None:
            query = query.where(staff.c.kecamatan_id == kecamatan_id)
        return list((await self._connection.execute(query.order_by(staff.c.id))).scalars())

    async def households_at(self, posyandu_id: int) -> list[HouseholdLine]:
        query = (
            select(
                household.c.id,
                household.c.program_number,
                household.c.head_name,
                household.c.posyandu_id,
            )
            .where(household.c.posyandu_id == posyandu_id, household.c.active.is_(True))
            .order_by(household.c.program_number)
        )
        return [HouseholdLine(*row) for row in await self._connection.execute(query)]

    async def health_workers(self) -> list[tuple[int, int]]:
        """(staff id, posyandu id) of active health workers, for each posyandu they serve."""
        query = (
            select(staff.c.id, staff_posyandu.c.posyandu_id)
            .join(staff_posyandu, staff_posyandu.c.staff_id == staff.c.id)
            .where(staff.c.role == Role.HEALTH_WORKER.value, staff.c.active.is_(True))
            .order_by(staff.c.id, staff_posyandu.c.posyandu_id)
        )
        return [(s, p) for s, p in await self._connection.execute(query)]

    async def enrolled_companions(self) -> list[tuple[int, int]]:
        """(staff id, person id) of active companions who linked a reachable Telegram account."""
        query = (
            select(staff.c.id, person.c.id)
            .join(person, person.c.staff_id == staff.c.id)
            .where(
                staff.c.role == Role.COMPANION.value,
                staff.c.active.is_(True),
                person.c.reachable.is_(True),
            )
            .order_by(staff.c.id)
        )
        return [(s, p) for s, p in await self._connection.execute(query)]

    async def caseload(self, companion_id: int) -> list[HouseholdLine]:
        query = (
            select(
                household.c.id,
                household.c.program_number,
                household.c.head_name,
                household.c.posyandu_id,
            )
            .where(household.c.companion_id == companion_id, household.c.active.is_(True))
            .order_by(household.c.program_number)
        )
        return [HouseholdLine(*row) for row in await self._connection.execute(query)]

    async def reports_waiting(self, household_ids: Sequence[int]) -> list[WaitingReport]:
        found: list[WaitingReport] = []
        for chunk in _chunks(sorted(set(household_ids))):
            query = (
                select(household.c.program_number, member.c.name, attendance_report.c.session_date)
                .join(member, member.c.id == attendance_report.c.member_id)
                .join(household, household.c.id == member.c.household_id)
                .where(
                    attendance_report.c.status == ReportStatus.REPORTED.value,
                    household.c.id.in_(chunk),
                )
                .order_by(attendance_report.c.session_date, household.c.program_number)
            )
            found += [WaitingReport(*row) for row in await self._connection.execute(query)]
        return found

    async def complaints_waiting(self, household_ids: Sequence[int]) -> list[WaitingComplaint]:
        """Open complaints at the companion's level, earliest deadline first (one about the
        companion is never there: it starts at the coordinator's)."""
        found: list[WaitingComplaint] = []
        for chunk in _chunks(sorted(set(household_ids))):
            query = (
                select(complaint.c.ticket_code, household.c.program_number, complaint.c.deadline_at)
                .join(household, household.c.id == complaint.c.household_id)
                .where(
                    complaint.c.level == EscalationLevel.COMPANION.value,
                    complaint.c.status.in_(
                        [ComplaintStatus.OPEN.value, ComplaintStatus.IN_PROGRESS.value]
                    ),
                    household.c.id.in_(chunk),
                )
            )
            found += [WaitingComplaint(*row) for row in await self._connection.execute(query)]
        return sorted(found, key=lambda c: c.deadline_at)

    async def unreachable_households(self, household_ids: Sequence[int]) -> set[int]:
        """Households with linked Telegram accounts of which none can be reached any more."""
        found: set[int] = set()
        for chunk in _chunks(sorted(set(household_ids))):
            reachable_count = func.sum(case((person.c.reachable.is_(True), 1), else_=0))
            query = (
                select(person.c.household_id)
                .where(person.c.household_id.in_(chunk))
                .group_by(person.c.household_id)
                .having(and_(func.count() > 0, reachable_count == 0))
            )
            found.update((await self._connection.execute(query)).scalars())
        return found

    # The companions' digests, for many companions at once (grouped by companion)

    async def caseloads(self, companion_ids: Sequence[int]) -> dict[int, list[CaseloadHousehold]]:
        """Each companion's active households, by programme number (as `caseload`), each with
        the dates of its members a posyandu can follow, aggregated in the query (one row a
        household, whatever its members)."""
        pregnant = member.c.kind == MemberKind.PREGNANT.value
        columns = (
            household.c.companion_id,
            household.c.id,
            household.c.program_number,
            household.c.head_name,
            household.c.posyandu_id,
        )
        followable = and_(member.c.household_id == household.c.id, member.c.kind.in_(_FOLLOWABLE))
        found: dict[int, list[CaseloadHousehold]] = defaultdict(list)
        for chunk in _chunks(sorted(set(companion_ids))):
            query = (
                select(
                    *columns,
                    func.max(case((and_(pregnant, member.c.due_date.is_(None)), 1), else_=0)),
                    func.max(case((pregnant, member.c.due_date))),
                    func.max(case((member.c.kind == MemberKind.CHILD.value, member.c.birth_date))),
                )
                .select_from(household.outerjoin(member, followable))
                .where(household.c.companion_id.in_(chunk), household.c.active.is_(True))
                .group_by(*columns)
                .order_by(household.c.program_number)
            )
            for (
                companion_id,
                id_,
                number,
                head,
                posyandu_id,
                undated,
                due,
                birth,
            ) in await self._connection.execute(query):
                found[companion_id].append(
                    CaseloadHousehold(id_, number, head, posyandu_id, bool(undated), due, birth)
                )
        return found

    async def caseload_visits(
        self, companion_ids: Sequence[int], days: Iterable[date]
    ) -> set[tuple[int, date]]:
        """(household, day) of these companions' households with an attendance report (not
        rejected) for one of these days. An answer "we did not go" is not a visit."""
        wanted = sorted(set(days))
        found: set[tuple[int, date]] = set()
        if not wanted:
            return found
        for chunk in _chunks(sorted(set(companion_ids))):
            reported = (
                select(member.c.household_id, attendance_report.c.session_date)
                .join(member, member.c.id == attendance_report.c.member_id)
                .join(household, household.c.id == member.c.household_id)
                .where(
                    attendance_report.c.session_date.in_(wanted),
                    attendance_report.c.status != ReportStatus.REJECTED.value,
                    household.c.companion_id.in_(chunk),
                )
            )
            found.update((h, d) for h, d in await self._connection.execute(reported))
        return found

    async def caseload_absences(
        self, companion_ids: Sequence[int], days: Iterable[date]
    ) -> dict[tuple[int, date], AbsenceReason]:
        """The answers "we did not go" of these companions' households for these days."""
        wanted = sorted(set(days))
        found: dict[tuple[int, date], AbsenceReason] = {}
        if not wanted:
            return found
        for chunk in _chunks(sorted(set(companion_ids))):
            answered = (
                select(absence.c.household_id, absence.c.session_date, absence.c.reason)
                .join(household, household.c.id == absence.c.household_id)
                .where(absence.c.session_date.in_(wanted), household.c.companion_id.in_(chunk))
            )
            for h, d, reason in await self._connection.execute(answered):
                found[(h, d)] = AbsenceReason(reason)
        return found

    async def caseload_reports_waiting(
        self, companion_ids: Sequence[int]
    ) -> dict[int, list[WaitingReport]]:
        """Reports waiting for verification, by companion (as `reports_waiting`)."""
        found: dict[int, list[WaitingReport]] = defaultdict(list)
        for chunk in _chunks(sorted(set(companion_ids))):
            query = (
                select(
                    household.c.companion_id,
                    household.c.program_number,
                    member.c.name,
                    attendance_report.c.session_date,
                )
                .join(member, member.c.id == attendance_report.c.member_id)
                .join(household, household.c.id == member.c.household_id)
                .where(
                    attendance_report.c.status == ReportStatus.REPORTED.value,
                    household.c.companion_id.in_(chunk),
                    household.c.active.is_(True),
                )
                .order_by(attendance_report.c.session_date, household.c.program_number)
            )
            for companion_id, *line in await self._connection.execute(query):
                found[companion_id].append(WaitingReport(*line))
        return found

    async def caseload_complaints_waiting(
        self, companion_ids: Sequence[int]
    ) -> dict[int, list[WaitingComplaint]]:
        """Open complaints of the companions' households, by companion, earliest deadline
        first: those at the companion's level, and those handled above her that she follows
        (not those about her), marked whether they went up from her level."""
        found: dict[int, list[WaitingComplaint]] = defaultdict(list)
        at_her_level = complaint.c.level == EscalationLevel.COMPANION.value
        not_about_her = or_(
            complaint.c.category != ComplaintCategory.COMPANION.value,
            and_(
                complaint.c.about_staff_id.is_not(None),
                complaint.c.about_staff_id != household.c.companion_id,
            ),
        )
        went_up = (
            select(complaint_event.c.id)
            .where(
                complaint_event.c.complaint_id == complaint.c.id,
                complaint_event.c.kind == "escalated",
                complaint_event.c.level == EscalationLevel.COORDINATOR.value,
            )
            .exists()
        )
        for chunk in _chunks(sorted(set(companion_ids))):
            query = (
                select(
                    household.c.companion_id,
                    complaint.c.ticket_code,
                    household.c.program_number,
                    complaint.c.deadline_at,
                    complaint.c.level,
                    went_up.label("went_up"),
                )
                .join(household, household.c.id == complaint.c.household_id)
                .where(
                    or_(at_her_level, not_about_her),
                    complaint.c.status.in_(
                        [ComplaintStatus.OPEN.value, ComplaintStatus.IN_PROGRESS.value]
                    ),
                    household.c.companion_id.in_(chunk),
                    household.c.active.is_(True),
                )
                .order_by(complaint.c.deadline_at, complaint.c.id)
            )
            for row in await self._connection.execute(query):
                level = EscalationLevel(row.level)
                found[row.companion_id].append(
                    WaitingComplaint(
                        row.ticket_code,
                        row.program_number,
                        row.deadline_at,
                        level,
                        level is not EscalationLevel.COMPANION and bool(row.went_up),
                    )
                )
        return found

    async def caseload_unreachable(self, companion_ids: Sequence[int]) -> set[int]:
        """These companions' households with linked Telegram accounts of which none can be
        reached any more (as `unreachable_households`)."""
        found: set[int] = set()
        for chunk in _chunks(sorted(set(companion_ids))):
            reachable_count = func.sum(case((person.c.reachable.is_(True), 1), else_=0))
            query = (
                select(person.c.household_id)
                .join(household, household.c.id == person.c.household_id)
                .where(household.c.companion_id.in_(chunk), household.c.active.is_(True))
                .group_by(person.c.household_id)
                .having(and_(func.count() > 0, reachable_count == 0))
            )
            found.update((await self._connection.execute(query)).scalars())
        return found

    async def caseload_locked(
        self, companion_ids: Sequence[int], since: datetime, threshold: int
    ) -> set[int]:
        """These companions' households with at least `threshold` failed link attempts since
        then (as `LinkRepository.locked_households`)."""
        found: set[int] = set()
        for chunk in _chunks(sorted(set(companion_ids))):
            query = (
                select(link_attempt.c.household_id)
                .join(household, household.c.id == link_attempt.c.household_id)
                .where(
                    household.c.companion_id.in_(chunk),
                    household.c.active.is_(True),
                    link_attempt.c.at > since,
                )
                .group_by(link_attempt.c.household_id)
                .having(func.count() >= threshold)
            )
            found.update(int(h) for h in (await self._connection.execute(query)).scalars())
        return found

    async def existing_keys(self, dedup_keys: Sequence[str]) -> set[str]:
        """Those of these dedup keys that the outbox already holds."""
        found: set[str] = set()
        for start in range(0, len(dedup_keys), _CHUNK):
            chunk = dedup_keys[start : start + _CHUNK]
            query = select(notification.c.dedup_key).where(notification.c.dedup_key.in_(chunk))
            found.update((await self._connection.execute(query)).scalars())
        return found

    # The planner's progress

    async def take_changes(self) -> bool:
        """Whether the registry changed since the last call; the change marks seen are removed
        (a mark written by a transaction still running stays for the next call)."""
        result = await self._connection.execute(delete(planner_change))
        return bool(result.rowcount)

    async def has_changes(self) -> bool:
        """Whether change marks are waiting (without taking them)."""
        query = select(planner_change.c.tx).limit(1)
        return (await self._connection.execute(query)).first() is not None

    async def progress(self) -> dict[str, date | None]:
        """For each part of the planner's work, the local day it was last done for."""
        query = select(planner_progress.c.phase, planner_progress.c.done_for)
        return {phase: day for phase, day in await self._connection.execute(query)}

    async def forget_progress(self) -> None:
        """Every part of the planner's work is to be done again (the registry changed)."""
        await self._connection.execute(update(planner_progress).values(done_for=None))

    async def mark_done(self, phase: str, day: date, now: datetime) -> None:
        statement = upsert(self._connection, planner_progress).values(
            phase=phase, done_for=day, done_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=[planner_progress.c.phase], set_={"done_for": day, "done_at": now}
        )
        await self._connection.execute(statement)
