"""Who is writing and the flow they are in: what every update needs first, in one query.

One row for any Telegram account, known or not: the account's number, outer-joined to its saved
conversation (if any) and to its person with their staff record, household and desa (if any).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.conversation import SavedConversation
from bot.domain.models import Household, Person
from storage.conversations import saved_conversation
from storage.people import PERSON_WITH_HOUSEHOLD_COLUMNS, household_of, person_joined, person_of
from storage.schema import conversation, person

_WHO = select(bindparam("telegram_user_id", type_=BigInteger).label("id")).subquery("who")
_FLOW = {f"conversation_{column.name}": column for column in conversation.c}
_VISITOR = (
    select(*PERSON_WITH_HOUSEHOLD_COLUMNS, *(c.label(name) for name, c in _FLOW.items()))
    .select_from(
        person_joined(
            _WHO.outerjoin(conversation, conversation.c.telegram_user_id == _WHO.c.id),
            person.c.telegram_user_id == _WHO.c.id,
        )
    )
    .order_by(person.c.id)
    .limit(1)
)


class VisitorRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def load(
        self, telegram_user_id: int
    ) -> tuple[SavedConversation | None, Person | None, Household | None]:
        """(their flow, the person, their household), each None where there is none."""
        result = await self._connection.execute(_VISITOR, {"telegram_user_id": telegram_user_id})
        values: dict[str, Any] = dict(result.one()._mapping)
        flow = {column.name: values.pop(name) for name, column in _FLOW.items()}
        saved = None if flow["telegram_user_id"] is None else saved_conversation(flow)
        if values["id"] is None:
            return saved, None, None
        found = household_of(values)
        return saved, person_of(values), found
