"""Job locks: two bot processes on one PostgreSQL database never run the same job at once.

On PostgreSQL a transaction-scoped advisory lock is taken (released at commit or rollback); the
second process waits, then finds the work done (dedup keys) and does nothing. On SQLite the
write transaction (`BEGIN IMMEDIATE`) already serializes writers, so nothing more is needed.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for a job name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


async def hold_job_lock(connection: AsyncConnection, name: str) -> None:
    """Wait for the job's lock; it is held until the current transaction ends."""
    if connection.dialect.name == "postgresql":
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)}
        )
