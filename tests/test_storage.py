"""Storage on SQLite and PostgreSQL: migrations, connection settings, concurrency, repositories."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.domain.models import ComplaintCategory, Role
from bot.services.complaints import ComplaintPolicy, file_complaint
from bot.services.payout_queue import QueuePolicy, settle_queue
from bot.texts.i18n import Translator
from jobs.planner import PlanPolicy, plan
from storage import database
from storage.database import create_engine, write_transaction
from storage.migrate import (
    DatabaseNotMigrated,
    check_current,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from storage.schema import app_secret, metadata, notification
from storage.secrets import NikKeyMismatch, NikKeyNotConfigured
from storage.store import Store
from tests.conftest import NOW, POSTGRES_URL
from tests.support.helpers import import_valid_files
from tests.support.outbox import WIB


async def test_migrations_on_an_empty_database(empty_engine: AsyncEngine) -> None:
    with pytest.raises(DatabaseNotMigrated):
        await check_current(empty_engine)
    assert await current_revision(empty_engine) is None

    await upgrade(empty_engine)
    await upgrade(empty_engine)  # a second run changes nothing
    assert await current_revision(empty_engine) == head_revision()
    await check_current(empty_engine)

    async with empty_engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert {t.name for t in metadata.sorted_tables} <= tables


async def test_store_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    with pytest.raises(DatabaseNotMigrated):
        await Store.open(f"sqlite+aiosqlite:///{tmp_path / 'new.db'}")


async def test_sqlite_connection_settings(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    async with engine.connect() as connection:
        journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
        foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one()
        busy = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
    await engine.dispose()
    assert (journal, foreign_keys) == ("wal", 1)
    assert busy >= 5000


async def test_two_writers_wait_for_each_other(store: Store, tmp_path: Path) -> None:
    """Read-modify-write from two connections (as from two processes): neither fails, none lost."""
    url = store.engine.url.render_as_string(hide_password=False)
    options = {}
    if store.engine.dialect.name == "postgresql":
        search_path = await _search_path(store.engine)
        options = {"connect_args": {"server_settings": {"search_path": search_path}}}
    engines = [create_engine(url, **options) for _ in range(2)]  # type: ignore[arg-type]
    async with store.write() as repo:
        await repo.sequences.next_value("counter")  # starts at 1

    async def increment(engine: AsyncEngine) -> None:
        async with write_transaction(engine) as connection:
            # SQLite: BEGIN IMMEDIATE already holds the write lock. PostgreSQL: lock the row.
            lock = " FOR UPDATE" if connection.dialect.name == "postgresql" else ""
            query = text("SELECT value FROM sequence WHERE name = 'counter'" + lock)
            value = (await connection.execute(query)).scalar_one()
            await asyncio.sleep(0.05)  # the other writer tries to come in here
            await connection.execute(
                text("UPDATE sequence SET value = :v WHERE name = 'counter'"), {"v": value + 1}
            )

    await asyncio.gather(*(increment(engine) for engine in engines))
    for engine in engines:
        await engine.dispose()
    async with store.read() as repo:
        value = (await repo.connection.execute(text("SELECT value FROM sequence"))).scalar_one()
    assert value == 3


async def test_a_write_cancelled_while_it_waits_gives_its_connection_back(store: Store) -> None:
    """A chat's write cancelled while it waits for the lock (the bot stopping), and cancelled
    again while its connection is being given back: nothing of it is kept, the pool holds no
    connection out, and the next write works. (`storage.database.connected` gives connections
    back without SQLAlchemy's shielded cleanup task.)"""
    holding, release = asyncio.Event(), asyncio.Event()

    async def holder() -> None:
        async with store.write() as repo:
            await repo.sequences.next_value("held")
            holding.set()
            await release.wait()

    async def waiter() -> None:
        async with store.write() as repo:
            await repo.sequences.next_value("held")  # waits for the holder's lock

    held = asyncio.create_task(holder())
    await holding.wait()
    waiting = asyncio.create_task(waiter())
    await asyncio.sleep(0.2)
    waiting.cancel()
    await asyncio.sleep(0.05)
    waiting.cancel()  # again, while it gives its connection back
    release.set()
    await held
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    assert waiting.cancelled()
    await asyncio.sleep(0.2)  # a discarded connection's thread or socket winds down
    assert store.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    async with store.write() as repo:
        assert await repo.sequences.next_value("held") == 2  # the cancelled write left nothing


async def _search_path(engine: AsyncEngine) -> str:
    async with engine.connect() as connection:
        return str((await connection.execute(text("SHOW search_path"))).scalar_one())


async def test_sequences_count_up_under_concurrency(store: Store) -> None:
    async def take() -> int:
        async with store.write() as repo:
            return await repo.sequences.next_value("ticket:2612")

    numbers = await asyncio.gather(*(take() for _ in range(20)))
    assert sorted(numbers) == list(range(1, 21))
    async with store.write() as repo:
        assert await repo.sequences.next_value("ticket:2701") == 1


async def test_a_failed_transaction_leaves_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.write() as repo:
            await repo.sequences.next_value("rolled-back")
            raise RuntimeError("boom")
    async with store.write() as repo:
        assert await repo.sequences.next_value("rolled-back") == 1


async def test_people_and_times_in_utc(store: Store) -> None:
    wib = timezone(timedelta(hours=7))
    async with store.write() as repo:
        added = await repo.people.add(555, Role.ADMIN, datetime(2026, 12, 1, 10, 0, tzinfo=wib))
        await repo.people.set_language(added.id, "en")
    async with store.read() as repo:
        found = await repo.people.by_telegram_id(555)
        assert await repo.people.by_telegram_id(556) is None
    assert found is not None and found.role is Role.ADMIN and found.language == "en"
    assert found.created_at == datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    assert found.created_at.tzinfo is not None


async def test_naive_datetimes_are_refused(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        async with store.write() as repo:
            await repo.people.add(1, Role.ADMIN, datetime(2026, 12, 1, 10, 0))


async def test_outbox_dedup_key_is_unique(store: Store) -> None:
    async with store.write() as repo:
        person = await repo.people.add(777, Role.ADMIN, NOW)
    row = {"person_id": person.id, "template_key": "reminder.posyandu", "params": {"a": 1},
           "due_at": NOW, "status": "pending", "attempts": 0, "created_at": NOW,
           "dedup_key": "reminder:posyandu:1:2026-12-08:H-1"}  # fmt: skip
    async with store.write() as repo:
        await repo.connection.execute(notification.insert().values(**row))
    with pytest.raises(IntegrityError):
        async with store.write() as repo:
            await repo.connection.execute(notification.insert().values(**row))
    async with store.read() as repo:
        rows = (await repo.connection.execute(select(notification))).all()
    assert len(rows) == 1 and rows[0].params == {"a": 1}


async def test_foreign_keys_are_enforced(store: Store) -> None:
    row = {"person_id": 99999, "template_key": "x", "params": {}, "due_at": NOW,
           "status": "pending", "attempts": 0, "created_at": NOW, "dedup_key": "x"}  # fmt: skip
    with pytest.raises(IntegrityError):
        async with store.write() as repo:
            await repo.connection.execute(notification.insert().values(**row))


async def test_nik_key_is_never_kept_and_a_changed_key_is_refused(store: Store) -> None:
    key = b"ab" * 32
    async with store.write() as repo:
        assert await repo.secrets.nik_key(key) == key
    async with store.write() as repo:
        assert await repo.secrets.nik_key(key) == key
        values = [v for (v,) in await repo.connection.execute(select(app_secret.c.value))]
    assert all(key.decode() not in value for value in values)  # only a fingerprint is kept
    with pytest.raises(NikKeyMismatch):
        async with store.write() as repo:
            await repo.secrets.nik_key(b"another key")
    with pytest.raises(NikKeyNotConfigured):
        async with store.write() as repo:
            await repo.secrets.nik_key(None)


async def test_migrations_match_the_schema(empty_engine: AsyncEngine) -> None:
    """What Alembic builds is what `storage/schema.py` declares (no forgotten migration)."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    await upgrade(empty_engine)

    def differences(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, metadata))

    async with empty_engine.connect() as connection:
        found = await connection.run_sync(differences)
    assert found == []


async def test_migration_0002_downgrades_and_upgrades(empty_engine: AsyncEngine) -> None:
    await upgrade(empty_engine)
    await downgrade(empty_engine, "0001")
    async with empty_engine.connect() as connection:
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert "link_code" not in tables
    await upgrade(empty_engine)
    assert await current_revision(empty_engine) == head_revision()


async def test_an_outbox_row_has_exactly_one_recipient(store: Store) -> None:
    row = {"template_key": "x", "params": {}, "due_at": NOW, "status": "pending",
           "attempts": 0, "created_at": NOW, "dedup_key": "nobody"}  # fmt: skip
    with pytest.raises(IntegrityError):
        async with store.write() as repo:
            await repo.connection.execute(notification.insert().values(**row))


async def test_migrations_0015_to_0019_keep_triggers_and_rows_down_and_up(
    store: Store, t_id: Translator
) -> None:
    """Back to 0014 and up again on a database in use: the planner's triggers are what each
    revision declares (0018 watches two more `person` columns), and no row of the tables the
    migrations alter is lost (a batch "move and copy" on SQLite would drop both)."""
    await import_valid_files(store, t_id)
    async with store.write() as repo:
        household_id = (await repo.households.ids_by_program_number())["RTS-2026-0001"]
        mother = await repo.people.add(81001, Role.HOUSEHOLD, NOW, household_id=household_id)
        household = await repo.households.get(household_id)
    assert household is not None
    await plan(store, NOW, PlanPolicy(WIB))  # a follow-up, reminders
    async with store.write() as repo:
        payout = (await repo.payouts.from_day(NOW.date(), None))[0]
        child = (await repo.households.members(household_id))[-1]
        await repo.attendance.add_reported(
            child.id, household.posyandu_id, NOW.date(), None, mother.id, NOW
        )
    await settle_queue(store, payout, QueuePolicy(WIB), NOW)
    await file_complaint(store, mother, household, ComplaintCategory.PAYOUT,
                         "(pesan suara)", None, now=NOW, policy=ComplaintPolicy(WIB),
                         voice_file_id="AwACvoice")  # fmt: skip

    async def triggers() -> dict[str, str]:
        if store.engine.dialect.name == "sqlite":
            query = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = (
                "SELECT t.tgname || ' ' || c.relname, pg_get_triggerdef(t.oid) FROM pg_trigger t "
                "JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
            )
        async with store.read() as repo:
            return {name: sql for name, sql in await repo.connection.execute(text(query))}

    async def counts(tables: list[str]) -> dict[str, int]:
        async with store.read() as repo:
            found = {}
            for name in tables:
                query = text(f'SELECT count(*) FROM "{name}"')
                found[name] = int((await repo.connection.execute(query)).scalar_one())
            return found

    kept = [t.name for t in metadata.sorted_tables if t.name != "follow_up"]
    at_head, rows = await triggers(), await counts(kept)
    assert all(rows[name] for name in ("queue_slot", "attendance_report", "complaint", "person"))
    await downgrade(store.engine, "0014")
    at_0014 = await triggers()
    assert at_0014.keys() == at_head.keys()

    def person_update(triggers: dict[str, str]) -> str:
        [sql] = [sql for name, sql in triggers.items() if "person" in name and "UPDATE" in sql]
        return sql

    assert "reminders_muted_at" in person_update(at_head)
    assert "reminders_muted_at" not in person_update(at_0014)
    assert await counts(kept) == rows
    await upgrade(store.engine)
    assert await triggers() == at_head
    assert await counts(kept) == rows


async def _backend(store: Store) -> int:
    """The server process of the pooled connection a block gets."""
    async with store.single() as repo:
        return int((await repo.connection.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def _server_drops(pid: int) -> None:
    """The server ends that connection, as a restart or a dropped network would."""
    admin = create_engine(POSTGRES_URL)
    try:
        async with admin.begin() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await admin.dispose()


async def test_a_pooled_connection_the_server_dropped_while_it_sat_idle_is_replaced_unseen(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: a connection that sat in the pool through a server restart is pinged before
    use and replaced; the block using it never sees the error."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to lose")
    dropped = await _backend(store)
    await _server_drops(dropped)
    monkeypatch.setattr(database, "IDLE_PING_SECONDS", 0.0)  # it has sat long enough
    assert await _backend(store) != dropped


async def test_a_connection_dropped_just_after_its_use_fails_once_then_the_pool_is_renewed(
    store: Store,
) -> None:
    """PostgreSQL: a connection used a moment ago is not pinged (a ping at every use doubled
    the cost of a block). Dropped in between, the one statement on it fails with a
    disconnect, SQLAlchemy empties the pool, and the next block works."""
    if store.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no server to lose")
    dropped = await _backend(store)
    await _server_drops(dropped)
    with pytest.raises(DBAPIError) as raised:
        await _backend(store)
    assert raised.value.connection_invalidated
    assert await _backend(store) != dropped
