"""Bulk reads and writes for the reminder planner and the companion digest.

Queries here read whole kecamatan or districts at once (one query per kind of data, not one per
household), so planning stays fast at 15,000 households.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import (
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
from storage.schema import (
    absence,
    attendance_report,
    complaint,
    desa,
    household,
    kecamatan,
    member,
    payout_round,
    person,
    posyandu,
    queue_slot,
    session_change,
    staff,
)

_CHUNK = 5_000


@dataclass(frozen=True)
class LinkedPerson:
    """A household member's Telegram account, with what the planner needs about the household."""

    person_id: int
    household_id: int
    program_number: str
    posyandu_id: int
    kecamatan_id: int
    reachable: bool


@dataclass(frozen=True)
class HouseholdLine:
    """A household as a companion sees it in a list."""

    id: int
    program_number: str
    head_name: str
    posyandu_id: int


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


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


class PlanningRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def linked_people(self, kecamatan_id: int | None = None) -> list[LinkedPerson]:
        """Telegram users linked to active households (of one kecamatan, when given)."""
        query = (
            select(
                person.c.id,
                person.c.household_id,
                household.c.program_number,
                household.c.posyandu_id,
                desa.c.kecamatan_id,
                person.c.reachable,
            )
            .join(household, household.c.id == person.c.household_id)
            .join(desa, desa.c.id == household.c.desa_id)
            .where(person.c.role == Role.HOUSEHOLD.value, household.c.active.is_(True))
            .order_by(person.c.id)
        )
        if kecamatan_id is not None:
            query = query.where(desa.c.kecamatan_id == kecamatan_id)
        return [LinkedPerson(*row) for row in await self._connection.execute(query)]

    async def members_of(self, household_ids: Iterable[int]) -> dict[int, list[Member]]:
        found: dict[int, list[Member]] = defaultdict(list)
        for chunk in _chunks(sorted(set(household_ids))):
            query = select(member).where(member.c.household_id.in_(chunk)).order_by(member.c.id)
            for r in await self._connection.execute(query):
                found[r.household_id].append(
                    Member(
                        id=r.id,
                        household_id=r.household_id,
                        name=r.name,
                        kind=MemberKind(r.kind),
                        birth_date=r.birth_date,
                        due_date=r.due_date,
                    )
                )
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

    async def households_with_visit(self, household_ids: Sequence[int], day: date) -> set[int]:
        """Households with an attendance report, or an answer "we did not go", for that day."""
        found: set[int] = set()
        for chunk in _chunks(sorted(set(household_ids))):
            reported = (
                select(member.c.household_id)
                .join(attendance_report, attendance_report.c.member_id == member.c.id)
                .where(attendance_report.c.session_date == day, member.c.household_id.in_(chunk))
            )
            answered = select(absence.c.household_id).where(
                absence.c.session_date == day, absence.c.household_id.in_(chunk)
            )
            found.update((await self._connection.execute(reported)).scalars())
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
        """(staff id, posyandu id) of active health workers tied to a posyandu."""
        query = select(staff.c.id, staff.c.posyandu_id).where(
            staff.c.role == Role.HEALTH_WORKER.value,
            staff.c.active.is_(True),
            staff.c.posyandu_id.is_not(None),
        )
        return [(s, p) for s, p in await self._connection.execute(query.order_by(staff.c.id))]

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
