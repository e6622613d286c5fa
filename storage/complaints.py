"""Complaints (keluhan) and their history of events."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import (
    AttachmentKind,
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintStatus,
    EscalationLevel,
    Role,
)
from storage.schema import complaint, complaint_event, person

# Staff acting on a complaint: whoever did one of these last (since it last went up) holds it.
HANDLING_KINDS = ("taken", "reply", "resolved")


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
        voice_file_id: str | None = None,
        assisted_role: Role | None = None,
    ) -> Complaint:
        """A new complaint; `assisted_role`: filed for the household by staff (`filed_by`)."""
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
                voice_file_id=voice_file_id,
                assisted_by=None if assisted_role is None else filed_by,
                assisted_role=None if assisted_role is None else assisted_role.value,
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
        file_id: str | None = None,
        file_kind: AttachmentKind | None = None,
    ) -> int:
        """Add an entry to the complaint's history; returns its id."""
        return int(
            (
                await self._connection.execute(
                    complaint_event.insert()
                    .values(
                        complaint_id=complaint_id,
                        kind=kind,
                        at=at,
                        actor_person_id=actor_person_id,
                        status=status.value if status else None,
                        level=level.value if level else None,
                        note=note,
                        file_id=file_id,
                        file_kind=file_kind.value if file_kind else None,
                    )
                    .returning(complaint_event.c.id)
                )
            ).scalar_one()
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
        self, household_ids: list[int] | None, levels: list[EscalationLevel]
    ) -> list[Complaint]:
        """Unresolved complaints of these households (None: of every household; the district's
        are too many to bind one by one) at these levels, earliest deadline first."""
        query = (
            select(complaint)
            .where(
                true() if household_ids is None else complaint.c.household_id.in_(household_ids),
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

    async def timeline(
        self, complaint_ids: Collection[int], kinds: Collection[str]
    ) -> dict[int, list[ComplaintEvent]]:
        """The events of these kinds of each of these complaints, oldest first."""
        if not complaint_ids:
            return {}
        query = (
            select(complaint_event)
            .where(
                complaint_event.c.complaint_id.in_(list(complaint_ids)),
                complaint_event.c.kind.in_(list(kinds)),
            )
            .order_by(complaint_event.c.at, complaint_event.c.id)
        )
        found: dict[int, list[ComplaintEvent]] = {}
        for row in await self._connection.execute(query):
            event = ComplaintEvent.model_validate(row, from_attributes=True)
            found.setdefault(event.complaint_id, []).append(event)
        return found

    async def last_handler(self, complaint_id: int) -> int | None:
        """The staff member who last took, answered or resolved this complaint since it last went
        up a level (None when nobody has yet)."""
        went_up = (
            select(complaint_event.c.at)
            .where(
                complaint_event.c.complaint_id == complaint_id,
                complaint_event.c.kind == "escalated",
            )
            .order_by(complaint_event.c.at.desc())
            .limit(1)
            .scalar_subquery()
        )
        query = (
            select(person.c.staff_id)
            .select_from(complaint_event)
            .join(person, person.c.id == complaint_event.c.actor_person_id)
            .where(
                complaint_event.c.complaint_id == complaint_id,
                complaint_event.c.kind.in_(HANDLING_KINDS),
                person.c.staff_id.is_not(None),
                complaint_event.c.at >= func.coalesce(went_up, complaint_event.c.at),
            )
            .order_by(complaint_event.c.at.desc(), complaint_event.c.id.desc())
            .limit(1)
        )
        found = (await self._connection.execute(query)).scalar()
        return None if found is None else int(found)
