"""School children's monthly school attendance (`sapa import school-attendance`), and what that
import needs to find the members it names."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import MemberKind, SchoolMonth
from storage.bulk import among, bulk_upsert
from storage.schema import member, school_attendance

_COLUMNS = ("member_id", "month", "days_present", "days_school", "imported_at")


class SchoolAttendanceRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def for_members(
        self, member_ids: list[int], first_month: date, last_month: date
    ) -> list[SchoolMonth]:
        """The school months of these members from `first_month` to `last_month` (both
        included; any day of a month stands for the month), by member and month."""
        if not member_ids:
            return []
        query = (
            select(
                school_attendance.c.member_id,
                school_attendance.c.month,
                school_attendance.c.days_present,
                school_attendance.c.days_school,
            )
            .where(
                among(self._connection, school_attendance.c.member_id, sorted(set(member_ids))),
                school_attendance.c.month >= first_month.replace(day=1),
                school_attendance.c.month <= last_month.replace(day=1),
            )
            .order_by(school_attendance.c.member_id, school_attendance.c.month)
        )
        return [
            SchoolMonth(member_id=r[0], month=r[1], days_present=r[2], days_school=r[3])
            for r in await self._connection.execute(query)
        ]

    async def upsert(self, months: Sequence[SchoolMonth], now: datetime) -> None:
        """Write these member-months; a month already known for a member is replaced."""
        rows = [
            (m.member_id, m.month.replace(day=1), m.days_present, m.days_school, now)
            for m in months
        ]
        await bulk_upsert(
            self._connection,
            school_attendance,
            _COLUMNS,
            rows,
            key=["member_id", "month"],
            update=["days_present", "days_school", "imported_at"],
        )

    async def known(self, keys: Iterable[tuple[int, date]]) -> set[tuple[int, date]]:
        """Which of these (member id, month) pairs already have a row."""
        wanted = set(keys)
        if not wanted:
            return set()
        months = [month for _, month in wanted]
        query = select(school_attendance.c.member_id, school_attendance.c.month).where(
            among(self._connection, school_attendance.c.member_id, sorted({m for m, _ in wanted})),
            school_attendance.c.month.between(min(months), max(months)),
        )
        return {(m, month) for m, month in await self._connection.execute(query)} & wanted

    async def members_by_name(
        self, household_ids: Iterable[int]
    ) -> dict[tuple[int, str], tuple[int, MemberKind]]:
        """(member id, kind) of the members of these households, by (household id, name key)."""
        wanted = sorted(set(household_ids))
        if not wanted:
            return {}
        query = select(member.c.household_id, member.c.name_key, member.c.id, member.c.kind).where(
            among(self._connection, member.c.household_id, wanted)
        )
        return {
            (household_id, key): (member_id, MemberKind(kind))
            for household_id, key, member_id, kind in await self._connection.execute(query)
        }
