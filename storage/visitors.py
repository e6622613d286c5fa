"""Who is writing and the flow they are in: what every update needs first, in one query.

One row for any Telegram account, known or not: the account's number, outer-joined to its saved
conversation (if any) and to its person with their staff record, household and desa (if any).
On PostgreSQL, where replicas share the database, the same statement also takes the user's
lease (`claim_and_load`: the lease's upsert as a data-modifying WITH).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Row, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.conversation import SavedConversation
from bot.domain.models import Household, Person
from storage.conversations import CLAIM, saved_conversation
from storage.people import PERSON_WITH_HOUSEHOLD_COLUMNS, household_of, person_joined, person_of
from storage.schema import conversation, person

_WHO = select(bindparam("telegram_user_id", type_=BigInteger).label("id")).subquery("who")


def _visitor(flow: Any) -> Select[Any]:
    """Person, household and the columns of `flow` (the conversation table, or the lease's
    RETURNING) for the account in `who`."""
    return (
        select(
            *PERSON_WITH_HOUSEHOLD_COLUMNS,
            *(
                flow.c[column.name].label(f"conversation_{column.name}")
                for column in conversation.c
            ),
        )
        .select_from(
            person_joined(
                _WHO.outerjoin(flow, flow.c.telegram_user_id == _WHO.c.id),
                person.c.telegram_user_id == _WHO.c.id,
            )
        )
        .order_by(person.c.id)
        .limit(1)
    )


_VISITOR = _visitor(conversation)
_CLAIM_AND_VISITOR = _visitor(CLAIM.returning(*conversation.c).cte("lease"))


class VisitorRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def load(
        self, telegram_user_id: int
    ) -> tuple[SavedConversation | None, Person | None, Household | None]:
        """(their flow, the person, their household), each None where there is none."""
        result = await self._connection.execute(_VISITOR, {"telegram_user_id": telegram_user_id})
        _found, saved, person, household = _decoded(result.one())
        return saved, person, household

    async def claim_and_load(
        self, telegram_user_id: int, chat_id: int, owner: str, now: datetime, until: datetime
    ) -> tuple[bool, SavedConversation | None, Person | None, Household | None]:
        """PostgreSQL: take the user's lease unless another process holds it, and read who they
        are, in one statement: (taken, their flow if taken, the person, their household)."""
        values = {
            "telegram_user_id": telegram_user_id,
            "chat_id": chat_id,
            "owner": owner,
            "now": now,
            "until": until,
        }
        return _decoded((await self._connection.execute(_CLAIM_AND_VISITOR, values)).one())


def _decoded(
    row: Row[Any],
) -> tuple[bool, SavedConversation | None, Person | None, Household | None]:
    """(a conversation row was there, the flow in it, the person, their household)."""
    values: dict[str, Any] = dict(row._mapping)
    flow = {column.name: values.pop(f"conversation_{column.name}") for column in conversation.c}
    found = flow["telegram_user_id"] is not None
    saved = saved_conversation(flow) if found else None
    if values["id"] is None:
        return found, saved, None, None
    household = household_of(values)
    return found, saved, person_of(values), household
