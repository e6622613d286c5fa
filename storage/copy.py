"""Copying every row of one Sapa RTS database into another: how a deployment moves from its
SQLite file to PostgreSQL (`sapa copy-database URL`).

The target must be migrated to the same revision and empty. Tables are copied parents first
(foreign keys hold at every step), in batches, inside one transaction on the target: a copy that
fails leaves the target empty, never half-filled. Values go through the same table definitions on
both sides, so times stay UTC and booleans stay booleans. On PostgreSQL the id sequences are then
moved past the copied ids, so the next row gets a fresh id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Integer, Table, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storage.database import read_transaction, write_transaction
from storage.migrate import check_current
from storage.schema import metadata

BATCH_ROWS = 1000
# The planner's own memory is not copied: the copied registry leaves its change marks in the
# target (triggers), so the target's planner plans everything afresh at its first pass.
NOT_COPIED = {"planner_progress", "planner_change"}
COPIED = [table for table in metadata.sorted_tables if table.name not in NOT_COPIED]


class TargetNotEmpty(Exception):
    """The target database already holds rows (in the tables named in the message)."""


@dataclass
class CopyReport:
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())


async def copy_database(
    source: AsyncEngine,
    target: AsyncEngine,
    *,
    progress: Callable[[str, int], None] | None = None,
) -> CopyReport:
    """Copy all rows from `source` to `target`; both must be at the current schema revision."""
    await check_current(source)
    await check_current(target)
    report = CopyReport()
    async with read_transaction(source) as reading, write_transaction(target) as writing:
        filled = [t.name for t in COPIED if await _count(writing, t)]
        if filled:
            raise TargetNotEmpty(", ".join(filled))
        for table in COPIED:
            copied = await _copy_table(reading, writing, table)
            report.rows[table.name] = copied
            if progress is not None:
                progress(table.name, copied)
        if writing.dialect.name == "postgresql":
            for table in COPIED:
                await _move_sequence_past_ids(writing, table)
    return report


async def _count(connection: AsyncConnection, table: Table) -> int:
    return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


async def _copy_table(reading: AsyncConnection, writing: AsyncConnection, table: Table) -> int:
    copied = 0
    order = list(table.primary_key.columns)
    result = await reading.stream(select(table).order_by(*order))
    async for batch in result.mappings().partitions(BATCH_ROWS):
        await writing.execute(table.insert(), [dict(row) for row in batch])
        copied += len(batch)
    return copied


async def _move_sequence_past_ids(connection: AsyncConnection, table: Table) -> None:
    """The next id PostgreSQL hands out comes after the largest copied one."""
    identity = table.c.get("id")
    if identity is None or not isinstance(identity.type, Integer) or not identity.primary_key:
        return
    await connection.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f'COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM "{table.name}"'
        )
    )
