"""A household's agenda ("Jadwal saya"): the next posyandu day and the next payout round."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.domain.models import Household, Member, PayoutRound, Posyandu
from bot.domain.schedule import next_posyandu_day
from bot.services.attendance import is_followed
from storage.store import Store


@dataclass(frozen=True)
class Agenda:
    posyandu: Posyandu | None
    posyandu_day: date | None
    members: list[Member]  # the members the posyandu day is for (pregnant, under five)
    payout: PayoutRound | None


async def household_agenda(store: Store, household: Household, today: date) -> Agenda:
    async with store.read() as repo:
        posyandu = await repo.geography.posyandu_by_id(household.posyandu_id)
        members = [m for m in await repo.households.members(household.id) if is_followed(m, today)]
        rounds = await repo.payouts.for_kecamatan(household.kecamatan_id)
    day = None
    if posyandu is not None:
        day = next_posyandu_day(posyandu.schedule, today)
    payout = next((r for r in rounds if r.payout_date >= today), None)
    return Agenda(posyandu, day, members, payout)
