"""Aggregates for the coordinators' recap: one SQL query per figure, over a kecamatan or the
whole district, for one month. Indexes that keep these fast at 100,000 households and 1,000,000
reports are added in migration 0005."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import ComplaintStatus, EscalationLevel, Role
from storage.schema import (
    attendance_report,
    complaint,
    complaint_event,
    desa,
    household,
    kecamatan,
    member,
    person,
    posyandu,
    staff,
)


@dataclass(frozen=True)
class PlaceRow:
    posyandu_id: int
    desa_id: int
    desa: str
    kecamatan: str
    schedule: str


@dataclass(frozen=True)
class CompanionRow:
    staff_id: int
    code: str
    name: str
    last_active: datetime | None
    verifications: int
    complaints_handled: int
    overdue: int


class RecapRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def places(self, kecamatan_id: int | None) -> list[PlaceRow]:
        query = (
            select(posyandu.c.id, desa.c.id, desa.c.name, kecamatan.c.name, posyandu.c.schedule)
            .join(desa, desa.c.id == posyandu.c.desa_id)
            .join(kecamatan, kecamatan.c.id == desa.c.kecamatan_id)
            .order_by(kecamatan.c.name, desa.c.name)
        )
        if kecamatan_id is not None:
            query = query.where(desa.c.kecamatan_id == kecamatan_id)
        return [PlaceRow(*row) for row in await self._connection.execute(query)]

    async def followed_members(
        self, kecamatan_id: int | None, pregnant_due_after: date, born_after: date, day: date
    ) -> dict[int, int]:
        """Members the posyandu follows around `day`, counted by their household's posyandu."""
        followed = or_(
            and_(
                member.c.kind == "pregnant",
                or_(member.c.due_date.is_(None), member.c.due_date >= pregnant_due_after),
            ),
            and_(
                member.c.kind == "child",
                member.c.birth_date > born_after,
                member.c.birth_date <= day,
            ),
        )
        query = (
            select(household.c.posyandu_id, func.count())
            .select_from(member)
            .join(household, household.c.id == member.c.household_id)
            .join(desa, desa.c.id == household.c.desa_id)
            .where(household.c.active.is_(True), followed)
            .group_by(household.c.posyandu_id)
        )
        if kecamatan_id is not None:
            query = query.where(desa.c.kecamatan_id == kecamatan_id)
        return {p: n for p, n in await self._connection.execute(query)}

    async def reports_by_desa(
        self, kecamatan_id: int | None, first: date, last: date
    ) -> dict[int, dict[str, int]]:
        """Attendance reports of the month by desa (of the posyandu) and status."""
        query = (
            select(posyandu.c.desa_id, attendance_report.c.status, func.count())
            .select_from(attendance_report)
            .join(posyandu, posyandu.c.id == attendance_report.c.posyandu_id)
            .join(desa, desa.c.id == posyandu.c.desa_id)
            .where(attendance_report.c.session_date.between(first, last))
            .group_by(posyandu.c.desa_id, attendance_report.c.status)
        )
        if kecamatan_id is not None:
            query = query.where(desa.c.kecamatan_id == kecamatan_id)
        found: dict[int, dict[str, int]] = defaultdict(dict)
        for desa_id, status, count in await self._connection.execute(query):
            found[desa_id][status] = count
        return found

    async def complaints_by_category_status(
        self, kecamatan_id: int | None, start: datetime, end: datetime
    ) -> dict[tuple[str, str], int]:
        query = (
            select(complaint.c.category, complaint.c.status, func.count())
            .join(household, household.c.id == complaint.c.household_id)
            .join(desa, desa.c.id == household.c.desa_id)
            .where(complaint.c.created_at >= start, complaint.c.created_at < end)
            .group_by(complaint.c.category, complaint.c.status)
        )
        if kecamatan_id is not None:
            query = query.where(desa.c.kecamatan_id == kecamatan_id)
        return {(c, s): n for c, s, n in await self._connection.execute(query)}

    async def resolution_hours(
        self, kecamatan_id: int | None, start: datetime, end: datetime
    ) -> list[float]:
        """Hours from filing to resolution, for complaints resolved in the month."""
        query = (
            select(complaint.c.created_at, complaint.c.resolved_at)
            .join(household, household.c.id == complaint.c.household_id)
            .join(desa, desa.c.id == household.c.desa_id)
            .where(complaint.c.resolved_at >= start, complaint.c.resolved_at < end)
        )
        if kecamatan_id is not None:
            query = query.where(desa.c.kecamatan_id == kecamatan_id)
        rows = await self._connection.execute(query)
        return [(resolved - created).total_seconds() / 3600 for created, resolved in rows]

    async def escalations(self, kecamatan_id: int | None, start: datetime, end: datetime) -> int:
        """SLA breaches: complaints that went up a level during the month."""
        query = (
            select(func.count())
            .select_from(complaint_event)
            .join(complaint, complaint.c.id == complaint_event.c.complaint_id)
            .join(household, household.c.id == complaint.c.household_id)
            .join(desa, desa.c.id == household.c.desa_id)
            .where(
                complaint_event.c.kind == "escalated",
                complaint_event.c.at >= start,
                complaint_event.c.at < end,
            )
        )
        if kecamatan_id is not None:
            query = query.where(desa.c.kecamatan_id == kecamatan_id)
        return int((await self._connection.execute(query)).scalar_one())

    async def companions(
        self, kecamatan_id: int | None, start: datetime, end: datetime, now: datetime
    ) -> list[CompanionRow]:
        companions = (
            select(
                staff.c.id,
                staff.c.code,
                staff.c.name,
                person.c.id.label("person_id"),
                person.c.last_seen_at,
            )
            .outerjoin(person, person.c.staff_id == staff.c.id)
            .where(staff.c.role == Role.COMPANION.value, staff.c.active.is_(True))
        )
        if kecamatan_id is not None:
            companions = companions.where(staff.c.kecamatan_id == kecamatan_id)
        rows = (await self._connection.execute(companions.order_by(staff.c.code))).all()
        person_ids = [r.person_id for r in rows if r.person_id is not None]
        verified: dict[int, int] = {}
        handled: dict[int, int] = {}
        if person_ids:
            query = (
                select(attendance_report.c.verified_by, func.count())
                .where(
                    attendance_report.c.verified_by.in_(person_ids),
                    attendance_report.c.verified_at >= start,
                    attendance_report.c.verified_at < end,
                )
                .group_by(attendance_report.c.verified_by)
            )
            verified = {p: n for p, n in await self._connection.execute(query)}
            query = (
                select(
                    complaint_event.c.actor_person_id,
                    func.count(func.distinct(complaint_event.c.complaint_id)),
                )
                .where(
                    complaint_event.c.actor_person_id.in_(person_ids),
                    complaint_event.c.kind.in_(["reply", "resolved", "taken"]),
                    complaint_event.c.at >= start,
                    complaint_event.c.at < end,
                )
                .group_by(complaint_event.c.actor_person_id)
            )
            handled = {p: n for p, n in await self._connection.execute(query)}
        overdue_query = (
            select(household.c.companion_id, func.count())
            .select_from(complaint)
            .join(household, household.c.id == complaint.c.household_id)
            .where(
                complaint.c.level == EscalationLevel.COMPANION.value,
                complaint.c.status.in_(
                    [ComplaintStatus.OPEN.value, ComplaintStatus.IN_PROGRESS.value]
                ),
                complaint.c.deadline_at < now,
                household.c.companion_id.in_([r.id for r in rows]),
            )
            .group_by(household.c.companion_id)
        )
        overdue = {s: n for s, n in await self._connection.execute(overdue_query)} if rows else {}
        return [
            CompanionRow(
                r.id,
                r.code,
                r.name,
                r.last_seen_at,
                verified.get(r.person_id, 0),
                handled.get(r.person_id, 0),
                overdue.get(r.id, 0),
            )
            for r in rows
        ]

    async def complaint_rows(
        self, kecamatan_id: int | None, start: datetime, end: datetime
    ) -> list[ComplaintRow]:
        return await _complaint_rows(self._connection, kecamatan_id, start, end)

    async def unreachable_households(self, kecamatan_id: int | None) -> int:
        """Households whose linked Telegram accounts have all blocked the bot."""
        reachable = func.sum(case((person.c.reachable.is_(True), 1), else_=0))
        households = (
            select(person.c.household_id)
            .join(household, household.c.id == person.c.household_id)
            .join(desa, desa.c.id == household.c.desa_id)
            .group_by(person.c.household_id)
            .having(reachable == 0)
        )
        if kecamatan_id is not None:
            households = households.where(desa.c.kecamatan_id == kecamatan_id)
        query = select(func.count()).select_from(households.subquery())
        return int((await self._connection.execute(query)).scalar_one())


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


async def _complaint_rows(
    connection: AsyncConnection, kecamatan_id: int | None, start: datetime, end: datetime
) -> list[ComplaintRow]:
    """Complaints filed in the month, for the export (no complaint texts: they stay in the bot)."""
    query = (
        select(
            complaint.c.ticket_code,
            household.c.program_number,
            desa.c.name,
            complaint.c.category,
            complaint.c.status,
            complaint.c.level,
            complaint.c.created_at,
            complaint.c.deadline_at,
            complaint.c.resolved_at,
        )
        .join(household, household.c.id == complaint.c.household_id)
        .join(desa, desa.c.id == household.c.desa_id)
        .where(complaint.c.created_at >= start, complaint.c.created_at < end)
        .order_by(complaint.c.created_at)
    )
    if kecamatan_id is not None:
        query = query.where(desa.c.kecamatan_id == kecamatan_id)
    return [ComplaintRow(*row) for row in await connection.execute(query)]
