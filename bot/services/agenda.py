"""A household's agenda ("Jadwal saya"): the next posyandu day (a moved session on its new day,
a cancelled one skipped) and the next payout round with the household's own queue slot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.domain.models import Household, Member, PayoutRound, Posyandu
from bot.domain.sessions import next_session
from bot.domain.slots import Slot
from bot.services.attendance import is_followed
from bot.services.payout_queue import household_slot
from storage.store import Store


@dataclass(frozen=True)
class Agenda:
    posyandu: Posyandu | None
    posyandu_day: date | None
    members: list[Member]  # the members the posyandu day is for (pregnant, under five)
    payout: PayoutRound | None
    slot: Slot | None  # the household's own queue slot in that round, once it has one


async def household_agenda(
    store: Store, household: Household, today: date, slot_minutes: int
) -> Agenda:
    async with store.read() as repo:
        posyandu = await repo.geography.posyandu_by_id(household.posyandu_id)
        changes = await repo.geography.session_changes_at(household.posyandu_id)
        members = [m for m in await repo.households.members(household.id) if is_followed(m, today)]
        found = await repo.payouts.next_with_slot(household.id, household.kecamatan_id, today)
    session = None if posyandu is None else next_session(posyandu.schedule, changes, today)
    day = None if session is None else session.day  # a moved session on its new day
    if found is None:
        return Agenda(posyandu, day, members, None, None)
    payout, slot_index = found
    return Agenda(posyandu, day, members, payout, household_slot(payout, slot_index, slot_minutes))
