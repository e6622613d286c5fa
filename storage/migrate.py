"""Schema migrations with Alembic, run on our own async engine.

`sapa migrate` calls `upgrade`; every other command calls `check_current` first, so a database that
is missing or behind says which command to run instead of failing on a missing table. That check
reads the revision table and the migration files' headers without loading Alembic, which alone
takes longer to import than most commands take to run.

Migrations run in `storage.database.schema_transaction`: on SQLite with foreign keys off (a batch
"move and copy" would otherwise empty the tables that reference the rebuilt one, through ON DELETE
CASCADE) and checked with `PRAGMA foreign_key_check` before the commit.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import schema_transaction

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
_HEADER = re.compile(r'^(down_revision|revision) = "(\w+)"', re.MULTILINE)


class DatabaseNotMigrated(Exception):
    """The database schema is missing or older than this version of Sapa RTS."""


def _config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision: the one no other migration revises (the chain is linear)."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for field, value in _HEADER.findall(path.read_text(encoding="utf-8")):
            (revisions if field == "revision" else revised).add(value)
    [head] = revisions - revised
    return head


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (two migrators at once wait for each other)."""

    from alembic import command

    def run(connection: Connection) -> None:
        command.upgrade(_config(connection), revision)

    async with schema_transaction(engine) as connection:
        await connection.run_sync(run)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Step the schema back to `revision` (rolling back a release drops the newer tables)."""

    from alembic import command

    def run(connection: Connection) -> None:
        command.downgrade(_config(connection), revision)

    async with schema_transaction(engine) as connection:
        await connection.run_sync(run)


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(connection: Connection) -> str | None:
        if not inspect(connection).has_table("alembic_version"):
            return None
        found = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return None if found is None else str(found)

    async with engine.connect() as connection:
        return await connection.run_sync(read)


async def check_current(engine: AsyncEngine) -> None:
    """Raise DatabaseNotMigrated unless the schema is at the newest revision."""
    current = await current_revision(engine)
    if current != head_revision():
        raise DatabaseNotMigrated(current or "empty")
