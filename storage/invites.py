"""Staff enrolment invites: single use, expiring, stored as digests."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.schema import invite


class InviteRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def add(
        self, staff_id: int, token_digest: str, created_by: str, now: datetime, expires_at: datetime
    ) -> None:
        await self._connection.execute(
            invite.insert().values(
                staff_id=staff_id,
                token_digest=token_digest,
                created_by=created_by,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def live(self, token_digest: str, now: datetime) -> int | None:
        """The staff id of a live invite (known, unused, not expired), without spending it."""
        query = select(invite.c.staff_id).where(
            invite.c.token_digest == token_digest,
            invite.c.used_at.is_(None),
            invite.c.expires_at > now,
        )
        found = (await self._connection.execute(query)).scalar_one_or_none()
        return None if found is None else int(found)

    async def use(self, token_digest: str, now: datetime) -> int | None:
        """Spend a live invite: the staff id it enrols, or None (unknown, used or expired)."""
        statement = (
            update(invite)
            .where(
                invite.c.token_digest == token_digest,
                invite.c.used_at.is_(None),
                invite.c.expires_at > now,
            )
            .values(used_at=now)
            .returning(invite.c.staff_id)
        )
        row = (await self._connection.execute(statement)).first()
        return None if row is None else int(row.staff_id)

    async def record_user(self, token_digest: str, person_id: int) -> None:
        await self._connection.execute(
            update(invite).where(invite.c.token_digest == token_digest).values(used_by=person_id)
        )
