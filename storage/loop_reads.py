"""Reads by key on the event loop's own thread, for an SQLite file (`Store.quick_read` for one
statement, `Store.quick_snapshot` for several that must see one moment).

Every update of a household first reads who is writing and the flow they are in
(`storage.visitors`): one read by key that SQLite answers in about 15 µs. Through aiosqlite it
costs far more than that in a running bot: the statement goes to the connection's thread, and the
event loop is woken again to take the rows back (about 0.5 ms of a 0.8 ms `/start`, bench/README
"Morning of 2026-12-08"). Here such a read runs where the update is handled, on a connection of
its own (SQLAlchemy's synchronous `sqlite+pysqlite`, the same statements and column types).

Why this never stalls the other chats:
- SQLite runs in WAL mode (storage/database.py), where a reader never waits for a writer;
- the connection waits for no lock (`busy_timeout` 0): where SQLite would make a reader wait
  (a database not in WAL mode while a writer commits, the recovery of a WAL after a crash), the
  statement goes the usual way instead, through aiosqlite's thread (`LoopConnection.execute`);
- it only reads (`query_only`), each statement by itself (autocommit) or a snapshot's few in
  one read transaction, so each read sees the database as it is at that moment (no cache);
  it is for reads of a few rows by key, not for a query that scans (that would hold every
  chat while it runs), and a block of them awaits nothing else (another block meanwhile would
  take the usual way, `LoopReads.connection`).

The connection belongs to the thread that opened it (the event loop's); from any other thread,
and for PostgreSQL or an in-memory database, reads take the usual way.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

import sqlalchemy
from sqlalchemy import Connection, CursorResult, Engine, Executable, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import StaticPool

# SQLite's primary result codes for "a lock is held": SQLITE_BUSY and SQLITE_LOCKED; and
# SQLITE_PROTOCOL, a reader that kept losing the race for the WAL's read locks (after its own
# retries, which sleep: under heavy contention only).
_WAIT_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_PROTOCOL)

Fallback = Callable[[], AbstractAsyncContextManager[AsyncConnection]]


def would_wait(error: OperationalError) -> bool:
    """SQLite refused because it would have had to wait for a lock."""
    code = getattr(error.orig, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _WAIT_CODES


class LoopConnection:
    """Enough of an `AsyncConnection` for the repositories' reads, for one `Store.quick_read`
    block: `execute` runs each statement on the loop's connection, or, where SQLite would make
    the block's first statement wait, the block's statements go through `fallback` instead.

    With `snapshot`, the block's statements read one moment of the database: the first begins a
    read transaction, `finish` ends it. In WAL mode only that first statement can meet a lock;
    once it has read, the rest of the transaction never waits. `finish` also closes every
    result of the block, so that a result left half read (an error while its rows were turned
    into records) cannot keep the connection on an old moment."""

    def __init__(self, connection: Connection, fallback: Fallback, *, snapshot: bool) -> None:
        self._connection = connection
        self._fallback = fallback
        self._snapshot = snapshot
        self._started = False
        self._began = False  # this block began the connection's read transaction
        self._results: list[CursorResult[Any]] = []
        self._elsewhere: AbstractAsyncContextManager[AsyncConnection] | None = None
        self._other: AsyncConnection | None = None

    @property
    def dialect(self) -> Dialect:
        return self._connection.dialect

    async def execute(
        self, statement: Executable, parameters: Mapping[str, Any] | None = None
    ) -> CursorResult[Any]:
        if self._other is not None:
            return await self._other.execute(statement, parameters)
        first = not self._started
        self._started = True
        if first:
            driver = _driver(self._connection)
            if driver.in_transaction:  # another block's moment: not this block's to read
                return await self._through_fallback(statement, parameters)
            if self._snapshot:
                driver.execute("BEGIN")
                self._began = True
        try:
            # Not buffered, unlike AsyncConnection's results (that would add a third to the
            # read): every repository reads its rows at once, before its next await.
            result = self._connection.execute(statement, parameters)
        except OperationalError as error:
            if not (first and would_wait(error)):
                raise
            self._end()
            return await self._through_fallback(statement, parameters)
        self._results.append(result)
        return result

    async def _through_fallback(
        self, statement: Executable, parameters: Mapping[str, Any] | None
    ) -> CursorResult[Any]:
        elsewhere = self._fallback()
        self._other = await elsewhere.__aenter__()
        self._elsewhere = elsewhere
        return await self._other.execute(statement, parameters)

    async def finish(self, error: BaseException | None) -> None:
        """End the block: close its results, end its read transaction, or leave the
        fallback's connection."""
        for result in self._results:
            result.close()
        self._results.clear()
        self._end()
        if self._elsewhere is not None:
            elsewhere, self._elsewhere, self._other = self._elsewhere, None, None
            await elsewhere.__aexit__(type(error) if error else None, error, None)

    def _end(self) -> None:
        if self._began:
            self._began = False
            driver = _driver(self._connection)
            if driver.in_transaction:
                driver.rollback()  # it only read


def _driver(connection: Connection) -> sqlite3.Connection:
    driver = connection.connection.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver


class LoopReads:
    """The event loop's read connection to the SQLite file of `engine`, opened on first use."""

    def __init__(self, engine: AsyncEngine) -> None:
        url = engine.url
        in_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
        self._url = url.set(drivername="sqlite+pysqlite") if in_file else None
        self._engine: Engine | None = None
        self._connection: Connection | None = None
        self._thread: int | None = None
        self._closed = False

    def connection(self) -> Connection | None:
        """This thread's read connection, ready for a block of reads; None where reads take
        the usual way (also while another block's read transaction is open: one that waits on
        something else, which a block of quick reads should not do)."""
        if self._url is None or self._closed:
            return None
        if self._connection is None:
            engine = sqlalchemy.create_engine(
                self._url, poolclass=StaticPool, isolation_level="AUTOCOMMIT"
            )
            event.listen(engine, "connect", _read_only)
            try:
                self._connection = engine.connect()
            except OperationalError:  # the file cannot be opened now: the usual way, this time
                engine.dispose()
                return None
            self._engine = engine
            self._thread = threading.get_ident()
        elif self._thread != threading.get_ident() or _driver(self._connection).in_transaction:
            return None
        return self._connection

    def close(self) -> None:
        """Close the connection; reads take the usual way from now on."""
        self._closed = True
        connection, engine = self._connection, self._engine
        self._connection = self._engine = None
        try:
            if connection is not None:
                connection.close()
        finally:
            if engine is not None:
                engine.dispose()


def _read_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=0")  # never wait on the loop: take the usual way instead
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()
