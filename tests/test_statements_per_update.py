"""How many SQL statements and transactions one update costs: counted, so they cannot creep back.

Each update reads who is writing once, with where they are in a flow, in one transaction; a step
that changes nothing in the database writes nothing but the flow's draft.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event

from storage.store import Store
from tests.support.chat import Chat


@dataclass
class Cost:
    statements: int = 0
    transactions: int = 0


@contextmanager
def counted(store: Store) -> Iterator[Cost]:
    cost = Cost()
    engine = store.engine.sync_engine

    def statement(_connection: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if not sql.startswith("BEGIN"):  # SQLite's explicit BEGIN; counted as a transaction
            cost.statements += 1

    def transaction(*_: Any) -> None:
        cost.transactions += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "begin", transaction)
    try:
        yield cost
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "begin", transaction)


async def cost_of(store: Store, step: Any) -> tuple[int, int]:
    with counted(store) as cost:
        await step
    return cost.statements, cost.transactions


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
    # (statements, transactions). Every update: one read of the user's flow and who they are
    # (1 statement, 1 transaction; storage/visitors.py); a step of a flow writes its draft back
    # (1 statement, 1 transaction); the rest is the step's own work. The save writes the report,
    # its notifications and the audit line in one transaction, then ends the flow. On
    # PostgreSQL that first statement also takes the user's lease (so replicas keep their
    # updates in order), and an update outside a flow gives it back: one statement and
    # transaction more.
    shared = store.engine.dialect.name == "postgresql"
    assert costs == {
        "/start": (2, 2) if shared else (1, 1),
        "/jadwal": (6, 3) if shared else (5, 2),
        "/hadir": (3, 3),
        "member": (3, 3),
        "day": (3, 3),
        "photo": (5, 4),  # the summary also checks that the posyandu met that day
        "save": (8, 3),
    }
