"""Aggregates for the coordinators' recap, over a kecamatan or the whole district.

One SQL query per figure, shaped for 100,000 households and 1,000,000 reports on both databases
(bench/recap.py; the indexes they use are added in migration 0005):
- the big counts (members followed, reports) take their scope as `IN (the scope's desa)`, also
  for the whole district, and group in the order of the index they walk: SQLite walks the index
  desa by desa and counts without sorting;
- the few rows of a month (complaints, escalations, overdue complaints, blocked accounts,
  messages that could not be delivered) look up their household (or staff member) one by one,
  instead of joining every household of the kecamatan (which PostgreSQL does by hashing them
  all);
- over the whole district complaints need no scope at all: every household has a desa (foreign
  keys).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import ComplaintStatus, EscalationLevel, MemberKind, Role
from bot.domain.recap import CompanionRow, ComplaintRow, FollowedWindow, ReportSources
from bot.domain.schedule import ScheduleRule, parse_schedule_rule
from storage.notifications import undelivered_ever
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
    schedule: ScheduleRule


def scope_desa_ids(kecamatan_id: int | None) -> Select[tuple[int]]:
    """The desa of the scope, for `IN`: SQLite then walks the household index desa by desa."""
    query = select(desa.c.id)
    if kecamatan_id is not None:
        query = query.where(desa.c.kecamatan_id == kecamatan_id)
    return query


def _posyandu_ids(kecamatan_id: int | None) -> Select[tuple[int]]:
    return select(posyandu.c.id).where(posyandu.c.desa_id.in_(scope_desa_ids(kecamatan_id)))


def _in_kecamatan(household_id: ColumnElement[int], kecamatan_id: int) -> ColumnElement[bool]:
    """The row's household is in the kecamatan: its desa, looked up by the household's primary
    key, among the kecamatan's desa (read once). For rows that are few, such as a month's
    complaints: the cost follows the rows, not the households (PostgreSQL would hash every
    household of the district to join them, and with the kecamatan looked up through a join
    per row it read the whole desa table per row: 10 ms for a kecamatan's month of complaints)."""
    desa_of = select(household.c.desa_id).where(household.c.id == household_id).scalar_subquery()
    return desa_of.in_(scope_desa_ids(kecamatan_id))


def _followed(window: FollowedWindow) -> ColumnElement[bool]:
    return or_(
        and_(
            member.c.kind == MemberKind.CHILD.value,
            member.c.birth_date > window.born_after,
            member.c.birth_date <= window.day,
        ),
        and_(
            member.c.kind == MemberKind.PREGNANT.value,
            or_(member.c.due_date.is_(None), member.c.due_date >= window.pregnant_due_after),
        ),
    )


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
        return [
            PlaceRow(*row[:4], parse_schedule_rule(row[4]))
            for row in await self._connection.execute(query)
        ]

    async def followed_members(
        self, kecamatan_id: int | None, windows: Sequence[FollowedWindow]
    ) -> dict[int, list[int]]:
        """Members the posyandu follows in each window, counted by their household's posyandu:
        one pass over the members of active households, however many windows."""
        counts: list[ColumnElement[int]]
        if len(windows) == 1:
            counts, members = [func.count()], _followed(windows[0])
        else:  # each window counts its own; the WHERE only leaves out whom none could take
            counts = [func.count().filter(_followed(window)) for window in windows]
            members = member.c.kind.in_((MemberKind.CHILD.value, MemberKind.PREGNANT.value))
        query = (
            select(household.c.posyandu_id, *counts)
            .select_from(household)
            .join(member, member.c.household_id == household.c.id)
            .where(
                household.c.active.is_(True),
                household.c.desa_id.in_(scope_desa_ids(kecamatan_id)),
                members,
            )
            # In the order of the household index (desa, active, posyandu): no sort in SQLite.
            .group_by(household.c.desa_id, household.c.posyandu_id)
        )
        found: dict[int, list[int]] = {}
        for posyandu_id, *in_windows in await self._connection.execute(query):
            before = found.get(posyandu_id, [0] * len(windows))
            found[posyandu_id] = [a + b for a, b in zip(before, in_windows, strict=True)]
        return found

    async def reports_by_posyandu_day(
        self, kecamatan_id: int | None, first: date, last: date
    ) -> dict[tuple[int, date], dict[str, int]]:
        """Attendance reports of sessions from `first` to `last`, by posyandu, session day and
        status."""
        query = (
            select(
                attendance_report.c.posyandu_id,
                attendance_report.c.session_date,
                attendance_report.c.status,
                func.count(),
            )
            .where(
                attendance_report.c.session_date.between(first, last),
                attendance_report.c.posyandu_id.in_(_posyandu_ids(kecamatan_id)),
            )
            # The order of the (posyandu_id, session_date, status) index: no sort in SQLite.
            .group_by(
                attendance_report.c.posyandu_id,
                attendance_report.c.session_date,
                attendance_report.c.status,
            )
        )
        found: dict[tuple[int, date], dict[str, int]] = defaultdict(dict)
        for posyandu_id, day, status, count in await self._connection.execute(query):
            found[(posyandu_id, day)][status] = count
        return found

    async def report_sources(
        self, kecamatan_id: int | None, first: date, last: date
    ) -> dict[int, ReportSources]:
        """Reports of sessions from `first` to `last`, by posyandu and by who made them: the
        household itself, or a companion or health worker for it (/hadiruntuk). Counted from
        the (posyandu, session day, assisted role, reporter) index alone (migration 0019)."""
        role = attendance_report.c.assisted_role
        own = and_(role.is_(None), attendance_report.c.reported_by.is_not(None))
        query = (
            select(
                attendance_report.c.posyandu_id,
                func.count().filter(own),
                func.count().filter(role == Role.COMPANION.value),
                func.count().filter(role == Role.HEALTH_WORKER.value),
            )
            .where(
                attendance_report.c.session_date.between(first, last),
                attendance_report.c.posyandu_id.in_(_posyandu_ids(kecamatan_id)),
            )
            .group_by(attendance_report.c.posyandu_id)
        )
        return {
            posyandu_id: ReportSources(int(own_count), int(companion), int(health_worker))
            for posyandu_id, own_count, companion, health_worker in await self._connection.execute(
                query
            )
        }

    async def complaints_by_filer(
        self, kecamatan_id: int | None, start: datetime, end: datetime
    ) -> dict[Role, int]:
        """Complaints filed in the month by who filed them: the household, or staff for it."""
        filer = func.coalesce(complaint.c.assisted_role, Role.HOUSEHOLD.value)
        query = (
            select(filer, func.count())
            .where(complaint.c.created_at >= start, complaint.c.created_at < end)
            .group_by(filer)
        )
        if kecamatan_id is not None:
            query = query.where(_in_kecamatan(complaint.c.household_id, kecamatan_id))
        return {Role(role): count for role, count in await self._connection.execute(query)}

    async def complaints_by_category_status(
        self, kecamatan_id: int | None, start: datetime, end: datetime
    ) -> dict[tuple[str, str], int]:
        query = (
            select(complaint.c.category, complaint.c.status, func.count())
            .where(complaint.c.created_at >= start, complaint.c.created_at < end)
            .group_by(complaint.c.category, complaint.c.status)
        )
        if kecamatan_id is not None:
            query = query.where(_in_kecamatan(complaint.c.household_id, kecamatan_id))
        return {(c, s): n for c, s, n in await self._connection.execute(query)}

    async def resolution_hours(
        self, kecamatan_id: int | None, start: datetime, end: datetime
    ) -> list[float]:
        """Hours from filing to resolution, for complaints resolved in the month."""
        query = select(complaint.c.created_at, complaint.c.resolved_at).where(
            complaint.c.resolved_at >= start, complaint.c.resolved_at < end
        )
        if kecamatan_id is not None:
            query = query.where(_in_kecamatan(complaint.c.household_id, kecamatan_id))
        rows = await self._connection.execute(query)
        return [(resolved - created).total_seconds() / 3600 for created, resolved in rows]

    async def escalations(self, kecamatan_id: int | None, start: datetime, end: datetime) -> int:
        """SLA breaches: complaints that went up a level during the month."""
        query = (
            select(func.count())
            .select_from(complaint_event)
            .where(
                complaint_event.c.kind == "escalated",
                complaint_event.c.at >= start,
                complaint_event.c.at < end,
            )
        )
        if kecamatan_id is not None:
            query = query.join(complaint, complaint.c.id == complaint_event.c.complaint_id).where(
                _in_kecamatan(complaint.c.household_id, kecamatan_id)
            )
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
        assisted: dict[int, int] = {}
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
            query = (
                select(attendance_report.c.assisted_by, func.count())
                .where(
                    attendance_report.c.assisted_by.in_(person_ids),
                    attendance_report.c.assisted_role == Role.COMPANION.value,
                    attendance_report.c.reported_at >= start,
                    attendance_report.c.reported_at < end,
                )
                .group_by(attendance_report.c.assisted_by)
            )
            assisted = {p: n for p, n in await self._connection.execute(query)}
        # Each overdue complaint's companion, looked up by primary key: PostgreSQL would hash
        # every household of the companions (tens of thousands) to join them.
        companion_of = (
            select(household.c.companion_id)
            .where(household.c.id == complaint.c.household_id)
            .scalar_subquery()
        )
        # Overdue: past its deadline at her level, or gone up from her level (escalated to the
        # coordinator) and still open there or at the district.
        went_up = (
            select(complaint_event.c.id)
            .where(
                complaint_event.c.complaint_id == complaint.c.id,
                complaint_event.c.kind == "escalated",
                complaint_event.c.level == EscalationLevel.COORDINATOR.value,
            )
            .exists()
        )
        overdue_complaints = (
            select(companion_of.label("companion_id"))
            .where(
                complaint.c.status.in_(
                    [ComplaintStatus.OPEN.value, ComplaintStatus.IN_PROGRESS.value]
                ),
                or_(
                    and_(
                        complaint.c.level == EscalationLevel.COMPANION.value,
                        complaint.c.deadline_at < now,
                    ),
                    and_(complaint.c.level != EscalationLevel.COMPANION.value, went_up),
                ),
            )
            .subquery()
        )
        overdue_query = select(overdue_complaints.c.companion_id, func.count()).group_by(
            overdue_complaints.c.companion_id
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
                visits_for_households=assisted.get(r.person_id, 0),
            )
            for r in rows
        ]

    async def complaint_rows(
        self, kecamatan_id: int | None, start: datetime, end: datetime
    ) -> list[ComplaintRow]:
        return await _complaint_rows(self._connection, kecamatan_id, start, end)

    async def undelivered_messages(
        self, kecamatan_id: int | None, start: datetime, end: datetime
    ) -> int:
        """Messages due in the month that could not be delivered (failed, or expired after
        failed attempts), to households of the kecamatan and its staff: a staff member's
        kecamatan, or their posyandu's. Few rows, each recipient looked up by primary key; those
        the retention job moved to the outbox's archive are counted too."""
        messages = undelivered_ever(start, end)
        query = select(func.count()).select_from(messages)
        if kecamatan_id is not None:
            account = person.alias("account")
            home = household.alias("home")
            home_desa = desa.alias("home_desa")
            member_of = staff.alias("member_of")
            workplace = posyandu.alias("workplace")
            workplace_desa = desa.alias("workplace_desa")
            query = (
                query.outerjoin(account, account.c.id == messages.c.person_id)
                .outerjoin(home, home.c.id == account.c.household_id)
                .outerjoin(home_desa, home_desa.c.id == home.c.desa_id)
                .outerjoin(
                    member_of,
                    member_of.c.id == func.coalesce(messages.c.staff_id, account.c.staff_id),
                )
                .outerjoin(workplace, workplace.c.id == member_of.c.posyandu_id)
                .outerjoin(workplace_desa, workplace_desa.c.id == workplace.c.desa_id)
                .where(
                    func.coalesce(
                        home_desa.c.kecamatan_id,
                        member_of.c.kecamatan_id,
                        workplace_desa.c.kecamatan_id,
                    )
                    == kecamatan_id
                )
            )
        return int((await self._connection.execute(query)).scalar_one())

    async def unreachable_households(self, kecamatan_id: int | None) -> int:
        """Households whose linked Telegram accounts have all blocked the bot."""
        other = person.alias("other")
        reachable_too = (
            select(other.c.id)
            .where(other.c.household_id == person.c.household_id, other.c.reachable.is_(True))
            .exists()
        )
        blocked = select(person.c.household_id).where(person.c.reachable.is_(False), ~reachable_too)
        query = select(func.count()).select_from(household).where(household.c.id.in_(blocked))
        if kecamatan_id is not None:
            query = query.where(household.c.desa_id.in_(scope_desa_ids(kecamatan_id)))
        return int((await self._connection.execute(query)).scalar_one())


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
            complaint.c.assisted_role,
        )
        .join(household, household.c.id == complaint.c.household_id)
        .join(desa, desa.c.id == household.c.desa_id)
        .where(complaint.c.created_at >= start, complaint.c.created_at < end)
        .order_by(complaint.c.created_at)
    )
    if kecamatan_id is not None:
        query = query.where(desa.c.kecamatan_id == kecamatan_id)
    return [
        ComplaintRow(
            row.ticket_code,
            row.program_number,
            row.name,
            row.category,
            row.status,
            row.level,
            row.created_at,
            row.deadline_at,
            row.resolved_at,
            Role(row.assisted_role or Role.HOUSEHOLD.value),
        )
        for row in await connection.execute(query)
    ]
