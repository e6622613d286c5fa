"""The outbox: every proactive message is a row here, sent later by the dispatcher.

A row is `pending` until a dispatcher claims it (`sending`, with the claim time), then `sent` once
Telegram accepted it, or `failed` with the reason, or `cancelled` when it no longer applies. A
claim older than the lease is taken again: that is how a crash between sending and marking is
survived (at most the message in flight is repeated).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from bot.models import NotificationStatus, Recipient
from storage.database import upsert
from storage.schema import notification, person

PENDING = NotificationStatus.PENDING.value
SENDING = NotificationStatus.SENDING.value


@dataclass(frozen=True)
class OutgoingMessage:
    """A claimed outbox row with what is needed to send it."""

    id: int
    person_id: int
    telegram_user_id: int
    language: str | None
    template_key: str
    params: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class QueuedMessage:
    recipient: Recipient
    template_key: str
    params: dict[str, Any]
    due_at: datetime
    dedup_key: str


_direct = aliased(person, name="direct")
_staff_person = aliased(person, name="staff_person")


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
        message = QueuedMessage(recipient, template_key, params, due_at, dedup_key)
        return await self.queue_many([message], now) == 1

    async def queue_many(self, messages: Sequence[QueuedMessage], now: datetime) -> int:
        """Queue messages whose dedup key is new; returns how many were new."""
        if not messages:
            return 0
        statement = upsert(self._connection, notification).on_conflict_do_nothing(
            index_elements=[notification.c.dedup_key]
        )
        rows = [
            {
                "person_id": m.recipient.person_id,
                "staff_id": m.recipient.staff_id,
                "template_key": m.template_key,
                "params": m.params,
                "due_at": m.due_at,
                "status": PENDING,
                "attempts": 0,
                "dedup_key": m.dedup_key,
                "created_at": now,
            }
            for m in messages
        ]
        before = await self._count()
        await self._connection.execute(statement, rows)
        return await self._count() - before

    async def _count(self) -> int:
        query = select(func.count()).select_from(notification)
        return int((await self._connection.execute(query)).scalar_one())

    async def claim_due(
        self,
        now: datetime,
        limit: int,
        lease_expired_before: datetime,
        only_person_id: int | None = None,
    ) -> list[OutgoingMessage]:
        """Take up to `limit` due rows whose recipient can be reached, oldest due first.

        On PostgreSQL rows locked by another dispatcher are skipped (`FOR UPDATE SKIP LOCKED`);
        on SQLite the write transaction already excludes other writers.
        """
        recipient_id = func.coalesce(_direct.c.id, _staff_person.c.id)
        claimable = (
            select(notification.c.id)
            .select_from(notification)
            .outerjoin(_direct, _direct.c.id == notification.c.person_id)
            .outerjoin(_staff_person, _staff_person.c.staff_id == notification.c.staff_id)
            .where(
                or_(
                    and_(notification.c.status == PENDING, notification.c.due_at <= now),
                    and_(
                        notification.c.status == SENDING,
                        notification.c.claimed_at < lease_expired_before,
                    ),
                ),
                recipient_id.is_not(None)
                if only_person_id is None
                else recipient_id == only_person_id,
                func.coalesce(_direct.c.reachable, _staff_person.c.reachable).is_(True),
            )
            .order_by(notification.c.due_at, notification.c.id)
            .limit(limit)
            .with_for_update(of=notification, skip_locked=True)
        )
        ids = list((await self._connection.execute(claimable)).scalars())
        if not ids:
            return []
        await self._connection.execute(
            update(notification)
            .where(notification.c.id.in_(ids))
            .values(status=SENDING, claimed_at=now)
        )
        details = (
            select(
                notification.c.id,
                recipient_id.label("person_id"),
                func.coalesce(_direct.c.telegram_user_id, _staff_person.c.telegram_user_id).label(
                    "telegram_user_id"
                ),
                func.coalesce(_direct.c.language, _staff_person.c.language).label("language"),
                notification.c.template_key,
                notification.c.params,
                notification.c.attempts,
            )
            .select_from(notification)
            .outerjoin(_direct, _direct.c.id == notification.c.person_id)
            .outerjoin(_staff_person, _staff_person.c.staff_id == notification.c.staff_id)
            .where(notification.c.id.in_(ids))
            .order_by(notification.c.due_at, notification.c.id)
        )
        return [
            OutgoingMessage(
                id=row.id,
                person_id=row.person_id,
                telegram_user_id=row.telegram_user_id,
                language=row.language,
                template_key=row.template_key,
                params=row.params,
                attempts=row.attempts,
            )
            for row in await self._connection.execute(details)
        ]

    async def exists(self, dedup_key: str) -> bool:
        query = select(notification.c.id).where(notification.c.dedup_key == dedup_key)
        return (await self._connection.execute(query)).first() is not None

    async def expire(self, notification_id: int) -> None:
        """A message that can no longer be sent in time (a reminder for a day gone by)."""
        await self._set(notification_id, status="cancelled", last_error="expired", claimed_at=None)

    async def mark_sent(self, notification_id: int, now: datetime) -> None:
        await self._set(notification_id, status="sent", sent_at=now, claimed_at=None)

    async def retry_later(
        self, notification_id: int, attempts: int, due_at: datetime, error: str
    ) -> None:
        await self._set(
            notification_id,
            status=PENDING,
            attempts=attempts,
            due_at=due_at,
            last_error=error,
            claimed_at=None,
        )

    async def fail(self, notification_id: int, attempts: int, error: str) -> None:
        await self._set(
            notification_id, status="failed", attempts=attempts, last_error=error, claimed_at=None
        )

    async def release(self, notification_ids: Sequence[int]) -> None:
        """Give claimed rows back untouched (the dispatcher stopped before sending them)."""
        if notification_ids:
            await self._connection.execute(
                update(notification)
                .where(notification.c.id.in_(notification_ids), notification.c.status == SENDING)
                .values(status=PENDING, claimed_at=None)
            )

    async def cancel_pending(
        self, *, person_id: int | None = None, dedup_prefix: str | None = None
    ) -> int:
        """Cancel pending rows of one person, or whose dedup key starts with a prefix."""
        condition = notification.c.status == PENDING
        if person_id is not None:
            condition = and_(condition, notification.c.person_id == person_id)
        if dedup_prefix is not None:
            condition = and_(
                condition, notification.c.dedup_key.startswith(dedup_prefix, autoescape=True)
            )
        result = await self._connection.execute(
            update(notification).where(condition).values(status="cancelled")
        )
        return int(result.rowcount or 0)

    async def _set(self, notification_id: int, **values: Any) -> None:
        await self._connection.execute(
            update(notification).where(notification.c.id == notification_id).values(**values)
        )

    async def pending(self) -> list[dict[str, Any]]:
        """Pending rows in due order, as plain dicts (for the dispatcher and for tests)."""
        query = (
            select(notification)
            .where(notification.c.status == PENDING)
            .order_by(notification.c.due_at, notification.c.id)
        )
        return [dict(row._mapping) for row in await self._connection.execute(query)]

    async def backlog(self, now: datetime) -> tuple[int, datetime | None]:
        """How many rows are due and waiting, and the oldest due time among them."""
        query = select(func.count(), func.min(notification.c.due_at)).where(
            notification.c.status == PENDING, notification.c.due_at <= now
        )
        count, oldest = (await self._connection.execute(query)).one()
        return int(count), oldest
