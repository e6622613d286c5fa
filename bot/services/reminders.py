"""A household account mutes its optional reminders, or turns them on again (/pengingat).

Optional are the posyandu reminders of the evening before and of the morning, and the "did you
go?" question after a session (`bot.domain.notices.OPTIONAL_REMINDERS`). Never muted: schedule
changes, payout reminders and notices, and the answers about the household's own complaints,
reports and data. The choice is per Telegram account: one family member muting leaves the
others' reminders as they are.

Muting cancels the account's optional reminders still queued (`last_error` "muted"), and the
planner plans none while it is muted; a row it queued in between is cancelled when the
dispatcher claims it. Turning them on again removes the cancelled ones that are still ahead, so
the planner plans them afresh at its next pass (the change to `person` leaves a mark for it),
from the registry as it is then, and none due before that moment. Both are audited, without any
text.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from bot.domain.models import Person, Role
from bot.domain.notices import OPTIONAL_REMINDERS
from storage.notifications import MUTED
from storage.store import Store


class ReminderChange(StrEnum):
    MUTED = "muted"
    RESUMED = "resumed"
    ALREADY_MUTED = "already_muted"
    ALREADY_ON = "already_on"
    NOT_A_HOUSEHOLD = "not_a_household"  # staff, or an account not linked to a household


async def mute_reminders(store: Store, person: Person, *, now: datetime) -> ReminderChange:
    """Mute this household account's optional reminders from now."""
    if not _is_household(person):
        return ReminderChange.NOT_A_HOUSEHOLD
    if person.reminders_muted_at is not None:
        return ReminderChange.ALREADY_MUTED
    async with store.write() as repo:
        if not await repo.people.mute_reminders(person.id, now):
            return ReminderChange.ALREADY_MUTED
        cancelled = await repo.notifications.cancel_pending(
            person_id=person.id, template_keys=OPTIONAL_REMINDERS, reason=MUTED
        )
        await repo.audit.record(
            now,
            f"person:{person.id}",
            "reminders_muted",
            "person",
            str(person.id),
            {"cancelled": cancelled},
        )
    return ReminderChange.MUTED


async def resume_reminders(store: Store, person: Person, *, now: datetime) -> ReminderChange:
    """Turn this household account's optional reminders on again, from now on."""
    if not _is_household(person):
        return ReminderChange.NOT_A_HOUSEHOLD
    if person.reminders_muted_at is None:
        return ReminderChange.ALREADY_ON
    async with store.write() as repo:
        if not await repo.people.resume_reminders(person.id, now):
            return ReminderChange.ALREADY_ON
        freed = await repo.notifications.forget_muted(person.id, due_from=now)
        await repo.audit.record(
            now,
            f"person:{person.id}",
            "reminders_resumed",
            "person",
            str(person.id),
            {"replanned": freed},
        )
    return ReminderChange.RESUMED


def _is_household(person: Person) -> bool:
    return person.role is Role.HOUSEHOLD and person.household_id is not None
