"""Follow-ups: a companion's list of households that missed their posyandu or cannot be reached,
each closed with what she did. Opened by the household's answer "we did not go"
(`bot.services.attendance.record_absence`) and by the planner the day after a session (no report,
no answer; households without Telegram too) and for households whose every account blocks the
bot; a visit reported late removes the open one. Closing is checked against the registry now:
the household's companion, or the coordinator of its kecamatan."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from enum import StrEnum

from bot.domain.follow_ups import (
    ABSENCE_DUE,
    UNREACHABLE_DUE,
    FollowUpLine,
    FollowUpOutcome,
)
from bot.domain.models import Person
from bot.services.verification import households_in_scope
from storage.store import Repositories, Store

log = logging.getLogger(__name__)

LIST_LENGTH = 30
MAX_NOTE = 500


class CloseResult(StrEnum):
    DONE = "done"
    NOT_ALLOWED = "not_allowed"
    ALREADY_CLOSED = "already_closed"
    NOTE_NEEDED = "note_needed"


async def open_after_session(
    repo: Repositories, posyandu_ids: list[int], session_date: date, now: datetime
) -> int:
    """The planner's daily work: follow-ups for yesterday's sessions without a report or an
    answer, and for households that cannot be reached."""
    opened = await repo.follow_ups.open_missed(
        posyandu_ids, session_date, now, session_date + ABSENCE_DUE
    )
    today = session_date + timedelta(days=1)
    opened += await repo.follow_ups.open_unreachable(today, now, today + UNREACHABLE_DUE)
    return opened


async def open_follow_ups(store: Store, person: Person) -> list[FollowUpLine] | None:
    """The open follow-ups this companion (or coordinator) holds, earliest due first; None
    when the person may hold none."""
    async with store.read() as repo:
        households = await households_in_scope(repo, person)
        if not households and person.staff_id is None:
            return None
        return await repo.follow_ups.open_for(households, LIST_LENGTH)


async def follow_up_in_scope(
    store: Store, person: Person, follow_up_id: int
) -> FollowUpLine | None:
    async with store.read() as repo:
        found = await repo.follow_ups.get(follow_up_id)
        if found is None or found.household_id not in await households_in_scope(repo, person):
            return None
    return found


async def close_follow_up(
    store: Store,
    person: Person,
    follow_up_id: int,
    outcome: FollowUpOutcome,
    note: str | None,
    *,
    now: datetime,
) -> CloseResult:
    if outcome is FollowUpOutcome.OTHER and not (note and note.strip()):
        return CloseResult.NOTE_NEEDED
    async with store.write() as repo:
        found = await repo.follow_ups.get(follow_up_id)
        if found is None or found.household_id not in await households_in_scope(repo, person):
            log.warning(
                "authorization_refused action=close_follow_up person=%s follow_up=%s",
                person.id,
                follow_up_id,
            )
            return CloseResult.NOT_ALLOWED
        clean = note.strip()[:MAX_NOTE] if note else None
        if not await repo.follow_ups.close(follow_up_id, outcome, clean, person.id, now):
            return CloseResult.ALREADY_CLOSED
        await repo.audit.record(
            now,
            f"person:{person.id}",
            "close_follow_up",
            "household",
            found.program_number,
            {"follow_up": follow_up_id, "outcome": outcome.value, "note": clean is not None},
        )
    return CloseResult.DONE
