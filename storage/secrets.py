"""What the database knows of secrets: the fingerprint of the NIK key, never the key itself.

Earlier versions kept a generated NIK key in the `app_secret` table; `legacy_nik_key` reads it
so that it can be moved out (see `bot.nik_key`), and `erase_legacy_nik_key` removes it for good.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.database import upsert
from storage.schema import app_secret

NIK_KEY = "nik_hmac_key"
NIK_KEY_FINGERPRINT = "nik_hmac_key_fingerprint"


class NikKeyMismatch(Exception):
    """SAPA_NIK_KEY is not the key this database's NIK digests were made with."""


class NikKeyNotConfigured(Exception):
    """No NIK key was given; the key is never made or kept inside the database."""


class SecretRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def remember(self, name: str, value: str) -> str:
        """The value kept under that name; on first use it is `value`."""
        statement = upsert(self._connection, app_secret).values(name=name, value=value)
        await self._connection.execute(statement.on_conflict_do_nothing())
        query = select(app_secret.c.value).where(app_secret.c.name == name)
        return str((await self._connection.execute(query)).scalar_one())

    async def nik_key(self, configured: bytes | None) -> bytes:
        """The key for NIK digests (from outside the database, see `bot.nik_key`), checked.

        The first key used is remembered by its fingerprint (a truncated hash of a 256-bit key,
        which tells nothing about the key), so a key changed later (which would make every
        stored digest useless) is refused instead of silently mixing digests.
        """
        if configured is None:
            raise NikKeyNotConfigured
        fingerprint = hashlib.sha256(b"sapa-nik-key:" + configured).hexdigest()[:16]
        if await self.remember(NIK_KEY_FINGERPRINT, fingerprint) != fingerprint:
            raise NikKeyMismatch
        return configured

    async def legacy_nik_key(self) -> str | None:
        """The key an earlier version generated and kept in this database, if it is still here."""
        query = select(app_secret.c.value).where(app_secret.c.name == NIK_KEY)
        found = (await self._connection.execute(query)).scalar_one_or_none()
        return None if found is None else str(found)


async def erase_legacy_nik_key(engine: AsyncEngine) -> None:
    """Delete the old in-database NIK key so that no copy of the file holds it any more.

    SQLite connections run with `secure_delete` (the freed page is zeroed); the write-ahead log,
    which may still hold the old page, is then checkpointed and truncated. PostgreSQL's dead row
    is vacuumed away."""
    async with engine.begin() as connection:
        await connection.execute(delete(app_secret).where(app_secret.c.name == NIK_KEY))
    async with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM app_secret"))
