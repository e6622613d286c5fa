"""Taking a staff member or a household out of service (and back): `sapa staff deactivate`,
`sapa staff activate`, `sapa household deactivate`, `sapa household activate`.

A deactivated account is refused at its next update (the chat's gate reads the registry on every
update), and what was queued for it is cancelled, never sent. Each change is audited with who
made it and why.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from storage.store import Repositories, Store


class Change(StrEnum):
    CHANGED = "changed"
    UNCHANGED = "unchanged"  # it already was so
    NOT_FOUND = "not_found"


async def set_staff_active(
    store: Store, code: str, active: bool, /, *, reason: str, actor: str, now: datetime
) -> tuple[Change, int]:
    """(outcome, queued messages cancelled) for the staff record with this code."""
    async with store.write() as repo:
        staff = await repo.staff.get_by_code(code.strip())
        if staff is None:
            return Change.NOT_FOUND, 0
        if staff.active == active:
            return Change.UNCHANGED, 0
        await repo.staff.set_active(staff.id, active)
        cancelled = 0
        if not active:
            cancelled = await repo.notifications.cancel_pending(staff_id=staff.id)
            person = await repo.people.by_staff_id(staff.id)
            if person is not None:
                cancelled += await repo.notifications.cancel_pending(person_id=person.id)
        await _audit(repo, "staff", staff.code, active, reason, actor, now, cancelled)
    return Change.CHANGED, cancelled


async def set_household_active(
    store: Store, program_number: str, active: bool, /, *, reason: str, actor: str, now: datetime
) -> tuple[Change, int]:
    """(outcome, queued messages cancelled) for the household with this programme number."""
    async with store.write() as repo:
        household = await repo.households.get_by_program_number(program_number.strip())
        if household is None:
            return Change.NOT_FOUND, 0
        if household.active == active:
            return Change.UNCHANGED, 0
        await repo.households.set_active(household.id, active, now)
        cancelled = 0
        if not active:
            for person in await repo.people.linked_to_household(household.id):
                cancelled += await repo.notifications.cancel_pending(person_id=person.id)
        await _audit(
            repo, "household", household.program_number, active, reason, actor, now, cancelled
        )
    return Change.CHANGED, cancelled


async def _audit(
    repo: Repositories,
    entity: str,
    key: str,
    active: bool,
    reason: str,
    actor: str,
    now: datetime,
    cancelled: int,
) -> None:
    action = "activate" if active else "deactivate"
    detail = {"reason": reason, "cancelled_messages": cancelled}
    await repo.audit.record(now, actor, action, entity, key, detail)
