"""Health workers (bidan, kader) confirming who came to a posyandu session.

This is the cross-check the field study found missing: a report the household made and the
health worker confirmed becomes *cross-checked*; a confirmation without a household report
creates a verified attendance on the health worker's word.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain.models import Member, Person, Role
from bot.domain.sessions import last_session_before
from bot.services.attendance import is_followed, missed_question_prefix
from storage.store import Repositories, Store

log = logging.getLogger(__name__)

CONFIRM_WITHIN_DAYS = 7


@dataclass(frozen=True)
class ExpectedMember:
    member: Member
    program_number: str


@dataclass(frozen=True)
class SessionToConfirm:
    posyandu_id: int
    posyandu: str
    day: date
    expected: list[ExpectedMember]


async def session_to_confirm(
    repo: Repositories, person: Person, today: date
) -> SessionToConfirm | None:
    """The health worker's latest session (today, or within the last 7 days) and who was due."""
    if person.role is not Role.HEALTH_WORKER or person.staff_id is None:
        return None
    staff = await repo.staff.get(person.staff_id)
    if staff is None or staff.posyandu_id is None or not staff.active:
        return None
    posyandu = await repo.geography.posyandu_by_id(staff.posyandu_id)
    if posyandu is None:
        return None
    rule = posyandu.schedule
    changes = (await repo.planning.session_changes()).get(posyandu.id, {})
    session = last_session_before(rule, changes, today + timedelta(days=1))
    if session is None or session.day < today - timedelta(days=CONFIRM_WITHIN_DAYS):
        return None
    households = await repo.planning.households_at(posyandu.id)
    members = await repo.planning.members_of([h.id for h in households])
    expected = [
        ExpectedMember(m, h.program_number)
        for h in households
        for m in members.get(h.id, [])
        if is_followed(m, session.day)
    ]
    return SessionToConfirm(posyandu.id, posyandu.name, session.day, expected)


async def confirm(
    store: Store, person: Person, member_ids: set[int], *, today: date, now: datetime
) -> tuple[int, int] | None:
    """Confirm these members for the health worker's session; (cross-checked, created).

    Members outside the session's expected list are refused as a whole (None), and logged.
    """
    async with store.write() as repo:
        session = await session_to_confirm(repo, person, today)
        allowed = {e.member.id: e.member for e in session.expected} if session else {}
        if session is None or not member_ids or not member_ids <= set(allowed):
            log.warning("authorization_refused action=confirm_attendance person=%s", person.id)
            return None
        crossed = created = 0
        for member_id in sorted(member_ids):
            if await repo.attendance.confirm_by_health_worker(
                member_id, session.posyandu_id, session.day, person.id, now
            ):
                crossed += 1
            else:
                created += 1
            household_id = allowed[member_id].household_id
            await repo.notifications.cancel_pending(
                dedup_prefix=missed_question_prefix(household_id, session.day)
            )
        await repo.people.touch(person.id, now)
        await repo.audit.record(
            now,
            f"person:{person.id}",
            "confirm_attendance",
            "posyandu",
            str(session.posyandu_id),
            {"date": session.day.isoformat(), "members": len(member_ids)},
        )
    return crossed, created
