"""Schema migrations with Alembic, run on our own async engine.

`sapa migrate` calls `upgrade`; every other command calls `check_current` first, so a database that
is missing or behind says which command to run instead of failing on a missing table.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import write_transaction

MIGRATIONS = Path(__file__).parent / "migrations"


class DatabaseNotMigrated(Exception):
    """The database schema is missing or older than this version of Sapa RTS."""


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (two migrators at once wait for each other)."""

    def run(connection: Connection) -> None:
        command.upgrade(_config(connection), revision)

    async with write_transaction(engine) as connection:
        await connection.run_sync(run)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Step the schema back to `revision` (rolling back a release drops the newer tables)."""

    def run(connection: Connection) -> None:
        command.downgrade(_config(connection), revision)

    async with write_transaction(engine) as connection:
        await connection.run_sync(run)


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def check_current(engine: AsyncEngine) -> None:
    """Raise DatabaseNotMigrated unless the schema is at the newest revision."""
    current = await current_revision(engine)
    if current != head_revision():
        raise DatabaseNotMigrated(current or "empty")
