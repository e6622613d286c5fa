"""Named counters (ticket numbers and the like), safe with concurrent writers."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from storage.database import upsert
from storage.schema import sequence


class SequenceRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def next_value(self, name: str) -> int:
        """1 on first use, then 2, 3, ...: one atomic statement on both databases."""
        statement = upsert(self._connection, sequence).values(name=name, value=1)
        statement = statement.on_conflict_do_update(
            index_elements=[sequence.c.name],
            set_={"value": sequence.c.value + 1},
        ).returning(sequence.c.value)
        return int((await self._connection.execute(statement)).scalar_one())
