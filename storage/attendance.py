"""Attendance reports: who went to which posyandu session, and how sure we are of it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import AbsenceReason, AttendanceReport, ReportStatus
from storage.database import upsert
from storage.schema import absence, attendance_report


def _report(row: object) -> AttendanceReport:
    return AttendanceReport.model_validate(row, from_attributes=True)


class AttendanceRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add_reported(
        self,
        member_id: int,
        posyandu_id: int,
        session_date: date,
        proof_file_id: str | None,
        reported_by: int,
        now: datetime,
    ) -> AttendanceReport | None:
        """Save a household's report; None when this member, day and posyandu already have one."""
        statement = (
            upsert(self._connection, attendance_report)
            .values(
                member_id=member_id,
                posyandu_id=posyandu_id,
                session_date=session_date,
                status=ReportStatus.REPORTED.value,
                proof_file_id=proof_file_id,
                reported_by=reported_by,
                reported_at=now,
            )
            .on_conflict_do_nothing(
                index_elements=[
                    attendance_report.c.member_id,
                    attendance_report.c.session_date,
                    attendance_report.c.posyandu_id,
                ]
            )
            .returning(attendance_report)
        )
        row = (await self._connection.execute(statement)).first()
        return None if row is None else _report(row)

    async def for_members(self, member_ids: list[int]) -> list[AttendanceReport]:
        query = (
            select(attendance_report)
            .where(attendance_report.c.member_id.in_(member_ids))
            .order_by(attendance_report.c.session_date, attendance_report.c.id)
        )
        return [_report(row) for row in await self._connection.execute(query)]

    async def add_absence(
        self,
        household_id: int,
        posyandu_id: int,
        session_date: date,
        reason: AbsenceReason,
        reported_by: int,
        now: datetime,
    ) -> bool:
        """Record "we did not go"; False when the household already answered for that day."""
        statement = (
            upsert(self._connection, absence)
            .values(
                household_id=household_id,
                posyandu_id=posyandu_id,
                session_date=session_date,
                reason=reason.value,
                reported_by=reported_by,
                reported_at=now,
            )
            .on_conflict_do_nothing(
                index_elements=[
                    absence.c.household_id,
                    absence.c.posyandu_id,
                    absence.c.session_date,
                ]
            )
            .returning(absence.c.id)
        )
        return (await self._connection.execute(statement)).first() is not None
