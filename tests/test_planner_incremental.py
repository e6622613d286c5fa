"""The incremental planner: a pass with nothing new does nothing, a change is planned at the next
pass, digests take the same queries for one companion or all, two planners queue each row once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, select

from bot.domain.models import Member, MemberKind, MemberRecord, PayoutRoundRecord, Role
from bot.services.attendance import is_followed
from bot.services.digest import (
    build_digest,
    build_digests,
    followed_until,
    member_followed_until,
)
from bot.services.session_changes import change_session
from bot.texts.i18n import Translator
from jobs.planner import PlanPolicy, next_pass_with_work, plan
from storage.planning import CaseloadHousehold, FollowableMember
from storage.schema import notification
from storage.store import Store
from tests.conftest import NOW
from tests.support.scenes import link_everyone

WIB = ZoneInfo("Asia/Jakarta")
POLICY = PlanPolicy(WIB)


def wib(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=WIB).astimezone(UTC)


async def keys(store: Store) -> set[str]:
    async with store.read() as repo:
        return set((await repo.connection.execute(select(notification.c.dedup_key))).scalars())


@contextmanager
def counted(store: Store) -> Iterator[list[str]]:
    """The SQL statements the store sends inside the block."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", record)


async def test_a_pass_with_nothing_new_reads_only_its_progress(
    store: Store, t_id: Translator
) -> None:
    people = await link_everyone(store, t_id)
    first = await plan(store, NOW, POLICY)
    assert first.queued > 0 and "reminders" in first.parts and "missed" in first.parts
    before = await keys(store)
    async with store.write() as repo:  # a household writes: seen, but nothing to plan
        await repo.people.touch(people["RTS-2026-0001"], NOW)
        await repo.people.set_language(people["RTS-2026-0001"], "su")
    with counted(store) as statements:
        second = await plan(store, NOW + timedelta(minutes=5), POLICY)
    assert second.parts == [] and second.queued == 0
    assert not any("household" in s or "member" in s or "notification" in s for s in statements)
    assert await keys(store) == before
    # The next day's first pass plans again (the horizon moved); the next one is quiet again.
    assert "reminders" in (await plan(store, NOW + timedelta(days=1), POLICY)).parts
    assert (await plan(store, NOW + timedelta(days=1, minutes=5), POLICY)).parts == []


async def test_a_moved_session_is_planned_at_the_next_pass(store: Store, t_id: Translator) -> None:
    people = await link_everyone(store, t_id)
    await plan(store, NOW, POLICY)
    # Posyandu Mawar (day 10, beyond the horizon) moves its session to Monday 7 December:
    # Lilis (pregnant) of RTS-2026-0004 is reminded on the 6th and the 7th.
    await change_session(store, "P-PDG-01", date(2026, 12, 10), date(2026, 12, 7),
                         actor="test", now=NOW, zone=WIB)  # fmt: skip
    assert await next_pass_with_work(store, NOW + timedelta(minutes=1), WIB) == NOW + timedelta(
        minutes=1
    )
    report = await plan(store, NOW + timedelta(minutes=5), POLICY)
    lilis = people["RTS-2026-0004"]
    found = {k for k in await keys(store) if k.startswith("posyandu:") and f":{lilis}:" in k}
    assert {k.split(":", 2)[2] for k in found} == {
        f"2026-12-10:2026-12-07:{lilis}:eve",
        f"2026-12-10:2026-12-07:{lilis}:day",
    }
    assert report.queued == 2 and "reminders" in report.parts


async def test_a_new_member_and_a_new_round_are_planned_at_the_next_pass(
    store: Store, t_id: Translator
) -> None:
    people = await link_everyone(store, t_id)
    monday = wib(date(2026, 12, 21), time(9, 0))  # Kenanga meets on the last Friday, the 25th
    await plan(store, monday, POLICY)
    mamat = people["RTS-2026-0006"]  # no member Posyandu Kenanga follows: no reminder
    assert not [k for k in await keys(store) if k.endswith(f":{mamat}:eve")]
    async with store.write() as repo:
        household = await repo.households.get_by_program_number("RTS-2026-0006")
        assert household is not None
        await repo.households.upsert_members([MemberRecord(
            household_id=household.id, name="Asep Ramdani", kind=MemberKind.CHILD,
            birth_date=date(2025, 1, 2), due_date=None)])  # fmt: skip
        await repo.payouts.upsert([PayoutRoundRecord(
            round_code="2026-X", kecamatan_id=household.kecamatan_id,
            payout_date=date(2026, 12, 22), place="Kantor Pos", start_time=time(8, 0),
            end_time=time(12, 0), amount=600_000)])  # fmt: skip
    report = await plan(store, monday + timedelta(minutes=5), POLICY)
    found = await keys(store)
    assert len([k for k in found if k.endswith(f":{mamat}:eve") and "2026-12-25" in k]) == 1
    # The round of tomorrow: the H-1 reminder (H-3 has passed) for each of its households.
    assert report.slots_assigned > 0
    assert len([k for k in found if k.startswith("payout:") and k.endswith(f":{mamat}:H-1")]) == 1
    assert not [k for k in found if k.startswith("payout:") and k.endswith(f":{mamat}:H-3")]


async def test_digests_take_the_same_queries_for_one_companion_or_all(
    store: Store, t_id: Translator
) -> None:
    await link_everyone(store, t_id)
    async with store.read() as repo:
        companions = await repo.planning.staff_with_role(Role.COMPANION)
    assert len(companions) >= 3
    today = date(2026, 12, 1)
    async with store.read() as repo:
        with counted(store) as one:
            alone = await build_digest(repo, companions[0], today, NOW)
        with counted(store) as all_of_them:
            together = await build_digests(repo, companions, today, NOW)
    assert len(one) == len(all_of_them)
    assert alone == together.get(companions[0])
    for companion_id in companions:  # the same content as built one by one
        async with store.read() as repo:
            assert await build_digest(repo, companion_id, today, NOW) == together.get(companion_id)


async def test_two_planners_at_once_queue_each_row_once(store: Store, t_id: Translator) -> None:
    await link_everyone(store, t_id)
    reports = await asyncio.gather(plan(store, NOW, POLICY), plan(store, NOW, POLICY))
    found = await keys(store)
    assert found and sum(r.queued for r in reports) == len(found)


async def test_a_days_first_pass_plans_what_enters_the_horizon_as_a_full_pass_would(
    store: Store, t_id: Translator
) -> None:
    people = await link_everyone(store, t_id)
    lilis = people["RTS-2026-0004"]  # Posyandu Mawar meets on the 10th
    quiet_days = 0
    for n in range(16):  # 1 to 16 December: sessions every few days, rounds on the 15th and 16th
        day = date(2026, 12, 1) + timedelta(days=n)
        before = await keys(store)
        with counted(store) as statements:
            report = await plan(store, wib(day, time(5, 0)), POLICY)
        assert "reminders" in report.parts
        added = await keys(store) - before
        if n and not added:  # nothing entered: the registry was not read
            assert not [s for s in statements if "member" in s or "person" in s]
            quiet_days += 1
        if day == date(2026, 12, 2):  # the 10th enters the horizon: only its reminders
            assert {k.split(":", 2)[2] for k in added} == {
                f"2026-12-10:2026-12-10:{lilis}:eve",
                f"2026-12-10:2026-12-10:{lilis}:day",
            }
        # A full pass (the progress forgotten) at the same moment finds nothing left to plan.
        async with store.write() as repo:
            await repo.planning.forget_progress()
        assert (await plan(store, wib(day, time(5, 0)), POLICY)).queued == 0
    assert any(k.startswith("payout:") for k in await keys(store)) and quiet_days > 0


def test_a_households_followed_until_agrees_with_asking_each_member() -> None:
    def child(born: date | None) -> Member:
        return Member(id=1, household_id=1, name="c", kind=MemberKind.CHILD, birth_date=born,
                      due_date=None)  # fmt: skip

    def pregnant(due: date | None) -> Member:
        return Member(id=2, household_id=1, name="p", kind=MemberKind.PREGNANT, birth_date=None,
                      due_date=due)  # fmt: skip

    households = [
        [],
        [child(None)],
        [child(date(2024, 2, 29))],
        [child(date(2021, 12, 31)), child(date(2022, 1, 1))],
        [pregnant(date(2027, 1, 20))],
        [pregnant(None), child(date(2020, 1, 1))],
        [pregnant(date(2026, 11, 1)), child(date(2021, 11, 20))],
        [child(None).model_copy(update={"kind": MemberKind.OTHER})],
    ]
    days = [date(2026, 11, 1) + timedelta(days=n) for n in range(0, 1300, 3)]
    days += [date(2027, 2, 28), date(2027, 3, 1), date(2029, 2, 28), date(2029, 3, 1)]
    for members in households:
        followable = [m for m in members if m.kind in (MemberKind.CHILD, MemberKind.PREGNANT)]
        pregnant_dues = [m.due_date for m in followable if m.kind is MemberKind.PREGNANT]
        births = [m.birth_date for m in followable if m.kind is MemberKind.CHILD and m.birth_date]
        aggregated = CaseloadHousehold(
            1,
            "RTS",
            "head",
            1,
            pregnant_undated=None in pregnant_dues,
            last_due=max((d for d in pregnant_dues if d), default=None),
            youngest_birth=max(births, default=None),
        )
        until = followed_until(aggregated)
        each = [
            member_followed_until(
                FollowableMember(1, m.name, m.kind is MemberKind.PREGNANT, m.birth_date, m.due_date)
            )
            for m in followable
        ]
        for day in days:
            expected = any(is_followed(m, day) for m in members)
            assert expected == (until is not None and day <= until), (members, day)
            for m, end in zip(followable, each, strict=True):  # the planner asks member by member
                assert is_followed(m, day) == (end is not None and day <= end), (m, day)
