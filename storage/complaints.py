"""Complaints (keluhan) and their history of events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import (
    Complaint,
    ComplaintCategory,
    ComplaintStatus,
    EscalationLevel,
)
from storage.schema import complaint, complaint_event


def _complaint(row: object) -> Complaint:
    return Complaint.model_validate(row, from_attributes=True)


class ComplaintRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(
        self,
        *,
        ticket_code: str,
        household_id: int,
        filed_by: int,
        category: ComplaintCategory,
        text: str,
        photo_file_id: str | None,
        level: EscalationLevel,
        deadline_at: datetime,
        now: datetime,
        about_staff_id: int | None = None,
    ) -> Complaint:
        statement = (
            complaint.insert()
            .values(
                ticket_code=ticket_code,
                household_id=household_id,
                filed_by=filed_by,
                category=category.value,
                text=text,
                photo_file_id=photo_file_id,
                status=ComplaintStatus.OPEN.value,
                level=level.value,
                deadline_at=deadline_at,
                created_at=now,
                updated_at=now,
                about_staff_id=about_staff_id,
            )
            .returning(complaint)
        )
        return _complaint((await self._connection.execute(statement)).one())

    async def add_event(
        self,
        complaint_id: int,
        kind: str,
        at: datetime,
        *,
        actor_person_id: int | None = None,
        status: ComplaintStatus | None = None,
        level: EscalationLevel | None = None,
        note: str | None = None,
    ) -> None:
        await self._connection.execute(
            complaint_event.insert().values(
                complaint_id=complaint_id,
                kind=kind,
                at=at,
                actor_person_id=actor_person_id,
                status=status.value if status else None,
                level=level.value if level else None,
                note=note,
            )
        )

    async def get(self, complaint_id: int) -> Complaint | None:
        row = (
            await self._connection.execute(select(complaint).where(complaint.c.id == complaint_id))
        ).first()
        return None if row is None else _complaint(row)

    async def for_household(self, household_id: int, limit: int = 10) -> list[Complaint]:
        """The household's complaints, most recently changed first."""
        query = (
            select(complaint)
            .where(complaint.c.household_id == household_id)
            .order_by(complaint.c.updated_at.desc(), complaint.c.id.desc())
            .limit(limit)
        )
        return [_complaint(row) for row in await self._connection.execute(query)]

    async def set_status(self, complaint_id: int, status: ComplaintStatus, now: datetime) -> None:
        values: dict[str, object] = {"status": status.value, "updated_at": now}
        if status in (ComplaintStatus.RESOLVED, ComplaintStatus.CLOSED):
            values["resolved_at"] = now
        await self._connection.execute(
            update(complaint).where(complaint.c.id == complaint_id).values(**values)
        )

    async def overdue(self, now: datetime) -> list[Complaint]:
        """Unresolved complaints below the last level whose deadline has passed, oldest first."""
        query = (
            select(complaint)
            .where(
                complaint.c.status.in_(
                    [ComplaintStatus.OPEN.value, ComplaintStatus.IN_PROGRESS.value]
                ),
                complaint.c.level != EscalationLevel.DISTRICT.value,
                complaint.c.deadline_at <= now,
            )
            .order_by(complaint.c.deadline_at, complaint.c.id)
        )
        return [_complaint(row) for row in await self._connection.execute(query)]

    async def escalate(
        self, complaint_id: int, level: EscalationLevel, deadline_at: datetime, now: datetime
    ) -> None:
        await self._connection.execute(
            update(complaint)
            .where(complaint.c.id == complaint_id)
            .values(level=level.value, deadline_at=deadline_at, updated_at=now)
        )

    async def reopen(self, complaint_id: int, deadline_at: datetime, now: datetime) -> None:
        await self._connection.execute(
            update(complaint)
            .where(complaint.c.id == complaint_id)
            .values(
                status=ComplaintStatus.OPEN.value,
                deadline_at=deadline_at,
                updated_at=now,
                resolved_at=None,
            )
        )

    async def waiting_for(
        self, household_ids: list[int], levels: list[EscalationLevel]
    ) -> list[Complaint]:
        """Unresolved complaints of these households at these levels, earliest deadline first."""
        query = (
            select(complaint)
            .where(
                complaint.c.household_id.in_(household_ids),
                complaint.c.level.in_([level.value for level in levels]),
                complaint.c.status.in_(
                    [ComplaintStatus.OPEN.value, ComplaintStatus.IN_PROGRESS.value]
                ),
            )
            .order_by(complaint.c.deadline_at, complaint.c.id)
        )
        return [_complaint(row) for row in await self._connection.execute(query)]

    async def events(self, complaint_id: int) -> list[dict[str, object]]:
        query = (
            select(complaint_event)
            .where(complaint_event.c.complaint_id == complaint_id)
            .order_by(complaint_event.c.at, complaint_event.c.id)
        )
        return [dict(row._mapping) for row in await self._connection.execute(query)]
