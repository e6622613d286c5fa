"""Keys the application keeps in the database when none is configured."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.database import upsert
from storage.schema import app_secret

NIK_KEY = "nik_hmac_key"


class SecretRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get_or_create(self, name: str) -> str:
        """The secret of that name, created at random (256 bits) on first use."""
        statement = upsert(self._connection, app_secret).values(
            name=name, value=secrets.token_hex(32)
        )
        await self._connection.execute(statement.on_conflict_do_nothing())
        query = select(app_secret.c.value).where(app_secret.c.name == name)
        return str((await self._connection.execute(query)).scalar_one())
