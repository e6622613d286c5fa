"""Conversations: the step and draft of each user in a multi-step flow (one row per user)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.domain.conversation import SavedConversation
from storage.database import upsert
from storage.schema import conversation


def _saved(row: Any) -> SavedConversation:
    return SavedConversation(
        telegram_user_id=row.telegram_user_id,
        chat_id=row.chat_id,
        state=row.state,
        flow=row.flow,
        updated_at=row.updated_at,
    )


class ConversationRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def of_user(self, telegram_user_id: int) -> SavedConversation | None:
        query = select(conversation).where(conversation.c.telegram_user_id == telegram_user_id)
        row = (await self._connection.execute(query)).first()
        return None if row is None else _saved(row)

    async def save(self, saved: SavedConversation) -> None:
        values = {
            "telegram_user_id": saved.telegram_user_id,
            "chat_id": saved.chat_id,
            "state": saved.state,
            "flow": saved.flow,
            "updated_at": saved.updated_at,
        }
        statement = upsert(self._connection, conversation).values(values)
        changed = {key: value for key, value in values.items() if key != "telegram_user_id"}
        await self._connection.execute(
            statement.on_conflict_do_update(index_elements=["telegram_user_id"], set_=changed)
        )

    async def end(self, telegram_user_id: int) -> None:
        await self._connection.execute(
            delete(conversation).where(conversation.c.telegram_user_id == telegram_user_id)
        )

    async def end_abandoned(self, before: datetime) -> list[SavedConversation]:
        """Remove the conversations untouched since `before`; returns them. Two processes sweeping
        at once each get a different share (a row is deleted once)."""
        statement = (
            delete(conversation)
            .where(conversation.c.updated_at < before)
            .returning(*conversation.c)
        )
        return [_saved(row) for row in await self._connection.execute(statement)]
