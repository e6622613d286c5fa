"""A household's agenda ("Jadwal saya"): the next posyandu day and the next payout round."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.domain.models import Household, Member, PayoutRound, Posyandu
from bot.domain.sessions import next_session
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
        changes = await repo.geography.session_changes_at(household.posyandu_id)
        members = [m for m in await repo.households.members(household.id) if is_followed(m, today)]
        rounds = await repo.payouts.for_kecamatan(household.kecamatan_id)
    session = None if posyandu is None else next_session(posyandu.schedule, changes, today)
    day = None if session is None else session.day  # a moved session on its new day
    payout = next((r for r in rounds if r.payout_date >= today), None)
    return Agenda(posyandu, day, members, payout)
