"""A household's agenda ("Jadwal saya"): the next posyandu day (a moved session on its new day,
a cancelled one skipped) and the next payout round with the household's own queue slot, or, while
it has none, what is true about it: the day it will be told its slot (the round's slots are not
given yet, or there is still room), or that it has none (the slots are full)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from bot.domain.models import Household, Member, PayoutRound, Posyandu
from bot.domain.sessions import next_session
from bot.domain.slots import Slot
from bot.services.attendance import is_followed
from bot.services.payout_queue import REMINDER_DAYS_BEFORE, QueuePolicy, household_slot
from storage.store import Store


class SlotState(StrEnum):
    """Where the household stands in its next round's queue."""

    SET = "set"  # it has its slot
    COMING = "coming"  # it gets one (there is room): the reminder of `told_on` names it
    MISSING = "missing"  # none, and none to come: the slots are full, or the day is here


@dataclass(frozen=True)
class Agenda:
    posyandu: Posyandu | None
    posyandu_day: date | None
    members: list[Member]  # the members the posyandu day is for (pregnant, under five)
    payout: PayoutRound | None
    slot: Slot | None  # the household's own queue slot in that round, once it has one
    slot_state: SlotState = SlotState.MISSING
    # SlotState.COMING: the day of its next payout reminder (16:00 WIB), which names its slot.
    told_on: date | None = None


async def household_agenda(
    store: Store, household: Household, today: date, policy: QueuePolicy
) -> Agenda:
    async with store.quick_snapshot() as repo:  # reads by key, one moment
        posyandu = await repo.geography.posyandu_by_id(household.posyandu_id)
        changes = await repo.geography.session_changes_at(household.posyandu_id)
        members = [m for m in await repo.households.members(household.id) if is_followed(m, today)]
        found = await repo.payouts.next_with_slot(household.id, household.kecamatan_id, today)
    session = None if posyandu is None else next_session(posyandu.schedule, changes, today)
    day = None if session is None else session.day  # a moved session on its new day
    if found is None:
        return Agenda(posyandu, day, members, None, None)
    payout, slot_index, placed = found  # placed: households with a slot in the round
    slot = household_slot(payout, slot_index, policy.slot_minutes)
    if slot is not None:
        return Agenda(posyandu, day, members, payout, slot, SlotState.SET)
    # The planner gives out the round's slots by its first reminder, and a slot to a household
    # that comes later while there is room; each reminder names the household's slot.
    reminders = sorted(payout.payout_date - timedelta(days=d) for d in REMINDER_DAYS_BEFORE)
    told_on = next((d for d in reminders if d >= today), None)
    room = len(policy.slots(payout)) * policy.capacity(payout) > placed
    if told_on is None or not room:
        return Agenda(posyandu, day, members, payout, None, SlotState.MISSING)
    return Agenda(posyandu, day, members, payout, None, SlotState.COMING, told_on)
