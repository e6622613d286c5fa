"""Payout rounds (tahap pencairan) per kecamatan."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.models import PayoutRound, PayoutRoundRecord
from storage.database import excluded, upsert
from storage.schema import payout_round


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
                for column in ("payout_date", "place", "start_time", "end_time", "amount")
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
