"""Who is writing, with their flow, in one query (issue 14, part 3): the same answers as reading
the flow and the person apart, for a stranger, a stranger in the middle of linking, a linked
household in a flow, and a staff member."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.domain.conversation import SavedConversation
from bot.domain.models import Role
from bot.texts.i18n import Translator
from storage.store import Store
from tests.conftest import NOW
from tests.support.helpers import import_valid_files


async def apart(store: Store, telegram_user_id: int) -> tuple[object, ...]:
    async with store.read() as repo:
        saved = await repo.conversations.of_user(telegram_user_id)
        person, household = await repo.people.with_household(telegram_user_id)
    return saved, person, household


async def together(store: Store, telegram_user_id: int) -> tuple[object, ...]:
    async with store.read() as repo:
        return await repo.visitors.load(telegram_user_id)


async def test_the_visitor_in_one_query_is_the_flow_and_the_person_read_apart(
    store: Store, t_id: Translator
) -> None:
    await import_valid_files(store, t_id)
    linking = SavedConversation(4001, 4001, "link_code", {"tries": 1}, NOW)
    reporting = SavedConversation(4002, 4002, "attendance_day", {"member_id": 3}, NOW)
    async with store.write() as repo:
        household_id = (await repo.households.ids_by_program_number())["RTS-2026-0001"]
        await repo.people.add(4002, Role.HOUSEHOLD, NOW, household_id=household_id)
        await repo.people.add(4003, Role.ADMIN, NOW, language="en")
        await repo.conversations.save(linking)
        await repo.conversations.save(reporting)

    assert await together(store, 4000) == (None, None, None)  # never seen
    saved, person, household = await together(store, 4001)  # a stranger typing a link code
    assert (saved, person, household) == (linking, None, None)
    saved, person, household = await together(store, 4002)
    assert saved == reporting
    assert person is not None and person.role is Role.HOUSEHOLD
    assert household is not None and household.program_number == "RTS-2026-0001"
    saved, person, household = await together(store, 4003)
    assert saved is None and household is None
    assert person is not None and person.role is Role.ADMIN and person.language == "en"
    for telegram_user_id in (4000, 4001, 4002, 4003):
        assert await together(store, telegram_user_id) == await apart(store, telegram_user_id)
        async with store.quick_read() as repo:  # as every update reads it (SQLite: on the loop)
            assert await repo.visitors.load(telegram_user_id) == await apart(
                store, telegram_user_id
            )


async def test_the_lease_and_the_visitor_in_one_statement_on_postgresql(
    store: Store, t_id: Translator
) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("leases are taken where replicas share a PostgreSQL database")
    await import_valid_files(store, t_id)
    reporting = SavedConversation(4102, 4102, "attendance_day", {"member_id": 3}, NOW)
    async with store.write() as repo:
        household_id = (await repo.households.ids_by_program_number())["RTS-2026-0001"]
        await repo.people.add(4102, Role.HOUSEHOLD, NOW, household_id=household_id)
        await repo.conversations.save(reporting)
    until = NOW + timedelta(seconds=30)

    async def claim(user: int, owner: str) -> tuple[object, ...]:
        async with store.write() as repo:
            return await repo.visitors.claim_and_load(user, user, owner, NOW, until)

    taken, saved, person, household = await claim(4102, "replica-a")
    assert taken and saved == reporting  # the flow kept, the lease now replica-a's
    assert person is not None and household is not None
    assert household.program_number == "RTS-2026-0001"
    taken, saved, person, household = await claim(4102, "replica-b")  # a holds it
    assert (taken, saved) == (False, None)
    assert person is not None and person.role is Role.HOUSEHOLD  # who writes, all the same
    assert await claim(4100, "replica-b") == (True, None, None, None)  # a stranger, no flow
    async with store.read() as repo:
        lease = await repo.conversations.of_user(4102)
    assert lease == reporting


async def test_what_every_update_does_first_and_last_commits_by_itself(store: Store) -> None:
    """`Store.single` (who is writing, the flow written back): each statement is its own
    transaction, committed as it returns, with no BEGIN or COMMIT to wait for."""
    flow = SavedConversation(4010, 4010, "attendance_day", {"member_id": 3}, NOW)
    async with store.single() as repo:
        await repo.conversations.save(flow)
        assert await repo.conversations.of_user(4010) == flow
    async with store.read() as repo:  # another connection: it was committed
        assert await repo.conversations.of_user(4010) == flow
    if store.engine.dialect.name == "postgresql":  # no transaction around two statements
        async with store.single() as repo:
            first = (await repo.connection.exec_driver_sql("SELECT now()")).scalar_one()
            second = (await repo.connection.exec_driver_sql("SELECT now()")).scalar_one()
        assert second > first
    async with store.single() as repo:
        await repo.conversations.end(4010)
    async with store.read() as repo:
        assert await repo.conversations.of_user(4010) is None
