"""Conversations: the step and draft of each user in a multi-step flow (one row per user).

On PostgreSQL, where several replicas share the database, a row also carries a lease: the
replica handling one of the user's updates holds it until it has written the flow back, and
another replica given the user's next update waits for it (`claim` returns None meanwhile).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.conversation import SavedConversation
from storage.database import excluded, upsert
from storage.schema import conversation


def _saved(row: Any) -> SavedConversation | None:
    return saved_conversation(row._mapping)


def saved_conversation(values: Mapping[str, Any]) -> SavedConversation | None:
    """The flow in a conversation row's values; None for a lease without a flow."""
    if values["state"] is None and values["flow"] is None:
        return None
    return SavedConversation(
        telegram_user_id=values["telegram_user_id"],
        chat_id=values["chat_id"],
        state=values["state"],
        flow=values["flow"],
        updated_at=values["updated_at"],
    )


def _free_at(now: datetime) -> Any:
    return or_(conversation.c.lease_until.is_(None), conversation.c.lease_until < now)


def claim_statement(
    connection: AsyncConnection,
    telegram_user_id: int,
    chat_id: int,
    owner: str,
    now: datetime,
    until: datetime,
) -> Any:
    """The upsert that takes a user's lease, touching the row only when the lease is free (a
    new row has none); `storage.visitors` adds RETURNING to learn whether it did and the flow
    kept."""
    statement = upsert(connection, conversation).values(
        telegram_user_id=telegram_user_id,
        chat_id=chat_id,
        state=None,
        flow=None,
        updated_at=now,
        lease_owner=owner,
        lease_until=until,
    )
    return statement.on_conflict_do_update(
        index_elements=["telegram_user_id"],
        set_={
            "lease_owner": excluded(statement).lease_owner,
            "lease_until": excluded(statement).lease_until,
        },
        where=_free_at(now),
    )


class ConversationRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def of_user(self, telegram_user_id: int) -> SavedConversation | None:
        query = select(conversation).where(conversation.c.telegram_user_id == telegram_user_id)
        row = (await self._connection.execute(query)).first()
        return None if row is None else _saved(row)

    async def save(self, saved: SavedConversation) -> None:
        values = self._values(saved)
        statement = upsert(self._connection, conversation).values(values)
        changed = {key: value for key, value in values.items() if key != "telegram_user_id"}
        await self._connection.execute(
            statement.on_conflict_do_update(index_elements=["telegram_user_id"], set_=changed)
        )

    async def end(self, telegram_user_id: int) -> None:
        await self._connection.execute(
            delete(conversation).where(conversation.c.telegram_user_id == telegram_user_id)
        )

    async def release(
        self, telegram_user_id: int, owner: str, saved: SavedConversation | None
    ) -> None:
        """Write the flow back (or drop the row, with no flow) and give up the lease."""
        mine = and_(
            conversation.c.telegram_user_id == telegram_user_id,
            conversation.c.lease_owner == owner,
        )
        if saved is None:
            await self._connection.execute(delete(conversation).where(mine))
            return
        values = self._values(saved) | {"lease_owner": None, "lease_until": None}
        values.pop("telegram_user_id")
        await self._connection.execute(update(conversation).where(mine).values(values))

    async def end_abandoned(self, before: datetime, now: datetime) -> list[SavedConversation]:
        """Remove the flows untouched since `before` (and not being handled); returns them. Two
        processes sweeping at once each get a different share (a row is deleted once)."""
        statement = (
            delete(conversation)
            .where(conversation.c.updated_at < before, _free_at(now))
            .returning(*conversation.c)
        )
        ended = [_saved(row) for row in await self._connection.execute(statement)]
        return [saved for saved in ended if saved is not None]

    @staticmethod
    def _values(saved: SavedConversation) -> dict[str, Any]:
        return {
            "telegram_user_id": saved.telegram_user_id,
            "chat_id": saved.chat_id,
            "state": saved.state,
            "flow": saved.flow,
            "updated_at": saved.updated_at,
        }
