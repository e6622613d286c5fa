"""How many SQL statements and transactions one update costs (and, on SQLite, trips to the
connection's thread): counted, so they cannot creep back.

Each update reads who is writing once, with where they are in a flow, in one statement (on an
SQLite file on the event loop's own read connection, storage/loop_reads.py); a step that changes
nothing in the database writes nothing but the flow's draft.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import Engine, event

from storage.store import Store
from tests.support.chat import Chat
from tests.support.helpers import count_hand_offs


@dataclass
class Cost:
    statements: int = 0
    transactions: int = 0
    on_the_loop: int = 0  # of the statements: run on the event loop's read connection


@contextmanager
def counted(store: Store) -> Iterator[Cost]:
    """Statements and transactions of every engine in this process: the store's, and the read
    connection `Store.quick_read` opens beside it on SQLite."""
    cost = Cost()

    def statement(connection: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if sql.startswith("BEGIN"):  # SQLite's explicit BEGIN; counted as a transaction
            return
        cost.statements += 1
        if connection.dialect.driver == "pysqlite":  # the store's own is aiosqlite
            cost.on_the_loop += 1

    def transaction(*_: Any) -> None:
        cost.transactions += 1

    event.listen(Engine, "before_cursor_execute", statement)
    event.listen(Engine, "begin", transaction)
    try:
        yield cost
    finally:
        event.remove(Engine, "before_cursor_execute", statement)
        event.remove(Engine, "begin", transaction)


async def cost_of(store: Store, step: Any) -> tuple[int, int, int]:
    with counted(store) as cost:
        await step
    return cost.statements, cost.transactions, cost.on_the_loop


async def test_statements_per_update_of_a_household(mother: Chat, store: Store) -> None:
    costs = {
        "/start": await cost_of(store, mother.send("/start")),
        "/jadwal": await cost_of(store, mother.send("/jadwal")),
        "/hadir": await cost_of(store, mother.send("/hadir")),
        "member": await cost_of(store, mother.press("Aditya Sukmana (balita)")),
        "day": await cost_of(store, mother.press("Kemarin")),
        "photo": await cost_of(store, mother.press("Lewati")),
        "save": await cost_of(store, mother.press("✅ Simpan")),
    }
    # (statements, transactions, of the statements those on the event loop). Every update: one
    # read of the user's flow and who they are (1 statement, 1 transaction; storage/visitors.py;
    # on SQLite on the loop, in autocommit: no transaction); a step of a flow writes its draft back (1 statement, 1
    # transaction); the rest is the step's own work. The save writes the report, its
    # notifications and the audit line in one transaction, then ends the flow. On PostgreSQL
    # that first statement also takes the user's lease (so replicas keep their updates in
    # order), and an update outside a flow gives it back: one statement and transaction more.
    shared = store.engine.dialect.name == "postgresql"
    # On SQLite a step's own reads by key (the household's members, the posyandu to choose
    # from; /jadwal's five and the photo step's summary, each set in a read transaction of the
    # loop's connection, which these SQLAlchemy events do not see) are on the loop too.
    if shared:
        assert costs == {
            "/start": (2, 2, 0),
            "/jadwal": (6, 3, 0),
            "/hadir": (3, 3, 0),
            "member": (3, 3, 0),
            "day": (3, 3, 0),
            "photo": (5, 4, 0),  # the summary also checks that the posyandu met that day
            "save": (8, 3, 0),
        }
    else:
        assert costs == {
            "/start": (1, 0, 1),
            "/jadwal": (5, 0, 5),
            "/hadir": (3, 1, 2),
            "member": (3, 1, 2),
            "day": (3, 1, 2),
            "photo": (5, 1, 4),
            "save": (8, 2, 1),
        }


async def test_hand_offs_per_update_of_a_household_on_sqlite(
    mother: Chat, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite each trip to the connection's thread costs more than a point query itself:
    counted per update. A read of one statement (the members of the household, each step of the
    report) pays no BEGIN or COMMIT of its own; a write transaction pays its COMMIT."""
    if store.engine.dialect.name != "sqlite":
        pytest.skip("the connection's thread is SQLite's")
    calls = count_hand_offs(monkeypatch)

    async def trips(step: Any) -> int:
        before = len(calls)
        await step
        return len(calls) - before

    costs = {
        "/start": await trips(mother.send("/start")),
        "/jadwal": await trips(mother.send("/jadwal")),
        "/hadir": await trips(mother.send("/hadir")),
        "member": await trips(mother.press("Aditya Sukmana (balita)")),
        "day": await trips(mother.press("Kemarin")),
        "photo": await trips(mother.press("Lewati")),
        "save": await trips(mother.press("✅ Simpan")),
    }
    # /start and /jadwal: none (who is writing, with the flow, and the agenda are read on the
    # event loop). The report's steps: the draft written back (their own reads by key are on the
    # loop too); the save writes in one transaction and ends the flow.
    assert costs == {
        "/start": 0,
        "/jadwal": 0,
        "/hadir": 1,
        "member": 1,
        "day": 1,
        "photo": 1,
        "save": 8,
    }
