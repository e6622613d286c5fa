"""Moving or cancelling one posyandu session (a coordinator or operator decides it).

The change is stored, the session's pending reminders are cancelled (the planner plans new ones
for the new day), and every linked household the session concerns gets one notice.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from bot.domain.models import Recipient, SessionChangeOutcome
from bot.domain.sessions import sessions_between
from bot.services.attendance import is_followed
from bot.texts.notices import POSYANDU_CANCELLED, POSYANDU_MOVED
from storage.notifications import QueuedMessage
from storage.store import Store


async def change_session(
    store: Store,
    posyandu_code: str,
    original: date,
    new: date | None,
    *,
    actor: str,
    now: datetime,
    zone: ZoneInfo,
    kecamatan_id: int | None = None,
) -> tuple[SessionChangeOutcome, int]:
    """Move the session of `original` to `new` (None cancels it); returns the households told.

    `kecamatan_id` limits the change to one kecamatan (a coordinator or operator in the chat).
    """
    today = now.astimezone(zone).date()
    if original < today or (new is not None and new < today):
        return SessionChangeOutcome.IN_THE_PAST, 0
    async with store.write() as repo:
        posyandu = await repo.geography.get_posyandu(posyandu_code.strip())
        if posyandu is None:
            return SessionChangeOutcome.UNKNOWN_POSYANDU, 0
        if kecamatan_id is not None and posyandu.kecamatan_id != kecamatan_id:
            return SessionChangeOutcome.NOT_ALLOWED, 0
        if not sessions_between(posyandu.schedule, {}, original, original):
            return SessionChangeOutcome.NOT_A_SESSION, 0
        await repo.planning.change_session(posyandu.id, original, new, actor, now)
        await repo.notifications.cancel_pending(dedup_prefix=f"posyandu:{posyandu.id}:{original}:")
        people = [
            p
            for p in await repo.planning.linked_people(posyandu.kecamatan_id)
            if p.posyandu_id == posyandu.id and p.reachable
        ]
        members = await repo.planning.members_of({p.household_id for p in people})
        concerned = [
            p for p in people if any(is_followed(m, original) for m in members[p.household_id])
        ]
        last_day = new or original
        expires = datetime.combine(last_day, time(12, 0), tzinfo=zone)
        params: dict[str, object] = {
            "posyandu": posyandu.name,
            "old_date": original.isoformat(),
            "expires_at": expires.isoformat(),
        }
        if new is not None:
            params["new_date"] = new.isoformat()
        template = POSYANDU_MOVED if new is not None else POSYANDU_CANCELLED
        change = new.isoformat() if new is not None else "cancelled"
        notices = [
            QueuedMessage(
                Recipient(person_id=p.person_id),
                template,
                params,
                now,
                f"session-change:{posyandu.id}:{original}:{change}:{p.person_id}",
            )
            for p in concerned
        ]
        await repo.notifications.queue_many(notices, now)
        await repo.audit.record(
            now,
            actor,
            "change_session",
            "posyandu",
            posyandu.code,
            {"original": original.isoformat(), "new": change},
        )
    return SessionChangeOutcome.CHANGED, len({p.household_id for p in concerned})
