"""SQLite through aiosqlite's connection thread, with one hand-off per statement.

aiosqlite runs each sqlite3 call in the connection's own thread and hands the result back to the
event loop. SQLAlchemy's adapter makes four such calls per statement (make a cursor, execute,
fetch the rows, close the cursor), and each hand-off costs more than a point query itself: about
35 per update for 4 to 9 statements (bench/README.md, `updates.py`). Here the cursor is made,
executed, read (up to `PREFETCH` rows) and closed in one call; a larger result is read on in
further calls of `PREFETCH` rows, so streamed queries keep their memory bound. A transaction's
BEGIN (storage/database.py) goes with its first statement rather than in a hand-off of its own,
and a COMMIT or ROLLBACK with nothing begun costs none. Everything else (the thread, the queue,
commit, rollback, close) is aiosqlite's own, so a writer waiting for the lock never holds up other
chats. (The reads by key of a household's update do not come here: they run on the event loop's
own read connection, which never waits for a lock; storage/loop_reads.py.)

`create_engine` (storage/database.py) hands `dbapi()` to SQLAlchemy's `sqlite+aiosqlite`
dialect in place of the aiosqlite module.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from pathlib import Path
from types import ModuleType
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi

PREFETCH = 500  # rows read with the statement; a cursor with more stays open for the rest

Rows = list[Any]
Description = tuple[tuple[Any, ...], ...] | None


class OneHopCursor:
    """The cursor SQLAlchemy's aiosqlite adapter drives: `execute` does the work of four calls."""

    def __init__(self, owner: OneHopConnection) -> None:
        self._owner = owner
        self._open: sqlite3.Cursor | None = None  # only while rows remain to be read
        self._rows: deque[Any] = deque()
        self.description: Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> OneHopCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> OneHopCursor:
        await self.close()
        found = await self._owner.run(_execute, self._owner, sql, parameters)
        self._open, rows, self.description, self.rowcount, self.lastrowid = found
        self._rows = deque(rows)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> OneHopCursor:
        await self.close()
        self.rowcount, self.lastrowid = await self._owner.run(
            _execute_many, self._owner, sql, parameters
        )
        self.description = None
        return self

    async def fetchone(self) -> Any | None:
        if not self._rows:
            await self._read_on()
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Rows:
        wanted = size or self.arraysize
        while len(self._rows) < wanted and self._open is not None:
            await self._read_on()
        return [self._rows.popleft() for _ in range(min(wanted, len(self._rows)))]

    async def fetchall(self) -> Rows:
        rows = list(self._rows)
        self._rows.clear()
        if self._open is not None:
            rows += await self._owner.run(_read_rest, self._open)
            self._open = None
        return rows

    async def close(self) -> None:
        self._rows.clear()
        if self._open is not None:
            await self._owner.run(self._open.close)
            self._open = None

    async def _read_on(self) -> None:
        if self._open is None:
            return
        rows, finished = await self._owner.run(_read_more, self._open)
        self._rows.extend(rows)
        if finished:
            self._open = None


class OneHopConnection(aiosqlite.Connection):
    """aiosqlite's connection (its thread, queue, commit, rollback and close) with our cursor,
    and a BEGIN that travels with the transaction's first statement."""

    def __init__(self, connector: Any, iter_chunk_size: int) -> None:
        super().__init__(connector, iter_chunk_size)
        self._begin: str | None = None  # BEGIN ... to run before the next call in the thread

    def cursor(self) -> OneHopCursor:  # type: ignore[override]
        return OneHopCursor(self)  # no hand-off: the sqlite3 cursor comes with the first statement

    def begin_with_next_call(self, statement: str) -> None:
        """Run `statement` (BEGIN DEFERRED or IMMEDIATE) in the same hand-off as whatever runs
        next on the connection, instead of in one of its own: a transaction then starts with
        its first statement (and one that ends without any statement costs no hand-off)."""
        self._begin = statement

    async def commit(self) -> None:
        if self._begin is not None:  # begun, but nothing ran: nothing to commit
            self._begin = None
            return
        await super().commit()

    async def rollback(self) -> None:
        """Roll back, unless no transaction is open: the pool resets every connection it gets
        back, also after a COMMIT, and that reset then costs no hand-off. (Reading whether a
        transaction is open is safe from this thread: nothing else runs on the connection
        between two uses.)"""
        self._begin = None
        if self._connection is not None and not self.raw.in_transaction:
            return
        await super().rollback()

    async def close(self) -> None:
        self._begin = None  # a transaction begun and never used is not begun on the way out
        await super().close()

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """Every call into the thread (our cursor's, aiosqlite's own `execute`, `executemany`)
        passes here, so none can run outside a transaction that was begun."""
        begin, self._begin = self._begin, None
        if begin is not None:
            return await super()._execute(_begun, self.raw, begin, partial(fn, *args, **kwargs))  # type: ignore[no-untyped-call]
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    async def run(self, function: Any, *args: Any) -> Any:
        """`function(*args)` in the connection's thread."""
        return await self._execute(function, *args)

    @property
    def raw(self) -> sqlite3.Connection:
        connection: sqlite3.Connection = self._conn
        return connection


# These run in the connection's thread.


def _begun(connection: sqlite3.Connection, begin: str, then: Callable[[], Any]) -> Any:
    connection.execute(begin)
    return then()


def _execute(
    owner: OneHopConnection, sql: str, parameters: Sequence[Any]
) -> tuple[sqlite3.Cursor | None, Rows, Description, int, int | None]:
    cursor = owner.raw.cursor()
    cursor.execute(sql, parameters)
    rows: Rows = cursor.fetchmany(PREFETCH) if cursor.description else []
    left_open = cursor if len(rows) == PREFETCH else None
    description, rowcount, lastrowid = cursor.description, cursor.rowcount, cursor.lastrowid
    if left_open is None:
        cursor.close()
    return left_open, rows, description, rowcount, lastrowid


def _execute_many(
    owner: OneHopConnection, sql: str, parameters: Iterable[Sequence[Any]]
) -> tuple[int, int | None]:
    cursor = owner.raw.cursor()
    try:
        cursor.executemany(sql, parameters)
        return cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _read_more(cursor: sqlite3.Cursor) -> tuple[Rows, bool]:
    rows = cursor.fetchmany(PREFETCH)
    finished = len(rows) < PREFETCH
    if finished:
        cursor.close()
    return rows, finished


def _read_rest(cursor: sqlite3.Cursor) -> Rows:
    try:
        return cursor.fetchall()
    finally:
        cursor.close()


def connect(database: str | Path, **kwargs: Any) -> OneHopConnection:
    """As `aiosqlite.connect`, with our connection."""

    def connector() -> sqlite3.Connection:
        connection: sqlite3.Connection = sqlite3.connect(str(database), **kwargs)
        return connection

    return OneHopConnection(connector, 64)


def dbapi() -> AsyncAdapt_aiosqlite_dbapi:
    """The DBAPI for SQLAlchemy's aiosqlite dialect (`create_engine(..., module=dbapi())`)."""
    module = ModuleType("sapa_aiosqlite")
    module.__dict__.update(vars(aiosqlite))
    module.Connection = OneHopConnection  # type: ignore[attr-defined]
    module.connect = connect  # type: ignore[attr-defined]
    return AsyncAdapt_aiosqlite_dbapi(module, sqlite3)
