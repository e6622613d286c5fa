"""Payout rounds (tahap pencairan) per kecamatan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import Date, Select, and_, bindparam, exists, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import PayoutRound, PayoutRoundRecord
from bot.domain.slots import QueuedHousehold
from storage.database import excluded, upsert
from storage.schema import desa, household, payout_round, person, queue_slot


def _next_with_slot() -> Select[Any]:
    """A kecamatan's next round from a day on, with one household's slot in its queue and how
    many households have a slot in it. Built once: /jadwal asks it of every household, and
    building it (an aliased table) cost more than running it."""
    given = queue_slot.alias("given")
    placed = (
        select(func.count())
        .where(given.c.round_id == payout_round.c.id)
        .correlate(payout_round)
        .scalar_subquery()
    )
    return (
        select(payout_round, queue_slot.c.slot_index, placed.label("placed"))
        .outerjoin(
            queue_slot,
            and_(
                queue_slot.c.round_id == payout_round.c.id,
                queue_slot.c.household_id == bindparam("household_id"),
            ),
        )
        .where(
            payout_round.c.kecamatan_id == bindparam("kecamatan_id"),
            payout_round.c.payout_date >= bindparam("today", type_=Date),
        )
        .order_by(payout_round.c.payout_date, payout_round.c.id)
        .limit(1)
    )


_NEXT_WITH_SLOT = _next_with_slot()


class PayoutRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def upsert(self, records: Sequence[PayoutRoundRecord]) -> None:
        if not records:
            return
        statement = upsert(self._connection, payout_round)
        new = excluded(statement)
        statement = statement.on_conflict_do_update(
            index_elements=[payout_round.c.round_code, payout_round.c.kecamatan_id],
            set_={
                column: new[column]
                for column in (
                    "payout_date",
                    "place",
                    "start_time",
                    "end_time",
                    "amount",
                    "slot_capacity",
                )
            },
        )
        await self._connection.execute(statement, [r.model_dump() for r in records])

    async def keys(self) -> set[tuple[str, int]]:
        """(round code, kecamatan id) of every known round."""
        query = select(payout_round.c.round_code, payout_round.c.kecamatan_id)
        return {(code, kec) for code, kec in await self._connection.execute(query)}

    async def for_kecamatan(self, kecamatan_id: int) -> list[PayoutRound]:
        query = (
            select(payout_round)
            .where(payout_round.c.kecamatan_id == kecamatan_id)
            .order_by(payout_round.c.payout_date)
        )
        rows = await self._connection.execute(query)
        return [PayoutRound.model_validate(row._asdict()) for row in rows]

    async def next_with_slot(
        self, household_id: int, kecamatan_id: int, today: date
    ) -> tuple[PayoutRound, int | None, int] | None:
        """The kecamatan's next round from `today` on, with the household's slot index in its
        queue (None when it has none yet) and how many households have a slot in it: one
        statement."""
        values = {"household_id": household_id, "kecamatan_id": kecamatan_id, "today": today}
        row = (await self._connection.execute(_NEXT_WITH_SLOT, values)).first()
        if row is None:
            return None
        found = row._asdict()
        slot_index, count = found.pop("slot_index"), found.pop("placed")
        return PayoutRound.model_validate(found), slot_index, int(count)

    async def get(self, round_id: int) -> PayoutRound | None:
        query = select(payout_round).where(payout_round.c.id == round_id)
        row = (await self._connection.execute(query)).first()
        return None if row is None else PayoutRound.model_validate(row._asdict())

    async def with_code(self, round_code: str) -> list[PayoutRound]:
        """The rounds of that code, in every kecamatan that has one."""
        query = (
            select(payout_round)
            .where(payout_round.c.round_code == round_code)
            .order_by(payout_round.c.kecamatan_id)
        )
        rows = await self._connection.execute(query)
        return [PayoutRound.model_validate(row._asdict()) for row in rows]

    async def from_day(self, first: date, kecamatan_id: int | None = None) -> list[PayoutRound]:
        """The rounds on `first` or later (of one kecamatan, when given), soonest first."""
        query = select(payout_round).where(payout_round.c.payout_date >= first)
        if kecamatan_id is not None:
            query = query.where(payout_round.c.kecamatan_id == kecamatan_id)
        query = query.order_by(
            payout_round.c.payout_date, payout_round.c.kecamatan_id, payout_round.c.id
        )
        rows = await self._connection.execute(query)
        return [PayoutRound.model_validate(row._asdict()) for row in rows]

    async def lock(self, round_id: int) -> None:
        """Hold the round's row until the transaction ends, so two writers giving out its
        slots take turns (PostgreSQL; SQLite has one writer at a time anyway)."""
        query = select(payout_round.c.id).where(payout_round.c.id == round_id).with_for_update()
        await self._connection.execute(query)

    async def queue(self, round_id: int, kecamatan_id: int) -> list[QueuedHousehold]:
        """The kecamatan's active households with their slot in the round's queue, if any, by
        programme number."""
        query = (
            select(
                household.c.id,
                household.c.program_number,
                household.c.head_name,
                household.c.companion_id,
                queue_slot.c.slot_index,
                exists(  # someone of the household the bot can reach
                    select(person.c.id).where(
                        person.c.household_id == household.c.id, person.c.reachable.is_(True)
                    )
                ),
            )
            .join(desa, desa.c.id == household.c.desa_id)
            .outerjoin(
                queue_slot,
                and_(
                    queue_slot.c.household_id == household.c.id,
                    queue_slot.c.round_id == round_id,
                ),
            )
            .where(desa.c.kecamatan_id == kecamatan_id, household.c.active.is_(True))
            .order_by(household.c.program_number)
        )
        return [QueuedHousehold(*row) for row in await self._connection.execute(query)]
