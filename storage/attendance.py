"""Attendance reports: who went to which posyandu session, and how sure we are of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import AbsenceReason, AttendanceReport, ReportStatus, Role
from storage.database import upsert
from storage.schema import absence, attendance_report, household, member, person, posyandu, staff


def _report(row: object) -> AttendanceReport:
    return AttendanceReport.model_validate(row, from_attributes=True)


def _same_visit(member_id: int, posyandu_id: int, session_date: date) -> list[ColumnElement[bool]]:
    """The row of one visit: a member, a posyandu, a session day (unique together)."""
    return [
        attendance_report.c.member_id == member_id,
        attendance_report.c.posyandu_id == posyandu_id,
        attendance_report.c.session_date == session_date,
    ]


def _assisted(reported_by: int, assisted_role: Role | None) -> dict[str, object]:
    """The columns saying who reported a visit for the household (none for its own report)."""
    if assisted_role is None:
        return {}
    return {"assisted_by": reported_by, "assisted_role": assisted_role.value}


def _insert_new_visit(connection: AsyncConnection, **values: object) -> Any:
    """Insert a visit's row unless that visit already has one (then nothing happens)."""
    return (
        upsert(connection, attendance_report)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=[
                attendance_report.c.member_id,
                attendance_report.c.session_date,
                attendance_report.c.posyandu_id,
            ]
        )
    )


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
        assisted_role: Role | None = None,
    ) -> AttendanceReport | None:
        """Save a household's report (made by its companion for it: `assisted_role`); None when
        this member, day and posyandu already have one."""
        statement = _insert_new_visit(
            self._connection,
            member_id=member_id,
            posyandu_id=posyandu_id,
            session_date=session_date,
            status=ReportStatus.REPORTED.value,
            proof_file_id=proof_file_id,
            reported_by=reported_by,
            reported_at=now,
            **_assisted(reported_by, assisted_role),
        ).returning(attendance_report)
        row = (await self._connection.execute(statement)).first()
        return None if row is None else _report(row)

    async def add_to_health_worker_confirmation(
        self,
        member_id: int,
        posyandu_id: int,
        session_date: date,
        proof_file_id: str | None,
        reported_by: int,
        now: datetime,
        assisted_role: Role | None = None,
    ) -> AttendanceReport | None:
        """The household (or its companion for it: `assisted_role`) reports a visit the health
        worker already confirmed on their own word:
        the attendance becomes cross-checked, with the household as reporter (and its proof
        photo, when it sent one). None when there is no such confirmation waiting for the
        household, for example because the household had already reported this visit."""
        values: dict[str, object] = {
            "status": ReportStatus.CROSS_CHECKED.value,
            "reported_by": reported_by,
            "reported_at": now,
            **_assisted(reported_by, assisted_role),
        }
        if proof_file_id is not None:
            values["proof_file_id"] = proof_file_id
        statement = (
            update(attendance_report)
            .where(
                *_same_visit(member_id, posyandu_id, session_date),
                attendance_report.c.status == ReportStatus.VERIFIED.value,
                attendance_report.c.reported_by.is_(None),
                attendance_report.c.confirmed_by_health_worker.is_not(None),
            )
            .values(**values)
            .returning(attendance_report)
        )
        row = (await self._connection.execute(statement)).first()
        return None if row is None else _report(row)

    async def add_health_worker_report(
        self,
        member_id: int,
        posyandu_id: int,
        session_date: date,
        proof_file_id: str | None,
        person_id: int,
        now: datetime,
    ) -> AttendanceReport | None:
        """A health worker reports a visit for a household (/hadiruntuk): a verified attendance
        on her word, as her tick at the session would make it, with her proof photo and her as
        the one who reported it for the household. None when that visit already has a row."""
        statement = _insert_new_visit(
            self._connection,
            member_id=member_id,
            posyandu_id=posyandu_id,
            session_date=session_date,
            status=ReportStatus.VERIFIED.value,
            proof_file_id=proof_file_id,
            reported_at=now,
            verified_by=person_id,
            verified_at=now,
            confirmed_by_health_worker=person_id,
            assisted_by=person_id,
            assisted_role=Role.HEALTH_WORKER.value,
        ).returning(attendance_report)
        row = (await self._connection.execute(statement)).first()
        return None if row is None else _report(row)

    async def confirm_by_health_worker(
        self, member_id: int, posyandu_id: int, session_date: date, person_id: int, now: datetime
    ) -> bool:
        """The health worker saw this member at the session: True when it cross-checks a report
        the household made; False when it creates a verified attendance of its own (or finds the
        one it created before, which stays as it is).

        Insert first, update on conflict: a household report saved at the same moment by another
        transaction is cross-checked, not lost to a unique-key error."""
        statement = _insert_new_visit(
            self._connection,
            member_id=member_id,
            posyandu_id=posyandu_id,
            session_date=session_date,
            status=ReportStatus.VERIFIED.value,
            reported_at=now,
            verified_by=person_id,
            verified_at=now,
            confirmed_by_health_worker=person_id,
        ).returning(attendance_report.c.id)
        created = (await self._connection.execute(statement)).first()
        if created is not None:
            return False
        crossed = await self._connection.execute(
            update(attendance_report)
            .where(
                *_same_visit(member_id, posyandu_id, session_date),
                attendance_report.c.reported_by.is_not(None),
            )
            .values(
                status=ReportStatus.CROSS_CHECKED.value,
                confirmed_by_health_worker=person_id,
                # what a health worker said before (a dispute, "not confirmed") is overtaken
                disputed_by=None,
                disputed_at=None,
                not_confirmed_at=None,
            )
            .returning(attendance_report.c.id)
        )
        return crossed.first() is not None

    async def dispute_by_health_worker(
        self, member_id: int, posyandu_id: int, session_date: date, person_id: int, now: datetime
    ) -> bool:
        """The health worker says this member did not come: the household's report, still
        waiting for verification and confirmed by no health worker, is marked disputed. False
        when there is no such report."""
        result = await self._connection.execute(
            update(attendance_report)
            .where(
                *_same_visit(member_id, posyandu_id, session_date),
                attendance_report.c.reported_by.is_not(None),
                attendance_report.c.status == ReportStatus.REPORTED.value,
                attendance_report.c.confirmed_by_health_worker.is_(None),
            )
            .values(disputed_by=person_id, disputed_at=now)
            .returning(attendance_report.c.id)
        )
        return result.first() is not None

    async def flag_not_confirmed(
        self, posyandu_id: int, session_date: date, now: datetime
    ) -> list[int]:
        """The health worker finished the session's list: the households' reports of it that no
        health worker confirmed or disputed (and no companion rejected) are flagged "not
        confirmed". The ids of the reports flagged now (one flagged before is left as it is)."""
        result = await self._connection.execute(
            update(attendance_report)
            .where(
                attendance_report.c.posyandu_id == posyandu_id,
                attendance_report.c.session_date == session_date,
                attendance_report.c.reported_by.is_not(None),
                attendance_report.c.status.in_(
                    [ReportStatus.REPORTED.value, ReportStatus.VERIFIED.value]
                ),
                attendance_report.c.confirmed_by_health_worker.is_(None),
                attendance_report.c.disputed_by.is_(None),
                attendance_report.c.not_confirmed_at.is_(None),
            )
            .values(not_confirmed_at=now)
            .returning(attendance_report.c.id)
        )
        return sorted(result.scalars())

    async def visits_at(self, posyandu_id: int, session_date: date) -> dict[int, SessionVisit]:
        """What is recorded of one session, by member: reported, confirmed, disputed."""
        query = select(
            attendance_report.c.member_id,
            attendance_report.c.status,
            attendance_report.c.reported_by.is_not(None),
            attendance_report.c.proof_file_id.is_not(None),
            attendance_report.c.confirmed_by_health_worker.is_not(None),
            attendance_report.c.disputed_by.is_not(None),
        ).where(
            attendance_report.c.posyandu_id == posyandu_id,
            attendance_report.c.session_date == session_date,
        )
        return {
            row[0]: SessionVisit(ReportStatus(row[1]), *(bool(v) for v in row[2:]))
            for row in await self._connection.execute(query)
        }

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

    async def households_answering(
        self, posyandu_id: int, session_date: date, reason: AbsenceReason
    ) -> int:
        """How many households gave this reason for not going to this session."""
        query = select(func.count()).where(
            absence.c.posyandu_id == posyandu_id,
            absence.c.session_date == session_date,
            absence.c.reason == reason.value,
        )
        return int((await self._connection.execute(query)).scalar_one())


@dataclass(frozen=True)
class SessionVisit:
    """One member's visit of a session as a health worker sees it."""

    status: ReportStatus
    reported: bool  # the household reported it
    proof: bool  # with a proof photo
    confirmed: bool  # a health worker confirmed it
    disputed: bool  # a health worker said the member did not come


@dataclass(frozen=True)
class ReportLine:
    """An attendance report as a verifier sees it."""

    id: int
    household_id: int
    program_number: str
    member: str
    session_date: date
    posyandu: str
    proof_file_id: str | None
    status: ReportStatus
    disputed: bool = False  # a health worker said the member did not come
    not_confirmed: bool = False  # a health worker finished the session without confirming it
    companion_id: int | None = None  # the household's companion
    posyandu_id: int = 0
    # Reported for the household by staff (/hadiruntuk): her person id, role and name.
    assisted_by: int | None = None
    assisted_role: Role | None = None
    assisted_name: str | None = None


_assistant = person.alias("assistant")
_assistant_staff = staff.alias("assistant_staff")


def _line_query() -> Select[Any]:
    return (
        select(
            attendance_report.c.id,
            household.c.id.label("household_id"),
            household.c.program_number,
            member.c.name,
            attendance_report.c.session_date,
            posyandu.c.name.label("posyandu"),
            attendance_report.c.proof_file_id,
            attendance_report.c.status,
            attendance_report.c.disputed_by,
            attendance_report.c.not_confirmed_at,
            household.c.companion_id,
            attendance_report.c.posyandu_id,
            attendance_report.c.assisted_by,
            attendance_report.c.assisted_role,
            _assistant_staff.c.name.label("assisted_name"),
        )
        .join(member, member.c.id == attendance_report.c.member_id)
        .join(household, household.c.id == member.c.household_id)
        .join(posyandu, posyandu.c.id == attendance_report.c.posyandu_id)
        .outerjoin(_assistant, _assistant.c.id == attendance_report.c.assisted_by)
        .outerjoin(_assistant_staff, _assistant_staff.c.id == _assistant.c.staff_id)
    )


class VerificationRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def waiting(
        self, household_ids: list[int], limit: int, *, not_assisted_by: int | None = None
    ) -> list[ReportLine]:
        """Reports of these households still waiting for verification, oldest first; without
        those `not_assisted_by` (a person) made for a household herself."""
        if not household_ids:
            return []
        query = (
            _line_query()
            .where(
                attendance_report.c.status == ReportStatus.REPORTED.value,
                household.c.id.in_(household_ids),
            )
            .order_by(attendance_report.c.session_date, attendance_report.c.id)
            .limit(limit)
        )
        if not_assisted_by is not None:
            query = query.where(
                or_(
                    attendance_report.c.assisted_by.is_(None),
                    attendance_report.c.assisted_by != not_assisted_by,
                )
            )
        return [_report_line(row) for row in await self._connection.execute(query)]

    async def waiting_assisted_by(self, person_id: int) -> int:
        """How many reports this person made for households still wait for verification."""
        query = select(func.count()).where(
            attendance_report.c.assisted_by == person_id,
            attendance_report.c.status == ReportStatus.REPORTED.value,
        )
        return int((await self._connection.execute(query)).scalar_one())

    async def lines(self, report_ids: list[int]) -> list[ReportLine]:
        """These reports, in session and member order."""
        if not report_ids:
            return []
        query = (
            _line_query()
            .where(attendance_report.c.id.in_(report_ids))
            .order_by(household.c.program_number, member.c.name, attendance_report.c.id)
        )
        return [_report_line(row) for row in await self._connection.execute(query)]

    async def get(self, report_id: int) -> ReportLine | None:
        row = (
            await self._connection.execute(_line_query().where(attendance_report.c.id == report_id))
        ).first()
        return None if row is None else _report_line(row)

    async def decide(
        self,
        report_id: int,
        status: ReportStatus,
        person_id: int,
        now: datetime,
        reason: str | None = None,
    ) -> bool:
        """Verify or reject a report still waiting; False when someone decided first."""
        result = await self._connection.execute(
            update(attendance_report)
            .where(
                attendance_report.c.id == report_id,
                attendance_report.c.status == ReportStatus.REPORTED.value,
            )
            .values(
                status=status.value, verified_by=person_id, verified_at=now, reject_reason=reason
            )
        )
        return bool(result.rowcount)


def _report_line(row: Any) -> ReportLine:
    return ReportLine(
        row.id,
        row.household_id,
        row.program_number,
        row.name,
        row.session_date,
        row.posyandu,
        row.proof_file_id,
        ReportStatus(row.status),
        row.disputed_by is not None,
        row.not_confirmed_at is not None,
        row.companion_id,
        row.posyandu_id,
        row.assisted_by,
        None if row.assisted_role is None else Role(row.assisted_role),
        row.assisted_name,
    )
