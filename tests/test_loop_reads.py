"""Reads on the event loop's own SQLite connection (storage/loop_reads.py, `Store.quick_read`):
they see the database as it is now, never make the loop wait for a lock, and never write."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, insert, select
from sqlalchemy.exc import OperationalError

from bot.domain.models import Role
from storage.database import create_engine
from storage.loop_reads import LoopReads
from storage.schema import person
from storage.store import Store
from tests.conftest import NOW
from tests.support.helpers import count


def sqlite_file(store: Store) -> Path:
    if store.engine.dialect.name != "sqlite":
        pytest.skip("the loop's read connection is SQLite's")
    assert store.engine.url.database is not None
    return Path(store.engine.url.database)


@contextmanager
def statements_by_driver() -> Iterator[Counter[str]]:
    """Statements run meanwhile, by driver: `pysqlite` on the loop's connection, `aiosqlite`
    through the connection thread (the usual way)."""
    counts: Counter[str] = Counter()

    def statement(connection: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if not sql.startswith("BEGIN"):
            counts[connection.dialect.driver] += 1

    event.listen(Engine, "before_cursor_execute", statement)
    try:
        yield counts
    finally:
        event.remove(Engine, "before_cursor_execute", statement)


async def role_of(store: Store, telegram_user_id: int, *, on_the_loop: bool = True) -> Role | None:
    """The person's role, read by `quick_read`; checks that the read ran on the loop (or not)."""
    with statements_by_driver() as counts:
        async with store.quick_read() as repo:
            _saved, found, _household = await repo.visitors.load(telegram_user_id)
    assert counts == (Counter(pysqlite=1) if on_the_loop else Counter(aiosqlite=1))
    return found.role if found is not None else None


async def test_a_change_made_by_another_process_is_read_at_once(store: Store) -> None:
    """The CLI (another process, another connection) makes someone an admin: the very next
    read of the bot sees it; nothing is kept from the read before."""
    path = sqlite_file(store)
    assert await role_of(store, 5001) is None  # the loop's connection is open now
    cli = Store(create_engine(f"sqlite+aiosqlite:///{path}"))
    try:
        async with cli.write() as repo:
            await repo.people.add(5001, Role.ADMIN, NOW)
    finally:
        await cli.close()
    assert await role_of(store, 5001) is Role.ADMIN


async def test_a_read_that_would_wait_takes_the_connection_thread_and_the_loop_keeps_turning(
    store: Store,
) -> None:
    """Another process holds the file in exclusive locking mode (a tool run by hand, or SQLite
    recovering the WAL after a crash): SQLite would make any reader wait. The read does not wait on the event loop: it goes through aiosqlite's thread, which
    waits until the lock is let go, while other chats' work goes on."""
    path = sqlite_file(store)
    async with store.write() as repo:
        await repo.people.add(5002, Role.ADMIN, NOW)
    await store.engine.dispose()  # so that nothing else has the file open (the pool reopens)

    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("UPDATE person SET language = 'su' WHERE telegram_user_id = 5002")
    holder.execute("COMMIT")  # the exclusive lock stays until the connection closes

    ticks = 0

    async def other_chats() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(other_chats())
    asyncio.get_running_loop().call_later(0.3, holder.close)
    try:
        with statements_by_driver() as counts:
            async with store.quick_read() as repo:
                _saved, found, _household = await repo.visitors.load(5002)
    finally:
        ticking.cancel()
    assert counts == Counter(pysqlite=1, aiosqlite=1)  # tried on the loop, read by the thread
    assert found is not None and found.language == "su"  # read after the lock was let go
    assert ticks >= 10  # the loop turned all along the 0.3 s wait
    assert await role_of(store, 5002) is Role.ADMIN  # and the next read on the loop again


async def test_the_loop_connection_refuses_to_write(store: Store) -> None:
    sqlite_file(store)
    with pytest.raises(OperationalError, match="readonly"):
        async with store.quick_read() as repo:
            values = {"telegram_user_id": 5003, "role": "admin", "created_at": NOW}
            await repo.connection.execute(insert(person).values(values))
    assert await count(store, person) == 0


async def test_reads_take_the_usual_way_where_the_loop_has_no_connection(tmp_path: Path) -> None:
    """PostgreSQL, an in-memory SQLite database, and any thread but the one that opened it."""
    postgres = create_engine("postgresql+asyncpg://postgres@127.0.0.1:5432/test")
    memory = create_engine("sqlite+aiosqlite:///:memory:")
    try:
        assert LoopReads(postgres).connection() is None
        assert LoopReads(memory).connection() is None
    finally:
        await postgres.dispose()
        await memory.dispose()

    in_file = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'sapa.db'}")
    reads = LoopReads(in_file)
    try:
        assert reads.connection() is not None
        elsewhere: list[object] = []
        thread = threading.Thread(target=lambda: elsewhere.append(reads.connection()))
        thread.start()
        thread.join()
        assert elsewhere == [None]
    finally:
        reads.close()
        await in_file.dispose()


def another_process_adds(path: Path, telegram_user_id: int) -> None:
    """A write by another connection, made without an await (nothing else runs meanwhile)."""
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute(
            "INSERT INTO person (telegram_user_id, role, reachable, created_at)"
            " VALUES (?, 'admin', 1, '2026-12-08 03:00:00.000000')",
            (telegram_user_id,),
        )
    finally:
        other.close()


async def test_a_snapshot_reads_one_moment_and_a_read_after_it_sees_the_next(
    store: Store,
) -> None:
    path = sqlite_file(store)
    with statements_by_driver() as counts:
        async with store.quick_snapshot() as repo:
            _saved, first, _household = await repo.visitors.load(5010)
            another_process_adds(path, 5010)
            _saved, again, _household = await repo.visitors.load(5010)
            # A quick read inside the block cannot share its moment: it takes the usual way.
            async with store.quick_read() as inner:
                _saved, now, _household = await inner.visitors.load(5010)
    assert counts == Counter(pysqlite=2, aiosqlite=1)
    assert first is None and again is None  # the moment the block began
    assert now is not None and now.role is Role.ADMIN
    assert await role_of(store, 5010) is Role.ADMIN  # the block's transaction ended


async def test_a_snapshot_that_would_wait_reads_through_the_connection_thread(
    store: Store,
) -> None:
    path = sqlite_file(store)
    async with store.write() as repo:
        await repo.people.add(5011, Role.ADMIN, NOW)
    await store.engine.dispose()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    holder.execute("UPDATE person SET language = 'en' WHERE telegram_user_id = 5011")
    holder.execute("COMMIT")
    asyncio.get_running_loop().call_later(0.2, holder.close)
    with statements_by_driver() as counts:
        async with store.quick_snapshot() as repo:
            _saved, found, _household = await repo.visitors.load(5011)
            _saved, stranger, _household = await repo.visitors.load(5012)
    assert counts == Counter(pysqlite=1, aiosqlite=2)  # both through the thread, after the try
    assert found is not None and found.language == "en" and stranger is None
    assert await role_of(store, 5011) is Role.ADMIN  # on the loop again


async def test_a_result_left_half_read_by_an_error_does_not_keep_an_old_moment(
    store: Store,
) -> None:
    """An error while a result's rows are being read (a value the code does not know, say)
    leaves the result half read; the block closes it, so the next read sees the database as
    it is, not as it was when that result began."""
    path = sqlite_file(store)
    async with store.write() as repo:
        for telegram_user_id in (5020, 5021, 5022):
            await repo.people.add(telegram_user_id, Role.ADMIN, NOW)
    with pytest.raises(LookupError):
        async with store.quick_read() as repo:
            rows = await repo.connection.execute(select(person.c.telegram_user_id))
            next(iter(rows))
            raise LookupError("a value the code does not know")
    another_process_adds(path, 5023)
    assert await role_of(store, 5023) is Role.ADMIN


async def test_a_block_that_reads_while_another_holds_its_moment_neither_shares_nor_ends_it(
    store: Store,
) -> None:
    """A quick read entered before a snapshot began (it awaited something first) reads the
    database as it is, through the thread, and leaving it does not end the snapshot."""
    path = sqlite_file(store)
    early_block = store.quick_read()
    with statements_by_driver() as counts:
        early = await early_block.__aenter__()
        async with store.quick_snapshot() as snapshot:
            _saved, before, _household = await snapshot.visitors.load(5030)
            another_process_adds(path, 5030)
            _saved, now, _household = await early.visitors.load(5030)
            await early_block.__aexit__(None, None, None)
            _saved, still, _household = await snapshot.visitors.load(5030)
    assert now is not None and now.role is Role.ADMIN
    assert before is None and still is None  # the snapshot kept its moment to the end
    assert counts == Counter(pysqlite=2, aiosqlite=1)
    assert await role_of(store, 5030) is Role.ADMIN
