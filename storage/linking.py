"""Linking a Telegram user to a household: one-time link codes and failed attempts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import link_attempt, link_code


class LinkRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add_code(
        self,
        household_id: int,
        code_digest: str,
        created_by: str,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        await self._connection.execute(
            link_code.insert().values(
                household_id=household_id,
                code_digest=code_digest,
                created_by=created_by,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def use_code(
        self, code_digest: str, now: datetime, household_id: int | None = None
    ) -> int | None:
        """Spend a live code (of this household, when given): its household id, or None."""
        condition = and_(
            link_code.c.code_digest == code_digest,
            link_code.c.used_at.is_(None),
            link_code.c.expires_at > now,
        )
        if household_id is not None:
            condition = and_(condition, link_code.c.household_id == household_id)
        statement = (
            update(link_code)
            .where(condition)
            .values(used_at=now)
            .returning(link_code.c.id, link_code.c.household_id)
        )
        row = (await self._connection.execute(statement)).first()
        return None if row is None else int(row.household_id)

    async def record_failure(
        self, telegram_user_id: int, now: datetime, household_id: int | None = None
    ) -> None:
        await self._connection.execute(
            link_attempt.insert().values(
                telegram_user_id=telegram_user_id, at=now, household_id=household_id
            )
        )

    async def failures_since(self, telegram_user_id: int, since: datetime) -> int:
        query = (
            select(func.count())
            .select_from(link_attempt)
            .where(link_attempt.c.telegram_user_id == telegram_user_id, link_attempt.c.at > since)
        )
        return int((await self._connection.execute(query)).scalar_one())

    async def household_failures_since(self, household_id: int, since: datetime) -> int:
        """Failed attempts against one household, from every Telegram account."""
        query = (
            select(func.count())
            .select_from(link_attempt)
            .where(link_attempt.c.household_id == household_id, link_attempt.c.at > since)
        )
        return int((await self._connection.execute(query)).scalar_one())

    async def locked_households(
        self, household_ids: Sequence[int], since: datetime, threshold: int
    ) -> set[int]:
        """Those of these households with at least `threshold` failed attempts since then."""
        if not household_ids:
            return set()
        query = (
            select(link_attempt.c.household_id)
            .where(link_attempt.c.household_id.in_(household_ids), link_attempt.c.at > since)
            .group_by(link_attempt.c.household_id)
            .having(func.count() >= threshold)
        )
        return {int(h) for h in (await self._connection.execute(query)).scalars()}
