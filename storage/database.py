"""Engine creation and transactions for SQLite and PostgreSQL.

This is the documented dialect switch: everything that differs between the two databases lives
here (connection pragmas, how a write transaction begins, the upsert construct). Repositories
above it write portable SQLAlchemy Core.

SQLite runs in WAL mode with a busy timeout and foreign keys on. Write transactions start with
`BEGIN IMMEDIATE`, so two writers queue for the lock (up to the busy timeout) instead of failing
half-way when both try to upgrade a read lock. Read transactions start with a plain `BEGIN`, so
readers never wait for writers. Migrations run with foreign keys off (`schema_transaction`).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Insert, Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from storage import sqlite_driver

SQLITE_BUSY_TIMEOUT_MS = 30_000
_BEGIN_MODE = "sapa_begin_mode"


class DatabaseUnreachable(Exception):
    """The database server (or the SQLite file) cannot be opened; the message says why."""


class ForeignKeysBroken(Exception):
    """After a migration on SQLite, rows reference rows that do not exist (the message names
    the tables); the migration was rolled back."""


def create_engine(url: str, **engine_options: Any) -> AsyncEngine:
    """An async engine for a `sqlite+aiosqlite` or `postgresql+asyncpg` URL.

    An SQLite file in a folder that does not exist is refused here, with a clear reason, rather
    than at the first connection.
    """
    parsed = make_url(url)
    folder = sqlite_folder(url)
    if folder is not None and not folder.is_dir():
        raise DatabaseUnreachable(f"the folder {folder} does not exist")
    if folder is not None and parsed.database:
        _create_private(Path(parsed.database))
    if parsed.get_backend_name() == "sqlite":
        options = {"module": sqlite_driver.dbapi()} | engine_options
        engine = create_async_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **options
        )
        configure_sqlite(engine)
        return engine
    # Up to 40 connections: the bot's concurrent updates (SAPA_CONCURRENT_UPDATES, 32) and its
    # jobs; two replicas then stay well inside PostgreSQL's default of 100.
    options = {"pool_size": 10, "max_overflow": 30} | engine_options
    engine = create_async_engine(url, **options)
    ping_when_idle(engine)
    return engine


# A pooled connection unused for longer than this is checked before it is used again.
IDLE_PING_SECONDS = 10.0
_LAST_USED = "sapa_last_used"


def ping_when_idle(engine: AsyncEngine) -> None:
    """Check a pooled PostgreSQL connection with a ping before use, when it has sat unused for
    IDLE_PING_SECONDS; a dead one is replaced at once (the pool tries a new connection).

    SQLAlchemy's `pool_pre_ping` pings at every use: a round trip more for each of the two or
    three blocks of every update, which doubled a one-statement block (0.48 -> 1.0 ms here).
    Connections that were used a moment ago are what a busy bot takes; the ones a restart of the
    server or a dropped network has killed are those that sat through it, and those are
    pinged. Should the server restart in the seconds between two uses, the statement on that
    connection fails, SQLAlchemy recognises the disconnect and empties the pool, and the next
    one succeeds (tests/test_storage.py)."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connected(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def _given_back(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last_used = record.info.get(_LAST_USED)
        if last_used is not None and time.monotonic() - last_used < IDLE_PING_SECONDS:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except Exception as error:  # the connection is dead: let the pool make a new one
            raise DisconnectionError() from error
        if not alive:
            raise DisconnectionError()


def _create_private(path: Path) -> None:
    """Create a new database file readable by its owner only (0600) before SQLite does (SQLite
    would follow the umask, often 0644); its -wal and -shm files take the same mode."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def sqlite_folder(url: str) -> Path | None:
    """The folder an SQLite database file lives in (None for other databases or in-memory)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database:
        return None
    if parsed.database == ":memory:":
        return None
    return Path(parsed.database).parent


def configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module; we emit BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted rows are overwritten, not left readable in free pages of the file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        mode = connection.get_execution_options().get(_BEGIN_MODE, "DEFERRED")
        if mode is None:  # `single_statement`: the statement commits by itself
            return
        driver = connection.connection.driver_connection
        if isinstance(driver, sqlite_driver.OneHopConnection):  # sent with the first statement
            driver.begin_with_next_call(f"BEGIN {mode}")
        else:
            connection.exec_driver_sql(f"BEGIN {mode}")


@asynccontextmanager
async def connected(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """`engine.connect()`, given back to the pool by a plain `close()`.

    SQLAlchemy's own `async with engine.connect()` closes in a task of its own, shielded from
    cancellation: a task created and two turns of the event loop more for every connection
    used, about 35 µs, paid several times by every update. Here a cancellation that arrives
    while the connection is being given back (only when that waits on the database: a
    rollback after an error, PostgreSQL's reset) lets SQLAlchemy's pool discard that
    connection rather than return it half reset: the pool stays whole, a connection is made
    anew later.
    """
    connection = await engine.connect()
    try:
        yield connection
    finally:
        await connection.close()


def _single_statement_engine(engine: AsyncEngine) -> AsyncEngine:
    """The engine (the same pool) for `single_statement`: its connections run each statement as
    a transaction of its own."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{_BEGIN_MODE: None})
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def _write_engine(engine: AsyncEngine) -> AsyncEngine:
    """The engine (the same pool) for `write_transaction`: on SQLite, BEGIN IMMEDIATE."""
    return engine.execution_options(**{_BEGIN_MODE: "IMMEDIATE"})


def single_statement(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection]:
    """A connection for work that is one statement, read or write: it commits by itself, so
    there is no BEGIN and no COMMIT to wait for (two round trips on PostgreSQL, a hand-off to the
    connection thread on SQLite). Each statement run on it is its own transaction: work of two
    statements that must hold together belongs in `write_transaction` or `read_transaction`.
    (`Transactions.single` is the same, without setting up the engine at each call.)"""
    return connected(_single_statement_engine(engine))


def write_transaction(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection]:
    """A transaction that will write: on SQLite it holds the write lock from its first statement."""
    return _transaction(_write_engine(engine))


class Transactions:
    """The connections the store hands out, on one engine and its pool: each kind's options
    are set once here, on an engine of their own, instead of on every connection (a call into
    SQLAlchemy's greenlet each time)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._single = _single_statement_engine(engine)
        self._write = _write_engine(engine)
        self._read = engine

    def single(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """See `single_statement`."""
        return connected(self._single)

    def write(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """See `write_transaction`."""
        return _transaction(self._write)

    def read(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """See `read_transaction`."""
        return _transaction(self._read)


@asynccontextmanager
async def schema_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """The write transaction a migration runs in.

    On SQLite its connection has foreign keys off. A batch "move and copy" (how Alembic alters a
    table on SQLite) drops the old table; with foreign keys on, dropping it deletes its rows first
    and, through ON DELETE CASCADE, every row of the tables that reference it (upgrading through
    migration 0007 lost the complaints' history that way). The switch does nothing inside a
    transaction, so it is turned off before BEGIN and on again after COMMIT or ROLLBACK. Before
    committing, `PRAGMA foreign_key_check` must find no row that references a missing one:
    otherwise ForeignKeysBroken, and nothing of the migration is kept.

    On PostgreSQL, where tables are altered in place, it is `write_transaction`.
    """
    if engine.dialect.name != "sqlite":
        async with write_transaction(engine) as connection:
            yield connection
        return
    async with engine.connect() as connection:
        await connection.run_sync(_set_foreign_keys, False)
        failed = False
        try:
            connection = await connection.execution_options(**{_BEGIN_MODE: "IMMEDIATE"})
            async with connection.begin():
                yield connection
                await connection.run_sync(_check_foreign_keys)
        except BaseException:
            failed = True
            raise
        finally:
            try:
                await connection.run_sync(_set_foreign_keys, True)
            except Exception:
                await connection.invalidate()  # never back into the pool with foreign keys off
                if not failed:  # else the migration's own error is the one to see
                    raise


def _set_foreign_keys(connection: Connection, on: bool) -> None:
    """`PRAGMA foreign_keys` on the driver connection, outside any transaction (SQLAlchemy would
    begin one before a statement of its own); read back, since in a transaction it stays as it
    was."""
    cursor = connection.connection.cursor()
    try:
        cursor.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
        cursor.execute("PRAGMA foreign_keys")
        row = cursor.fetchone()
    finally:
        cursor.close()
    if row is None or bool(row[0]) != on:
        raise RuntimeError(f"could not turn SQLite foreign keys {'on' if on else 'off'}")


def _check_foreign_keys(connection: Connection) -> None:
    """Raise ForeignKeysBroken if any row references a row that does not exist."""
    broken: dict[tuple[str, str], list[int | None]] = {}
    for table, rowid, parent, _fkid in connection.exec_driver_sql("PRAGMA foreign_key_check"):
        broken.setdefault((table, parent), []).append(rowid)
    if not broken:
        return
    found = "; ".join(
        f"{table}: {len(rowids)} row{'s' if len(rowids) > 1 else ''} "
        f"(rowid {', '.join(str(r) for r in rowids[:5])}{', ...' if len(rowids) > 5 else ''}) "
        f"referencing a missing {parent}"
        for (table, parent), rowids in sorted(broken.items())
    )
    raise ForeignKeysBroken(
        f"after the migration, rows reference rows that do not exist: {found}. "
        "The migration was rolled back; the database is as it was."
    )


def read_transaction(engine: AsyncEngine) -> AbstractAsyncContextManager[AsyncConnection]:
    """A transaction that only reads: a consistent snapshot, never blocking writers."""
    return _transaction(engine)


@asynccontextmanager
async def _transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction on one of the engine's connections, begun as the engine's options say."""
    async with connected(engine) as connection, connection.begin():
        yield connection


DIALECTS = ("sqlite", "postgresql")


def upsert(connection: AsyncConnection, table: Table) -> Any:
    """The dialect's INSERT that supports `.on_conflict_do_update(...)` (same API on both)."""
    return upsert_for(connection.dialect.name, table)


def upsert_for(dialect_name: str, table: Table) -> Any:
    """`upsert` for a dialect named beforehand: for a statement built once per dialect."""
    if dialect_name == "sqlite":
        return sqlite.insert(table)
    if dialect_name == "postgresql":
        return postgresql.insert(table)
    raise RuntimeError(f"unsupported database {dialect_name}")


def excluded(statement: Insert) -> Any:
    """The `excluded` pseudo-table of an upsert statement made by `upsert`."""
    return statement.excluded  # type: ignore[attr-defined]
