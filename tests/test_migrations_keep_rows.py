"""Migrations keep the rows of the tables they rebuild, and of the tables that reference those.

On SQLite a batch "move and copy" (migrations 0007, 0008, 0013, 0014 on the way up) drops the old
table. With foreign keys on, dropping it first deletes its rows, and ON DELETE CASCADE with them
every row that references them: upgraded through 0007, a database lost its complaints' history
(`complaint_event`). `storage.migrate` turns foreign keys off on SQLite for the migration, checks
them before it commits, and turns them on again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, MetaData, inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.database import ForeignKeysBroken
from storage.migrate import current_revision, downgrade, head_revision, upgrade

BEFORE = "0006"  # the last revision before the first batch rebuild of a table with children
AT = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
EVENTS = {  # complaint id -> its history, as the bot writes it
    1: ["filed", "status_changed", "note"],
    2: ["filed", "escalated", "status_changed", "resolved"],
}


def _rows() -> dict[str, list[dict[str, Any]]]:
    """A little of everything at revision 0006, parents first: a household with a member, its
    account, two complaints with their history, reports, messages, links, a payout queue."""
    # fmt: off
    events = [
        {"complaint_id": complaint, "at": AT + timedelta(hours=n), "kind": kind,
         "actor_person_id": 1, "status": "open" if kind == "filed" else None,
         "level": "companion" if kind == "filed" else None, "note": f"{kind} {complaint}"}
        for complaint, kinds in EVENTS.items()
        for n, kind in enumerate(kinds)
    ]
    complaint = {"household_id": 1, "filed_by": 1, "category": "payout", "text": "belum cair",
                 "status": "open", "level": "companion", "deadline_at": AT + timedelta(days=3),
                 "created_at": AT, "updated_at": AT}
    return {
        "kecamatan": [{"id": 1, "name": "Labuan", "name_key": "labuan"}],
        "desa": [{"id": 1, "kecamatan_id": 1, "name": "Caringin", "name_key": "caringin"}],
        "posyandu": [{"id": 1, "code": "P-LBN-01", "name": "Mawar", "desa_id": 1,
                      "schedule": "monthly:2:tue"}],
        "staff": [{"id": 1, "code": "PD-01", "name": "Siti", "role": "companion",
                   "kecamatan_id": 1, "posyandu_id": None, "active": True}],
        "household": [{"id": 1, "program_number": "RTS-2026-0001", "head_name": "Neneng",
                       "nik_masked": "3601********0001", "nik_digest": "a" * 64,
                       "nik_tail_digest": "b" * 64, "desa_id": 1, "posyandu_id": 1,
                       "companion_id": 1, "active": True, "created_at": AT, "updated_at": AT}],
        "member": [{"id": 1, "household_id": 1, "name": "Aditya", "name_key": "aditya",
                    "kind": "child", "birth_date": date(2024, 5, 1), "due_date": None}],
        "person": [{"id": 1, "telegram_user_id": 81001, "role": "household", "household_id": 1,
                    "staff_id": None, "language": "id", "reachable": True, "created_at": AT,
                    "last_seen_at": AT}],
        "attendance_report": [{"id": 1, "member_id": 1, "posyandu_id": 1,
                               "session_date": date(2026, 10, 13), "status": "reported",
                               "reported_by": 1, "reported_at": AT}],
        "complaint": [complaint | {"id": 1, "ticket_code": "ADU-0001"},
                      complaint | {"id": 2, "ticket_code": "ADU-0002"}],
        "complaint_event": events,
        "notification": [{"person_id": 1, "template_key": "complaint_filed", "params": {},
                          "due_at": AT, "status": "sent", "attempts": 1,
                          "dedup_key": "complaint:1", "created_at": AT, "sent_at": AT}],
        "link_code": [{"household_id": 1, "code_digest": "c" * 64, "created_by": "PD-01",
                       "created_at": AT, "expires_at": AT + timedelta(days=1)}],
        "link_attempt": [{"telegram_user_id": 81002, "at": AT}],
        "payout_round": [{"id": 1, "round_code": "2026-T4", "kecamatan_id": 1,
                          "payout_date": date(2026, 11, 20), "place": "Kantor Pos",
                          "start_time": time(8), "end_time": time(12), "amount": 750_000}],
        "queue_slot": [{"round_id": 1, "household_id": 1, "slot_index": 1}],
        "absence": [{"household_id": 1, "posyandu_id": 1, "session_date": date(2026, 9, 8),
                     "reason": "sick", "reported_by": 1, "reported_at": AT}],
        "invite": [{"staff_id": 1, "token_digest": "d" * 64, "created_by": "admin",
                    "created_at": AT, "expires_at": AT + timedelta(days=1)}],
    }
    # fmt: on


async def _fill(engine: AsyncEngine) -> None:
    def fill(connection: Connection) -> None:
        tables = MetaData()
        tables.reflect(connection)
        for name, rows in _rows().items():
            connection.execute(tables.tables[name].insert(), rows)

    async with engine.begin() as connection:
        await connection.run_sync(fill)


async def _counts(engine: AsyncEngine) -> dict[str, int]:
    def count(connection: Connection) -> dict[str, int]:
        names = [n for n in inspect(connection).get_table_names() if n != "alembic_version"]
        return {
            name: int(connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
            for name in names
        }

    async with engine.connect() as connection:
        return await connection.run_sync(count)


async def _history(engine: AsyncEngine) -> dict[int, list[str]]:
    query = text("SELECT complaint_id, kind FROM complaint_event ORDER BY complaint_id, at, id")
    found: dict[int, list[str]] = {}
    async with engine.connect() as connection:
        for complaint_id, kind in await connection.execute(query):
            found.setdefault(complaint_id, []).append(kind)
    return found


async def test_upgrading_from_0006_keeps_every_row(empty_engine: AsyncEngine) -> None:
    """0006 -> head: the complaints keep their history (0007 rebuilds `complaint` on SQLite),
    the reports their rows (0013 rebuilds `member`), and no other table loses a row."""
    await upgrade(empty_engine, BEFORE)
    await _fill(empty_engine)
    before = await _counts(empty_engine)
    assert all(before[name] for name in _rows())

    await upgrade(empty_engine)

    assert await current_revision(empty_engine) == head_revision()
    assert await _history(empty_engine) == EVENTS
    after = await _counts(empty_engine)
    assert {name: after[name] for name in before} == before


async def test_downgrading_to_0006_keeps_the_complaints_history(empty_engine: AsyncEngine) -> None:
    """head -> 0006 rebuilds `complaint` again on SQLite (0007's downgrade): same rows after."""
    await upgrade(empty_engine, BEFORE)
    await _fill(empty_engine)
    before = await _counts(empty_engine)
    await upgrade(empty_engine)

    await downgrade(empty_engine, BEFORE)

    assert await current_revision(empty_engine) == BEFORE
    assert await _history(empty_engine) == EVENTS
    assert await _counts(empty_engine) == before


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_foreign_keys_are_on_again_after_migrating(empty_engine: AsyncEngine) -> None:
    """SQLite only: the migration turns foreign keys off on its connection (PostgreSQL has no
    such switch); the pooled connection is handed back with them on."""
    await upgrade(empty_engine, BEFORE)
    await upgrade(empty_engine)
    async with empty_engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar_one() == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_migration_with_a_dangling_row_fails_and_changes_nothing(
    empty_engine: AsyncEngine,
) -> None:
    """SQLite only (PostgreSQL never lets a dangling row in): a row that references nothing after
    the migration fails it loudly, naming the table, and the schema stays where it was."""
    await upgrade(empty_engine, BEFORE)
    await _fill(empty_engine)
    async with empty_engine.connect() as connection:  # written by hand, with foreign keys off
        raw = await connection.get_raw_connection()
        assert raw.driver_connection is not None
        await raw.driver_connection.execute("PRAGMA foreign_keys=OFF")
        await raw.driver_connection.execute(
            "INSERT INTO complaint_event (complaint_id, at, kind) "
            "VALUES (99, '2026-11-02 03:00:00.000000', 'filed')"
        )
        await raw.driver_connection.execute("PRAGMA foreign_keys=ON")

    with pytest.raises(ForeignKeysBroken, match=r"complaint_event: 1 row.* complaint"):
        await upgrade(empty_engine)

    assert await current_revision(empty_engine) == BEFORE
    async with empty_engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar_one() == 1
