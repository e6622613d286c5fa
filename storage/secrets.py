"""Keys the application keeps in the database: the NIK digest key, when none is configured."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from storage.database import upsert
from storage.schema import app_secret

NIK_KEY = "nik_hmac_key"
NIK_KEY_FINGERPRINT = "nik_hmac_key_fingerprint"


class NikKeyMismatch(Exception):
    """SAPA_NIK_KEY is not the key this database's NIK digests were made with."""


class SecretRepository:
    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get_or_create(self, name: str, value: str | None = None) -> str:
        """The secret of that name; on first use it is `value`, or 256 random bits."""
        statement = upsert(self._connection, app_secret).values(
            name=name, value=value if value is not None else secrets.token_hex(32)
        )
        await self._connection.execute(statement.on_conflict_do_nothing())
        query = select(app_secret.c.value).where(app_secret.c.name == name)
        return str((await self._connection.execute(query)).scalar_one())

    async def nik_key(self, configured: bytes | None) -> bytes:
        """The key for NIK digests: SAPA_NIK_KEY if set, else one kept in the database.

        The first key used is remembered by its fingerprint, so a key changed later (which would
        make every stored digest useless) is refused instead of silently mixing digests.
        """
        key = configured or (await self.get_or_create(NIK_KEY)).encode()
        fingerprint = hashlib.sha256(b"sapa-nik-key:" + key).hexdigest()[:16]
        if await self.get_or_create(NIK_KEY_FINGERPRINT, fingerprint) != fingerprint:
            raise NikKeyMismatch
        return key
