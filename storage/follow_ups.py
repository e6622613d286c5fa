"""Follow-ups: a household that missed its posyandu (no report, or its answer "we did not go")
or that the bot cannot reach, on its companion's list until she closes it with an outcome."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.follow_ups import (
    ClosedFollowUp,
    FollowUpKind,
    FollowUpLine,
    FollowUpOutcome,
    five_years_before,
)
from bot.domain.models import AbsenceReason, MemberKind, ReportStatus
from bot.domain.recap import PUERPERIUM_DAYS
from storage.database import excluded, upsert
from storage.recap import scope_desa_ids
from storage.schema import absence, attendance_report, follow_up, household, member, person


def _line(row: Any) -> FollowUpLine:
    return FollowUpLine(
        row.id,
        row.household_id,
        row.program_number,
        row.head_name,
        FollowUpKind(row.kind),
        row.about_date,
        AbsenceReason(row.reason) if row.reason else None,
        row.due_on,
        row.companion_id,
        FollowUpOutcome(row.outcome) if row.outcome else None,
    )


def _still_open() -> Any:
    """Open, and not made moot by a visit the household reported after all (not rejected)."""
    reported = (
        select(attendance_report.c.id)
        .join(member, member.c.id == attendance_report.c.member_id)
        .where(
            member.c.household_id == follow_up.c.household_id,
            attendance_report.c.session_date == follow_up.c.about_date,
            attendance_report.c.status != ReportStatus.REJECTED.value,
        )
    )
    return and_(
        follow_up.c.closed_at.is_(None),
        or_(follow_up.c.kind != FollowUpKind.ABSENCE.value, ~exists(reported)),
    )


def _lines() -> Any:
    return select(
        follow_up.c.id,
        follow_up.c.household_id,
        household.c.program_number,
        household.c.head_name,
        follow_up.c.kind,
        follow_up.c.about_date,
        follow_up.c.reason,
        follow_up.c.due_on,
        household.c.companion_id,
        follow_up.c.outcome,
    ).join(household, household.c.id == follow_up.c.household_id)


class FollowUpRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def open_absence(
        self,
        household_id: int,
        companion_id: int | None,
        session_date: date,
        reason: AbsenceReason | None,
        now: datetime,
        due_on: date,
    ) -> None:
        """A follow-up for a missed session; an open one gets the household's reason."""
        statement = upsert(self._connection, follow_up).values(
            household_id=household_id,
            kind=FollowUpKind.ABSENCE.value,
            about_date=session_date,
            reason=reason.value if reason else None,
            companion_id=companion_id,
            created_at=now,
            due_on=due_on,
        )
        statement = statement.on_conflict_do_update(
            index_elements=[follow_up.c.household_id, follow_up.c.kind, follow_up.c.about_date],
            set_={"reason": excluded(statement).reason},
            where=follow_up.c.closed_at.is_(None),
        )
        await self._connection.execute(statement)

    async def open_missed(
        self, posyandu_ids: Sequence[int], session_date: date, now: datetime, due_on: date
    ) -> int:
        """Follow-ups for the active households of these posyandu that had someone to bring to
        the session of `session_date` and neither reported a visit (not rejected) nor answered;
        one statement. Households without Telegram are included: they need a visit most."""
        if not posyandu_ids:
            return 0
        born_after = five_years_before(session_date)
        followed = or_(
            and_(
                member.c.kind == MemberKind.CHILD.value,
                member.c.birth_date > born_after,
                member.c.birth_date <= session_date,
            ),
            and_(
                member.c.kind == MemberKind.PREGNANT.value,
                or_(
                    member.c.due_date.is_(None),
                    member.c.due_date >= session_date - timedelta(days=PUERPERIUM_DAYS),
                ),
            ),
        )
        reported = (
            select(attendance_report.c.id)
            .join(member, member.c.id == attendance_report.c.member_id)
            .where(
                member.c.household_id == household.c.id,
                attendance_report.c.session_date == session_date,
                attendance_report.c.status != ReportStatus.REJECTED.value,
            )
        )
        answered = select(absence.c.id).where(
            absence.c.household_id == household.c.id, absence.c.session_date == session_date
        )
        expected = select(member.c.id).where(member.c.household_id == household.c.id, followed)
        rows = select(
            household.c.id,
            literal(FollowUpKind.ABSENCE.value),
            literal(session_date),
            household.c.companion_id,
            literal(now, follow_up.c.created_at.type),
            literal(due_on),
        ).where(
            household.c.active.is_(True),
            household.c.posyandu_id.in_(sorted(set(posyandu_ids))),
            exists(expected),
            ~exists(reported),
            ~exists(answered),
        )
        return await self._insert_new(rows)

    async def open_unreachable(self, day: date, now: datetime, due_on: date) -> int:
        """A follow-up for each active household whose linked Telegram accounts all block the
        bot, unless one is open already; one statement."""
        linked = select(person.c.id).where(person.c.household_id == household.c.id)
        reachable = linked.where(person.c.reachable.is_(True))
        already = select(follow_up.c.id).where(
            follow_up.c.household_id == household.c.id,
            follow_up.c.kind == FollowUpKind.UNREACHABLE.value,
            follow_up.c.closed_at.is_(None),
        )
        rows = select(
            household.c.id,
            literal(FollowUpKind.UNREACHABLE.value),
            literal(day),
            household.c.companion_id,
            literal(now, follow_up.c.created_at.type),
            literal(due_on),
        ).where(household.c.active.is_(True), exists(linked), ~exists(reachable), ~exists(already))
        return await self._insert_new(rows)

    async def _insert_new(self, rows: Select[Any]) -> int:
        """Insert the follow-ups `rows` selects (household, kind, day, companion, opened, due)
        that do not exist yet; how many were new."""
        statement = (
            upsert(self._connection, follow_up)
            .from_select(
                ["household_id", "kind", "about_date", "companion_id", "created_at", "due_on"],
                rows,
            )
            .on_conflict_do_nothing(
                index_elements=[follow_up.c.household_id, follow_up.c.kind, follow_up.c.about_date]
            )
        )
        result = await self._connection.execute(statement)
        return max(result.rowcount or 0, 0)

    async def open_for(self, household_ids: Sequence[int], limit: int) -> list[FollowUpLine]:
        """Open follow-ups of these households, the earliest due first."""
        if not household_ids:
            return []
        query = (
            _lines()
            .where(_still_open(), follow_up.c.household_id.in_(sorted(set(household_ids))))
            .order_by(follow_up.c.due_on, follow_up.c.id)
            .limit(limit)
        )
        return [_line(row) for row in await self._connection.execute(query)]

    async def get(self, follow_up_id: int) -> FollowUpLine | None:
        row = (
            await self._connection.execute(_lines().where(follow_up.c.id == follow_up_id))
        ).first()
        return None if row is None else _line(row)

    async def close(
        self,
        follow_up_id: int,
        outcome: FollowUpOutcome,
        note: str | None,
        person_id: int,
        now: datetime,
    ) -> bool:
        """Close an open follow-up; False when it was closed already (or does not exist)."""
        result = await self._connection.execute(
            update(follow_up)
            .where(follow_up.c.id == follow_up_id, follow_up.c.closed_at.is_(None))
            .values(outcome=outcome.value, note=note, closed_by=person_id, closed_at=now)
        )
        return bool(result.rowcount)

    async def counts(self, companion_ids: Sequence[int], today: date) -> dict[int, tuple[int, int]]:
        """(open, overdue) follow-ups by companion, for the households she serves now."""
        if not companion_ids:
            return {}
        overdue = func.count().filter(follow_up.c.due_on < today)
        query = (
            select(household.c.companion_id, func.count(), overdue)
            .join(household, household.c.id == follow_up.c.household_id)
            .where(_still_open(), household.c.companion_id.in_(sorted(set(companion_ids))))
            .group_by(household.c.companion_id)
        )
        return {row[0]: (int(row[1]), int(row[2])) for row in await self._connection.execute(query)}

    async def closed_between(
        self, kecamatan_id: int | None, start: datetime, end: datetime
    ) -> list[ClosedFollowUp]:
        """Follow-ups closed in [start, end) in the scope, with who held them when opened."""
        query = (
            select(follow_up.c.companion_id, follow_up.c.created_at, follow_up.c.closed_at)
            .join(household, household.c.id == follow_up.c.household_id)
            .where(
                follow_up.c.closed_at >= start,
                follow_up.c.closed_at < end,
                household.c.desa_id.in_(scope_desa_ids(kecamatan_id)),
            )
        )
        return [ClosedFollowUp(*row) for row in await self._connection.execute(query)]

    async def excused(
        self, kecamatan_id: int | None, first: date, last: date
    ) -> dict[int, list[date]]:
        """Session days the companion excused (outcome "excused"), by household."""
        query = (
            select(follow_up.c.household_id, follow_up.c.about_date)
            .join(household, household.c.id == follow_up.c.household_id)
            .where(
                follow_up.c.outcome == FollowUpOutcome.EXCUSED.value,
                follow_up.c.kind == FollowUpKind.ABSENCE.value,
                follow_up.c.about_date.between(first, last),
                household.c.desa_id.in_(scope_desa_ids(kecamatan_id)),
            )
        )
        found: dict[int, list[date]] = defaultdict(list)
        for household_id, day in await self._connection.execute(query):
            found[household_id].append(day)
        return found
