"""The facts the compliance register is judged from, for a kecamatan or the whole district:
the members of active households, the attendance reports of a stretch of days, the households'
answers "we did not go", and the schools' monthly figures. Three or four queries, however many
households; rows come back as plain values for `bot.services.register` to judge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import AbsenceReason, Member, MemberKind, ReportStatus, SchoolMonth
from bot.domain.register import RegisterHousehold
from storage.recap import scope_desa_ids
from storage.schema import (
    absence,
    attendance_report,
    desa,
    household,
    kecamatan,
    member,
    posyandu,
    school_attendance,
    staff,
)

# Rows are read by position and their codes looked up here: a row's attribute by name and an
# enum's call each cost a Python call, per row of a kecamatan's six months (bench/README.md).
_KINDS = {kind.value: kind for kind in MemberKind}
_STATUSES = {status.value: status for status in ReportStatus}
_REASONS = {reason.value: reason for reason in AbsenceReason}


@dataclass(frozen=True)
class ReportFact:
    member_id: int
    posyandu_id: int
    day: date
    status: ReportStatus
    by_household: bool  # the household (or someone for it) reported it
    by_health_worker: bool  # a health worker confirmed it


@dataclass(frozen=True)
class AbsenceFact:
    household_id: int
    day: date
    reason: AbsenceReason


class RegisterRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def households(self, kecamatan_id: int | None) -> list[RegisterHousehold]:
        """Active households of the scope, by kecamatan, desa and programme number."""
        query = (
            select(
                household.c.id,
                household.c.program_number,
                household.c.head_name,
                household.c.nik_masked,
                kecamatan.c.name,
                desa.c.name,
                household.c.posyandu_id,
                staff.c.name,
                posyandu.c.name,
            )
            .join(desa, desa.c.id == household.c.desa_id)
            .join(kecamatan, kecamatan.c.id == desa.c.kecamatan_id)
            .outerjoin(staff, staff.c.id == household.c.companion_id)
            .outerjoin(posyandu, posyandu.c.id == household.c.posyandu_id)
            .where(
                household.c.active.is_(True), household.c.desa_id.in_(scope_desa_ids(kecamatan_id))
            )
            .order_by(kecamatan.c.name, desa.c.name, household.c.program_number)
        )
        return [RegisterHousehold(*row) for row in await self._connection.execute(query)]

    async def members(self, kecamatan_id: int | None) -> list[Member]:
        """Members of the scope's active households, in record order."""
        query = (
            select(
                member.c.id,
                member.c.household_id,
                member.c.name,
                member.c.kind,
                member.c.birth_date,
                member.c.due_date,
            )
            .join(household, household.c.id == member.c.household_id)
            .where(
                household.c.active.is_(True), household.c.desa_id.in_(scope_desa_ids(kecamatan_id))
            )
            .order_by(member.c.id)
        )
        return [
            Member(
                id=member_id,
                household_id=household_id,
                name=name,
                kind=_KINDS[kind],
                birth_date=birth_date,
                due_date=due_date,
            )
            for member_id, household_id, name, kind, birth_date, due_date in (
                await self._connection.execute(query)
            )
        ]

    async def reports(self, kecamatan_id: int | None, first: date, last: date) -> list[ReportFact]:
        """Reports of visits from `first` to `last`, rejected ones left out (they never count)."""
        query = (
            select(
                attendance_report.c.member_id,
                attendance_report.c.posyandu_id,
                attendance_report.c.session_date,
                attendance_report.c.status,
                attendance_report.c.reported_by,
                attendance_report.c.confirmed_by_health_worker,
            )
            .join(member, member.c.id == attendance_report.c.member_id)
            .join(household, household.c.id == member.c.household_id)
            .where(
                attendance_report.c.session_date.between(first, last),
                attendance_report.c.status != ReportStatus.REJECTED.value,
                household.c.desa_id.in_(scope_desa_ids(kecamatan_id)),
            )
        )
        return [
            ReportFact(
                member_id,
                posyandu_id,
                day,
                _STATUSES[status],
                reported_by is not None,
                confirmed_by is not None,
            )
            for member_id, posyandu_id, day, status, reported_by, confirmed_by in (
                await self._connection.execute(query)
            )
        ]

    async def absences(
        self, kecamatan_id: int | None, first: date, last: date
    ) -> list[AbsenceFact]:
        query = (
            select(absence.c.household_id, absence.c.session_date, absence.c.reason)
            .join(household, household.c.id == absence.c.household_id)
            .where(
                absence.c.session_date.between(first, last),
                household.c.desa_id.in_(scope_desa_ids(kecamatan_id)),
            )
        )
        return [
            AbsenceFact(household_id, day, _REASONS[reason])
            for household_id, day, reason in await self._connection.execute(query)
        ]

    async def school_months(
        self, kecamatan_id: int | None, first: date, last: date
    ) -> list[SchoolMonth]:
        """The schools' figures for the scope's children, months from `first` to `last`."""
        query = (
            select(
                school_attendance.c.member_id,
                school_attendance.c.month,
                school_attendance.c.days_present,
                school_attendance.c.days_school,
            )
            .join(member, member.c.id == school_attendance.c.member_id)
            .join(household, household.c.id == member.c.household_id)
            .where(
                school_attendance.c.month.between(first, last),
                household.c.desa_id.in_(scope_desa_ids(kecamatan_id)),
            )
        )
        return [
            SchoolMonth(member_id=m, month=month, days_present=present, days_school=days)
            for m, month, present, days in await self._connection.execute(query)
        ]
