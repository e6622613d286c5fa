"""Benchmark the SQLite driver (storage/sqlite_driver.py) against stock aiosqlite, in one run.

    .venv/bin/python bench/sqlite_driver.py [--units 3000] [--rounds 3]

A "unit" is what a household's update does to the database: a read transaction of two point
queries (who writes, their flow), then a write transaction of one statement (the flow's draft).
The same units run through SQLAlchemy's `sqlite+aiosqlite` dialect twice, alternating rounds:
the BASELINE with the stock aiosqlite module (four hand-offs to the connection thread per
statement, one more for the pool's reset), and ours (`module=sqlite_driver.dbapi()`: one per
statement, none for a reset after a COMMIT). Reported per unit: hand-offs (calls into the
connection thread, counted by wrapping `aiosqlite.Connection._execute`), wall and CPU time
(`time.process_time`, steadier than wall time on a shared machine), medians over the rounds and
the ratio ours / baseline. A benchmark: it asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage import sqlite_driver
from storage.database import (
    SQLITE_BUSY_TIMEOUT_MS,
    configure_sqlite,
    read_transaction,
    write_transaction,
)

WARM_UP = 200


class HandOffs:
    """Counts calls into aiosqlite's connection thread."""

    def __init__(self) -> None:
        self.count = 0
        original = aiosqlite.Connection._execute

        async def counted(connection: aiosqlite.Connection, *args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return await original(connection, *args, **kwargs)

        aiosqlite.Connection._execute = counted  # type: ignore[method-assign]


def engine_for(path: Path, ours: bool) -> AsyncEngine:
    options: dict[str, Any] = {"module": sqlite_driver.dbapi()} if ours else {}
    engine = create_async_engine(
        f"sqlite+aiosqlite:///{path}",
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        **options,
    )
    configure_sqlite(engine)
    return engine


async def unit(engine: AsyncEngine) -> None:
    async with read_transaction(engine) as connection:
        (await connection.execute(text("SELECT * FROM person WHERE id = 1"))).all()
        (await connection.execute(text("SELECT * FROM conversation WHERE id = 2"))).all()
    async with write_transaction(engine) as connection:
        await connection.execute(text("UPDATE conversation SET draft = 'x' WHERE id = 2"))


async def one_round(path: Path, ours: bool, units: int, hand_offs: HandOffs) -> dict[str, float]:
    engine = engine_for(path, ours)
    try:
        for _ in range(WARM_UP):
            await unit(engine)
        hand_offs.count = 0
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(units):
            await unit(engine)
        return {
            "hand_offs": hand_offs.count / units,
            "wall_ms": (time.perf_counter() - wall) / units * 1000,
            "cpu_ms": (time.process_time() - cpu) / units * 1000,
        }
    finally:
        await engine.dispose()


async def main(units: int, rounds: int) -> None:
    hand_offs = HandOffs()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "driver.db"
        setup = engine_for(path, ours=True)
        async with write_transaction(setup) as connection:
            await connection.execute(text("CREATE TABLE person (id INTEGER PRIMARY KEY, n TEXT)"))
            await connection.execute(
                text("CREATE TABLE conversation (id INTEGER PRIMARY KEY, draft TEXT)")
            )
            await connection.execute(text("INSERT INTO person (n) VALUES ('a'), ('b')"))
            await connection.execute(text("INSERT INTO conversation (draft) VALUES ('a'), ('b')"))
        await setup.dispose()
        found: dict[bool, list[dict[str, float]]] = {False: [], True: []}
        for _ in range(rounds):
            for ours in (False, True):
                found[ours].append(await one_round(path, ours, units, hand_offs))
    print(f"SQLite driver, {units:,} units x {rounds} rounds (median), per unit:")
    median = {
        ours: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for ours, runs in found.items()
    }
    for key, label in (("hand_offs", "hand-offs"), ("wall_ms", "wall ms"), ("cpu_ms", "CPU ms")):
        base, ours = median[False][key], median[True][key]
        print(f"  {label:10} baseline {base:7.3f}   ours {ours:7.3f}   ratio {ours / base:5.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--units", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.units, arguments.rounds))
