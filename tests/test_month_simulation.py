"""A month of the demo province, minute by minute: exactly the expected messages, at the expected
times; none in quiet hours, none twice, none to a user who blocked the bot.

The clock is ours (`ManualClock`); the planner and the dispatcher are the real ones, the Bot API
is the recording fake. December 2026 in WIB, with a session moved mid-month, some households
reporting their visits, and one user who blocks the bot.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Table, func, select

from bot.domain.conditions import Condition, Status, fifth_birthday, parse_period
from bot.domain.follow_ups import FollowUpOutcome
from bot.domain.models import MemberKind, ReportStatus, Role
from bot.domain.sessions import sessions_between
from bot.runtime.app import SapaApplication
from bot.services import demo
from bot.services.attendance import AttendanceDraft, is_followed, report_attendance
from bot.services.follow_ups import CloseResult, close_follow_up
from bot.services.recap import build_recap
from bot.services.register import build_register
from bot.services.session_changes import change_session
from bot.texts.conditions import condition_status_label
from bot.texts.i18n import Translations, Translator
from bot.texts.register_sheet import register_tables
from jobs.planner import PlanPolicy, plan
from storage.schema import follow_up, notification, queue_slot
from storage.store import Store
from tests.conftest import TEST_NIK_KEY
from tests.support.fake_bot_api import Call, FakeBotApi
from tests.support.outbox import ManualClock, make_dispatcher

WIB = ZoneInfo("Asia/Jakarta")
START = datetime(2026, 12, 1, 0, 0, tzinfo=WIB)
END = datetime(2027, 1, 1, 0, 0, tzinfo=WIB)
DECEMBER = date(2026, 12, 1)
STEP = timedelta(minutes=15)
SLOT_CAPACITY = 1  # 12 slots of 30 minutes for 20 households a kecamatan: 8 get no slot
HOUSEHOLD_USER = 20_000  # Telegram ids: 20_000 + household id
COMPANION_USER = 30_000


async def test_a_month_of_reminders(
    store: Store, translations: Translations, t_id: Translator,
    bot_app: tuple[SapaApplication, FakeBotApi],
) -> None:  # fmt: skip
    if store.engine.dialect.name != "sqlite":
        pytest.skip("one month is simulated on SQLite; planner and dispatcher run on both")
    application, api = bot_app
    reports = await demo.load_demo(
        store, t_id, today=date(2026, 12, 1), households=40, nik_key=TEST_NIK_KEY
    )
    assert all(r.ok for r in reports)
    async with store.write() as repo:
        households = await repo.households.ids_by_program_number()
        for household_id in households.values():
            await repo.people.add(HOUSEHOLD_USER + household_id, Role.HOUSEHOLD, START,
                                  household_id=household_id)  # fmt: skip
        companions = await repo.planning.staff_with_role(Role.COMPANION)
        for staff_id in companions:
            await repo.people.add(
                COMPANION_USER + staff_id, Role.COMPANION, START, staff_id=staff_id
            )
        people = await repo.planning.linked_people()
        members = await repo.planning.members_of(households.values())
        schedules = await repo.planning.posyandu_schedules()
    blocked = HOUSEHOLD_USER + min(households.values())
    api.blocked_chats.add(blocked)

    clock = ManualClock(now=START.astimezone(UTC))
    dispatcher = make_dispatcher(store, application.bot, translations, clock)
    policy = PlanPolicy(WIB, slot_minutes=30, slot_capacity=SLOT_CAPACITY)
    sent_at: list[tuple[datetime, Call]] = []
    api.after_call = lambda call: sent_at.append((clock.now, call))

    # Every third household reports its visit on the session day at 11:00.
    reporters = {p.household_id for p in people if p.household_id % 3 == 0}
    # On 3 December, Posyandu 0 of the first kecamatan moves its next session by two days.
    moved_posyandu = min(schedules)
    rule = schedules[moved_posyandu].schedule
    [moved_from] = [s.day for s in sessions_between(rule, {}, date(2026, 12, 4), date(2027, 1, 3))][
        :1
    ]
    moved_to = moved_from + timedelta(days=2)
    changes = {moved_posyandu: {moved_from: moved_to}}

    moment = START
    while moment < END:
        clock.now = moment.astimezone(UTC)
        local = moment.astimezone(WIB)
        if local.time() == time(11, 0):
            await _report_visits(
                store, people, members, reporters, schedules, changes, local.date()
            )
        if local == datetime(2026, 12, 3, 9, 0, tzinfo=WIB):
            await change_session(store, (await _code(store, moved_posyandu)), moved_from, moved_to,
                                 actor="test", now=clock.now, zone=WIB)  # fmt: skip
        await plan(store, clock.now, policy)
        await dispatcher.run_once()
        moment += STEP

    messages = [(when, call) for when, call in sent_at if call.method == "sendMessage"]
    # 1. Never in quiet hours.
    night = [
        when for when, _ in messages if not time(6, 0) <= when.astimezone(WIB).time() < time(21, 0)
    ]
    assert night == []
    # 2. Never twice: every message text reaches its chat once.
    pairs = Counter((int(c.params["chat_id"]), c.params["text"]) for _, c in messages)
    assert [pair for pair, count in pairs.items() if count > 1] == []
    # 3. The user who blocked the bot got one attempt (answered 403), then nothing more.
    assert len([c for _, c in messages if int(c.params["chat_id"]) == blocked]) == 1

    rows = await _rows(store)
    sent_rows = [r for r in rows if r["status"] == "sent"]
    assert len(sent_rows) == len(messages) - 1  # every sent row once; the 403 attempt is not sent
    # Nothing is left behind, except January's reminders and the messages for coordinators,
    # operators and health workers, who have not linked a Telegram account in this simulation.
    waiting = [r for r in rows if r["status"] == "pending"]
    assert all(r["due_at"] >= END or r["staff_id"] not in companions for r in waiting)
    assert all(r["due_at"] >= END or r["staff_id"] is not None for r in waiting)
    assert {r["status"] for r in rows} <= {"sent", "cancelled", "failed", "pending"}

    # 4. Posyandu reminders: exactly the expected ones, at the expected times.
    expected: set[tuple[int, str, datetime]] = set()
    for person in people:
        if HOUSEHOLD_USER + person.household_id == blocked:
            continue
        rule = schedules[person.posyandu_id].schedule
        for session in sessions_between(rule, changes.get(person.posyandu_id, {}),
                                        date(2026, 12, 1), date(2026, 12, 31)):  # fmt: skip
            if not any(is_followed(m, session.day) for m in members[person.household_id]):
                continue
            # The moved session counts on its new day (moved on 3 December, before any reminder).
            eve = datetime.combine(session.day - timedelta(days=1), time(16, 0), tzinfo=WIB)
            if eve >= START:
                expected.add((person.person_id, "posyandu.eve", eve))
            expected.add((person.person_id, "posyandu.day",
                          datetime.combine(session.day, time(6, 30), tzinfo=WIB)))  # fmt: skip
    actual = {(r["person_id"], r["template_key"], _minute(r["sent_at"]))
              for r in sent_rows if r["template_key"] in ("posyandu.eve", "posyandu.day")}  # fmt: skip
    assert actual == expected

    # 5. The missed-session question went exactly to the households without a report.
    missed = [r for r in sent_rows if r["template_key"] == "posyandu.missed"]
    asked = {(r["person_id"], r["params"]["date"]) for r in missed}
    should_ask = set()
    for person in people:
        if HOUSEHOLD_USER + person.household_id == blocked:
            continue
        rule = schedules[person.posyandu_id].schedule
        # Sessions from 30 November (asked on 1 December) to 30 December (asked on the 31st).
        for session in sessions_between(rule, changes.get(person.posyandu_id, {}),
                                        date(2026, 11, 30), date(2026, 12, 30)):  # fmt: skip
            followed = any(is_followed(m, session.day) for m in members[person.household_id])
            reported = person.household_id in reporters and session.day >= date(2026, 12, 1)
            if followed and not reported:
                should_ask.add((person.person_id, session.day.isoformat()))
    assert asked == should_ask
    assert all(_minute(r["sent_at"]).time() == time(10, 0) for r in missed)

    # 6. Payout: slots within capacity; H-3 and H-1 reminders for everyone reachable.
    async with store.read() as repo:
        per_slot = (await repo.connection.execute(
            select(func.count()).select_from(queue_slot)
            .group_by(queue_slot.c.round_id, queue_slot.c.slot_index)
        )).scalars().all()  # fmt: skip
    assert max(per_slot) <= SLOT_CAPACITY
    payout = [r for r in sent_rows
              if str(r["template_key"]).startswith(("payout.reminder", "payout.tomorrow"))]  # fmt: skip
    assert len(payout) == 2 * (len(people) - 1)
    assert {_minute(r["sent_at"]) for r in payout} == {
        datetime(2026, 12, 8, 16, 0, tzinfo=WIB), datetime(2026, 12, 10, 16, 0, tzinfo=WIB)}  # fmt: skip
    shortages = [r for r in rows if r["template_key"] == "payout.slots_short"]
    assert shortages and all(r["params"]["unplaced"] == 8 for r in shortages)

    # 7. The session move: one notice to each concerned household, no reminder for the old day.
    notices = [r for r in sent_rows if r["template_key"] == "posyandu.moved"]
    concerned = {p.person_id for p in people if p.posyandu_id == moved_posyandu
                 and HOUSEHOLD_USER + p.household_id != blocked
                 and any(is_followed(m, moved_from) for m in members[p.household_id])}  # fmt: skip
    assert {r["person_id"] for r in notices} == concerned and len(notices) == len(concerned)
    old_day = moved_from.isoformat()
    assert not [r for r in sent_rows if r["template_key"] in ("posyandu.eve", "posyandu.day")
                and r["params"]["date"] == old_day and r["person_id"] in concerned]  # fmt: skip

    # 8. Companions: at most one digest a day, each at 06:45.
    digests = [r for r in sent_rows if r["template_key"] == "digest.companion"]
    assert digests
    assert all(_minute(r["sent_at"]).time() == time(6, 45) for r in digests)
    per_day = Counter((r["staff_id"], r["sent_at"].astimezone(WIB).date()) for r in digests)
    assert max(per_day.values()) == 1

    # 9. The register of December (issue 15), judged by hand from the events fed in and
    # compared with the register, the recap and the verification list.
    verified = await _verify_every_second_reporter(store, reporters, END.astimezone(UTC))
    judged_by_hand: Counter[Status] = Counter()
    for household_id, household_members in members.items():
        posyandu_id = next(p.posyandu_id for p in people if p.household_id == household_id)
        rule = schedules[posyandu_id].schedule
        held = [s.day for s in sessions_between(rule, changes.get(posyandu_id, {}),
                                                date(2026, 12, 1), date(2026, 12, 31))]  # fmt: skip
        for m in household_members:
            if m.kind is not MemberKind.CHILD or m.birth_date is None:
                continue
            if m.birth_date > date(2026, 12, 31) or fifth_birthday(m.birth_date) <= DECEMBER:
                continue
            since_birth = [day for day in held if day >= m.birth_date]
            # The simulation reports the first followed member of a reporting household.
            visits = [day for day in since_birth if household_id in reporters and
                      next(f for f in household_members if is_followed(f, day)).id == m.id]  # fmt: skip
            if visits and household_id in verified:
                judged_by_hand[Status.MET] += 1
            elif visits:
                judged_by_hand[Status.UNKNOWN] += 1  # reported, waiting for the companion
            elif not since_birth:
                judged_by_hand[Status.EXCUSED] += 1
            else:
                judged_by_hand[Status.NOT_MET] += 1
    period = parse_period("2026-12")
    assert period is not None
    register = await build_register(store, None, "", period, date(2027, 1, 1))
    by_condition = register.by_condition()
    assert by_condition[Condition.GROWTH] == judged_by_hand
    assert judged_by_hand[Status.MET] and judged_by_hand[Status.NOT_MET]  # both happened
    recap = await build_recap(store, None, DECEMBER, now=END.astimezone(UTC), zone=WIB)
    from_recap: Counter[Status] = Counter()
    for counts in recap.conditions_by_desa.values():
        from_recap.update(counts.get(Condition.GROWTH, Counter()))
    assert from_recap == judged_by_hand
    _households, per_member, _summary = register_tables(register, t_id)
    growth = t_id("child weighed at the posyandu")
    exported = Counter(row[8] for row in per_member[2] if row[2] == growth)
    assert exported == {condition_status_label(s, t_id): n for s, n in judged_by_hand.items()}

    # 10. Follow-ups (issue 16): every household that had someone to bring to a session and no
    # report got one, with or without Telegram; the household that blocked the bot one more, as
    # unreachable. The companions close those of odd households two days after they were
    # opened, and the recap counts what was closed in December, with the median time.
    opened = await _rows(store, follow_up)
    expected_absences = set()
    for household_id, household_members in members.items():
        posyandu_id = next(p.posyandu_id for p in people if p.household_id == household_id)
        for session in sessions_between(schedules[posyandu_id].schedule,
                                        changes.get(posyandu_id, {}),
                                        date(2026, 11, 30), date(2026, 12, 30)):  # fmt: skip
            followed = any(is_followed(m, session.day) for m in household_members)
            reported = household_id in reporters and session.day >= DECEMBER
            if followed and not reported:
                expected_absences.add((household_id, session.day))
    assert {(f["household_id"], f["about_date"]) for f in opened
            if f["kind"] == "absence"} == expected_absences  # fmt: skip
    unreachable = [f["household_id"] for f in opened if f["kind"] == "unreachable"]
    assert unreachable == [blocked - HOUSEHOLD_USER]
    closed_in_december: Counter[int] = Counter()
    for row in opened:
        if row["household_id"] % 2 == 0:
            continue
        at = row["created_at"] + timedelta(days=2)
        async with store.read() as repo:
            companion = await repo.people.by_telegram_id(COMPANION_USER + row["companion_id"])
        assert companion is not None
        result = await close_follow_up(
            store, companion, row["id"], FollowUpOutcome.HOME_VISIT, None, now=at
        )
        assert result is CloseResult.DONE
        if at < END:
            closed_in_december[row["companion_id"]] += 1
    recap = await build_recap(store, None, DECEMBER, now=END.astimezone(UTC), zone=WIB)
    counted = {r.staff_id: (r.follow_ups_closed, r.median_days_to_close)
               for r in recap.companions if r.follow_ups_closed}  # fmt: skip
    assert counted == {staff: (n, 2.0) for staff, n in closed_in_december.items()}
    assert sum(closed_in_december.values()) > 10


async def _verify_every_second_reporter(
    store: Store, reporters: set[int], now: datetime
) -> set[int]:
    """The companions verify the reports of every second reporting household; their ids."""
    chosen = {h for h in reporters if h % 2 == 0}
    async with store.write() as repo:
        waiting = await repo.verification.waiting(sorted(chosen), limit=10_000)
        verifier = min(p.id for p in await repo.people.linked_to_household(min(chosen)))
        for line in waiting:
            assert await repo.verification.decide(line.id, ReportStatus.VERIFIED, verifier, now)
    return chosen


def _minute(moment: datetime) -> datetime:
    """When a message went out, to the minute (the pacer spreads a batch over a few seconds)."""
    return moment.astimezone(WIB).replace(second=0, microsecond=0)


def _household_of(people: list, person_id: int) -> int:  # type: ignore[type-arg]
    return next(p.household_id for p in people if p.person_id == person_id)


async def _code(store: Store, posyandu_id: int) -> str:
    async with store.read() as repo:
        found = await repo.geography.posyandu_by_id(posyandu_id)
    assert found is not None
    return found.code


async def _report_visits(store, people, members, reporters, schedules, changes, day) -> None:  # type: ignore[no-untyped-def]
    for person in people:
        if person.household_id not in reporters:
            continue
        rule = schedules[person.posyandu_id].schedule
        if not sessions_between(rule, changes.get(person.posyandu_id, {}), day, day):
            continue
        followed = [m for m in members[person.household_id] if is_followed(m, day)]
        if not followed:
            continue
        async with store.read() as repo:
            household = await repo.households.get(person.household_id)
            reporter = await repo.people.by_telegram_id(HOUSEHOLD_USER + person.household_id)
        assert household is not None and reporter is not None
        now = datetime.combine(day, time(11, 0), tzinfo=WIB).astimezone(UTC)
        await report_attendance(store, reporter, household,
                                AttendanceDraft(followed[0].id, day, person.posyandu_id),
                                now=now, today=day)  # fmt: skip


async def _rows(store: Store, table: Table = notification) -> list[dict]:  # type: ignore[type-arg]
    async with store.read() as repo:
        query = select(table).order_by(table.c.id)
        return [dict(r._mapping) for r in await repo.connection.execute(query)]
