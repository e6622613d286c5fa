"""The SQLite driver's one hand-off per statement keeps SQLAlchemy's behaviour: results larger
than one prefetch arrive whole, streamed results arrive in order, errors keep their DBAPI class,
and a result left half-read does not stop the next statement."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, select
from sqlalchemy.exc import IntegrityError

from storage.database import (
    _BEGIN_MODE,
    create_engine,
    read_transaction,
    single_statement,
    write_transaction,
)
from storage.sqlite_driver import PREFETCH
from tests.support.helpers import count_hand_offs

ROWS = PREFETCH * 2 + 37  # more than two prefetches
metadata = MetaData()
thing = Table(
    "thing",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), nullable=False, unique=True),
)


async def test_large_streamed_and_failing_statements(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    try:
        async with write_transaction(engine) as connection:
            await connection.run_sync(metadata.create_all)
            inserted = await connection.execute(
                insert(thing), [{"name": f"n{i:05d}"} for i in range(ROWS)]
            )
            assert inserted.rowcount == ROWS
            one = await connection.execute(insert(thing).values(name="last"))
            assert one.inserted_primary_key == (ROWS + 1,)

        async with read_transaction(engine) as connection:
            everything = (await connection.execute(select(thing.c.name).order_by(thing.c.id))).all()
            assert len(everything) == ROWS + 1 and everything[PREFETCH][0] == f"n{PREFETCH:05d}"
            streamed = await connection.stream(select(thing.c.id).order_by(thing.c.id))
            ids = [row[0] async for partition in streamed.partitions(300) for row in partition]
            assert ids == list(range(1, ROWS + 2))
            # A result read only in part, then another statement on the same connection.
            half = await connection.stream(select(thing.c.id).order_by(thing.c.id))
            assert (await half.fetchone()) == (1,)
            await half.close()
            count = await connection.scalar(select(func.count()).select_from(thing))
            assert count == ROWS + 1

        with pytest.raises(IntegrityError):
            async with write_transaction(engine) as connection:
                await connection.execute(insert(thing).values(name="n00000"))
        async with read_transaction(engine) as connection:  # the failed write left nothing
            assert await connection.scalar(select(func.count()).select_from(thing)) == ROWS + 1
    finally:
        await engine.dispose()


async def test_one_hand_off_per_statement(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each statement and COMMIT: one call into the connection thread each, BEGIN going with
    the first statement; the pool's reset of a connection after a COMMIT: none, nor a
    transaction that ran no statement (stock aiosqlite: 4 per statement, 1 per BEGIN and per
    reset)."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    try:
        async with write_transaction(engine) as connection:
            await connection.run_sync(metadata.create_all)
            await connection.execute(insert(thing).values(name="a"))
        calls = count_hand_offs(monkeypatch)
        async with read_transaction(engine) as connection:
            await connection.execute(select(thing).where(thing.c.id == 1))
            await connection.execute(select(thing).where(thing.c.name == "a"))
        assert len(calls) == 3  # BEGIN with the first statement, the second, COMMIT
        calls.clear()
        async with write_transaction(engine) as connection:
            await connection.execute(insert(thing).values(name="b"))
        assert len(calls) == 2
        calls.clear()
        async with write_transaction(engine):
            pass
        assert calls == []
    finally:
        await engine.dispose()


async def test_a_single_statement_commits_by_itself_in_one_hand_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`single_statement`, for work that is one statement (who is writing, a flow written back):
    no BEGIN, no COMMIT, one call into the connection thread; what it wrote stays."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    try:
        async with write_transaction(engine) as connection:
            await connection.run_sync(metadata.create_all)
        calls = count_hand_offs(monkeypatch)
        async with single_statement(engine) as connection:
            await connection.execute(insert(thing).values(name="alone"))
        assert len(calls) == 1
        async with single_statement(engine) as connection:
            found = await connection.scalar(select(thing.c.name))
        assert found == "alone" and len(calls) == 2
        raw = sqlite3.connect(tmp_path / "driver.db")  # another connection sees it: committed
        assert raw.execute("SELECT name FROM thing").fetchall() == [("alone",)]
        raw.close()
    finally:
        await engine.dispose()


async def test_the_first_statement_runs_inside_its_transaction(tmp_path: Path) -> None:
    """BEGIN travels with the first statement, whichever way it reaches the thread (our cursor,
    or the driver's own `executemany` as the registry's bulk upsert uses it): a transaction
    that fails after it leaves nothing, and a write transaction holds the write lock from its
    first statement (BEGIN IMMEDIATE)."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    try:
        async with write_transaction(engine) as connection:
            await connection.run_sync(metadata.create_all)

        with pytest.raises(RuntimeError):
            async with write_transaction(engine) as connection:
                await connection.execute(insert(thing).values(name="gone"))
                raise RuntimeError("after the first statement")
        with pytest.raises(RuntimeError):
            async with write_transaction(engine) as connection:
                driver = (await connection.get_raw_connection()).driver_connection
                assert driver is not None
                await driver.executemany("INSERT INTO thing (name) VALUES (?)", [("x",), ("y",)])
                raise RuntimeError("after the bulk insert")
        async with read_transaction(engine) as connection:
            assert await connection.scalar(select(func.count()).select_from(thing)) == 0

        async with write_transaction(engine) as connection:
            await connection.execute(select(thing.c.id))  # a read, yet the lock is taken
            other = sqlite3.connect(tmp_path / "driver.db", timeout=0.05, isolation_level=None)
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            other.close()
            await connection.execute(insert(thing).values(name="first"))
        async with read_transaction(engine) as connection:
            names = (await connection.execute(select(thing.c.name))).scalars().all()
            assert names == ["first"]
    finally:
        await engine.dispose()


async def test_a_transaction_begun_and_never_used_is_not_begun_on_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection thrown away after `begin()` and before any statement closes at once: its
    BEGIN IMMEDIATE is dropped, not run (and waited for) on the way out."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    try:
        async with write_transaction(engine) as connection:
            await connection.run_sync(metadata.create_all)
        calls = count_hand_offs(monkeypatch)
        async with engine.connect() as connection:
            connection = await connection.execution_options(**{_BEGIN_MODE: "IMMEDIATE"})
            await connection.begin()  # as write_transaction does
            await connection.invalidate()
        assert "_begun" not in calls and "close" in calls
    finally:
        await engine.dispose()
