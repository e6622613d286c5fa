"""The outbox: every proactive message is a row here, sent later by the dispatcher."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.models import NotificationStatus, Recipient
from storage.database import upsert
from storage.schema import notification


class NotificationRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def queue(
        self,
        recipient: Recipient,
        template_key: str,
        params: dict[str, Any],
        *,
        due_at: datetime,
        dedup_key: str,
        now: datetime,
    ) -> bool:
        """Queue one message; False when a row with this dedup key already exists."""
        statement = (
            upsert(self._connection, notification)
            .values(
                person_id=recipient.person_id,
                staff_id=recipient.staff_id,
                template_key=template_key,
                params=params,
                due_at=due_at,
                status=NotificationStatus.PENDING.value,
                attempts=0,
                dedup_key=dedup_key,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=[notification.c.dedup_key])
            .returning(notification.c.id)
        )
        return (await self._connection.execute(statement)).first() is not None

    async def pending(self) -> list[dict[str, Any]]:
        """Pending rows in due order, as plain dicts (for the dispatcher and for tests)."""
        query = (
            select(notification)
            .where(notification.c.status == NotificationStatus.PENDING.value)
            .order_by(notification.c.due_at, notification.c.id)
        )
        return [dict(row._mapping) for row in await self._connection.execute(query)]
