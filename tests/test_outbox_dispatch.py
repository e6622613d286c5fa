"""The dispatcher against the recording fake Bot API: pacing, quiet hours, faults, crashes."""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain.models import Recipient, Role
from bot.runtime.app import SapaApplication
from bot.settings import QuietHours
from bot.texts.i18n import Translations
from bot.texts.message_parts import split_text
from jobs.dispatch import DeliveryPolicy, Pacer
from storage.notifications import sent_marks
from storage.schema import notification, person
from storage.store import Store
from tests.conftest import NOW
from tests.support.fake_bot_api import FakeBotApi
from tests.support.outbox import WIB, ManualClock, add_household_person, make_dispatcher


async def add_person(store: Store, telegram_id: int, language: str = "id") -> int:
    """A household's Telegram account (linked: rows for unlinked accounts are never sent)."""
    return await add_household_person(store, telegram_id, language)


async def queue(store: Store, person_id: int, key: str, *, due: datetime = NOW,
                ticket: str = "KLH-2612-0001", **extra: object) -> None:  # fmt: skip
    async with store.write() as repo:
        await repo.notifications.queue(
            Recipient(person_id=person_id), "complaint.status",
            {"ticket": ticket, "status": "in_progress", **extra}, due_at=due, dedup_key=key, now=NOW,
        )  # fmt: skip


async def rows(store: Store) -> dict[str, dict[str, object]]:
    async with store.read() as repo:
        result = await repo.connection.execute(select(notification))
        return {r.dedup_key: dict(r._mapping) for r in result}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


async def test_due_rows_are_sent_in_the_recipients_language_and_paced(
    store: Store, translations: Translations, bot_app: tuple[SapaApplication, FakeBotApi],
    clock: ManualClock,
) -> None:  # fmt: skip
    application, api = bot_app
    mother = await add_person(store, 7001)
    father = await add_person(store, 7002, language="en")
    await queue(store, mother, "a", ticket="KLH-1")
    await queue(store, mother, "b", ticket="KLH-2")
    await queue(store, father, "c", ticket="KLH-3")
    await queue(store, father, "later", due=NOW + timedelta(hours=1))
    dispatcher = make_dispatcher(store, application.bot, translations, clock)
    sent_at: dict[str, float] = {}
    api.after_call = lambda call: sent_at.setdefault(str(call.params.get("text")), clock.seconds)

    stats = await dispatcher.run_once()
    assert stats.sent == 3
    sent = [(p["chat_id"], p["text"]) for p in api.sent()]
    # The father's message does not wait for the mother's second message (her chat's second).
    assert sent == [
        (7001, "Keluhan Ibu/Bapak KLH-1 sekarang: sedang ditangani."),
        (7002, "Your complaint KLH-3 is now: being handled."),
        (7001, "Keluhan Ibu/Bapak KLH-2 sekarang: sedang ditangani."),
    ]
    # The second message to the same chat waited a second; the overall pace is 25 per second.
    first, second = (
        sent_at[f"Keluhan Ibu/Bapak KLH-{n} sekarang: sedang ditangani."] for n in (1, 2)
    )
    assert second - first >= 1.0
    assert clock.slept[0] == pytest.approx(1 / 25)
    saved = await rows(store)
    assert {k: v["status"] for k, v in saved.items()} == {
        "a": "sent", "b": "sent", "c": "sent", "later": "pending",
    }  # fmt: skip
    assert saved["a"]["sent_at"] is not None


async def test_quiet_hours_hold_messages_until_morning(
    store: Store, translations: Translations, bot_app: tuple[SapaApplication, FakeBotApi],
    clock: ManualClock,
) -> None:  # fmt: skip
    application, api = bot_app
    mother = await add_person(store, 7001)
    clock.set_local(datetime(2026, 12, 1, 21, 30))
    await queue(store, mother, "night", due=clock.now)
    dispatcher = make_dispatcher(store, application.bot, translations, clock)
    for hour_local in (21, 23, 2, 5):
        day = 1 if hour_local >= 21 else 2
        clock.set_local(datetime(2026, 12, day, hour_local, 59))
        assert (await dispatcher.run_once()).sent == 0
    assert api.sent() == []
    clock.set_local(datetime(2026, 12, 2, 6, 0))
    assert (await dispatcher.run_once()).sent == 1


async def test_429_pauses_the_whole_bot_for_retry_after(
    store: Store, translations: Translations, bot_app: tuple[SapaApplication, FakeBotApi],
    clock: ManualClock,
) -> None:  # fmt: skip
    application, api = bot_app
    mother = await add_person(store, 7001)
    father = await add_person(store, 7002)
    await queue(store, mother, "a")
    await queue(store, father, "b")
    dispatcher = make_dispatcher(store, application.bot, translations, clock)
    api.fail_next("sendMessage", 429, "Too Many Requests: retry after 7", retry_after=7)

    stats = await dispatcher.run_once()
    assert (stats.sent, stats.rate_limited) == (0, 1)
    saved = await rows(store)
    assert saved["a"]["status"] == "pending" and saved["a"]["attempts"] == 0
    assert saved["b"]["status"] == "pending"
    assert (await dispatcher.run_once()).sent == 0  # still within the 7 seconds
    calls_before = len(api.sent())
    clock.advance(7)
    assert (await dispatcher.run_once()).sent == 2
    assert len(api.sent()) == calls_before + 2


async def test_server_errors_and_timeouts_are_retried_with_backoff_then_fail(
    store: Store, translations: Translations, bot_app: tuple[SapaApplication, FakeBotApi],
    clock: ManualClock,
) -> None:  # fmt: skip
    application, api = bot_app
    mother = await add_person(store, 7001)
    await queue(store, mother, "a")
    dispatcher = make_dispatcher(
        store, application.bot, translations, clock, retry_window=timedelta(minutes=3)
    )

    api.fail_next("sendMessage", 500, "Internal Server Error")
    assert (await dispatcher.run_once()).retried == 1
    saved = (await rows(store))["a"]
    assert (saved["status"], saved["attempts"]) == ("pending", 1)
    assert saved["due_at"] == clock.now + timedelta(seconds=30)
    assert "Internal Server Error" in str(saved["last_error"])

    clock.advance(29)
    assert (await dispatcher.run_once()).sent == 0  # not due yet
    clock.advance(1)
    api.timeout_next("sendMessage")
    assert (await dispatcher.run_once()).retried == 1
    saved = (await rows(store))["a"]
    assert saved["attempts"] == 2 and saved["due_at"] == clock.now + timedelta(seconds=60)

    clock.advance(60)  # 90 s after it was due; 120 s more would pass the 3-minute window
    api.fail_next("sendMessage", 502, "Bad Gateway")
    assert (await dispatcher.run_once()).retried == 1
    saved = (await rows(store))["a"]
    assert saved["attempts"] == 3 and saved["due_at"] == NOW + timedelta(minutes=3)  # its end

    clock.now = NOW + timedelta(minutes=3)
    api.fail_next("sendMessage", 502, "Bad Gateway")
    assert (await dispatcher.run_once()).failed == 1
    saved = (await rows(store))["a"]
    assert (saved["status"], saved["attempts"]) == ("failed", 4)
    assert "Bad Gateway" in str(saved["last_error"])
    assert len(api.sent()) == 4  # four attempts, none of them after the window


async def test_403_marks_the_person_unreachable_until_they_return(
    store: Store, translations: Translations, bot_app: tuple[SapaApplication, FakeBotApi],
    clock: ManualClock,
) -> None:  # fmt: skip
    from tests.support.chat import Chat

    application, api = bot_app
    mother = await add_person(store, 7001)
    await queue(store, mother, "a")
    await queue(store, mother, "b", due=NOW + timedelta(hours=2))
    api.blocked_chats.add(7001)
    dispatcher = make_dispatcher(store, application.bot, translations, clock)
    assert (await dispatcher.run_once()).blocked == 1
    saved = await rows(store)
    assert (saved["a"]["status"], saved["a"]["last_error"]) == ("failed", "forbidden")
    assert saved["b"]["status"] == "cancelled"
    async with store.read() as repo:
        found = await repo.people.by_telegram_id(7001)
    assert found is not None and not found.reachable
    # Nothing more is queued for or sent to an unreachable person.
    await queue(store, mother, "c")
    clock.advance(3600 * 3)
    assert (await dispatcher.run_once()).sent == 0

    # She unblocks the bot and sends /start: reachable again.
    api.blocked_chats.clear()
    await Chat(application, api, 7001).send("/start")
    async with store.read() as repo:
        found = await repo.people.by_telegram_id(7001)
    assert found is not None and found.reachable
    assert (await dispatcher.run_once()).sent == 1  # the row queued meanwhile ("c")


async def test_a_crash_with_sends_in_flight_repeats_only_those_each_to_another_chat(
    store: Store, translations: Translations, bot_app: tuple[SapaApplication, FakeBotApi],
    clock: ManualClock,
) -> None:  # fmt: skip
    """Telegram accepts every message but its answers never come back: four sends are on their
    way (the most there can be), the fifth never leaves; then kill -9. After a restart nothing
    is lost and only those four arrive twice."""
    application, api = bot_app
    for n in range(8):
        await queue(store, await add_person(store, 7001 + n), f"m{n}", ticket=f"KLH-{n}")
    dispatcher = make_dispatcher(store, application.bot, translations, clock)
    original, never = api.do_request, asyncio.Event()

    async def answer_lost(*args: Any, **kwargs: Any) -> tuple[int, bytes]:
        answer = await original(*args, **kwargs)
        if "sendMessage" in str(args[0] if args else kwargs.get("url", "")):
            await never.wait()  # accepted by Telegram; the answer is lost on the way back
        return answer

    api.do_request = answer_lost  # type: ignore[method-assign]
    crashing = asyncio.create_task(dispatcher.run_once())
    while len(api.sent()) < 4:
        await asyncio.sleep(0)
    for _ in range(50):  # give a fifth send every chance to leave
        await asyncio.sleep(0)
    # kill -9: the dispatcher and its sends die with the process.
    for task in [crashing, *dispatcher._sending.values()]:
        task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await crashing
    api.do_request = original  # type: ignore[method-assign]
    in_flight = [int(p["chat_id"]) for p in api.sent()]
    assert len(in_flight) == len(set(in_flight)) == 4  # four on their way, to four chats
    saved = await rows(store)
    assert [saved[f"m{n}"]["status"] for n in range(4)] == ["sending"] * 4  # sent, not marked
    assert "sent" not in {saved[f"m{n}"]["status"] for n in range(4, 8)}

    # A restarted dispatcher takes the claimed rows again once their lease has expired.
    restarted = make_dispatcher(store, application.bot, translations, clock)
    assert (await restarted.run_once()).sent == 0  # lease still running
    clock.advance(5 * 60 + 1)
    assert (await restarted.run_once()).sent == 8
    texts = [p["text"] for p in api.sent()]
    counts = [
        texts.count(f"Keluhan Ibu/Bapak KLH-{n} sekarang: sedang ditangani.") for n in range(8)
    ]
    assert counts == [2] * 4 + [1] * 4  # nothing lost; only the messages in flight repeated
    assert {r["status"] for r in (await rows(store)).values()} == {"sent"}


async def test_at_most_four_messages_are_sent_and_unmarked_each_to_another_chat(
    store: Store, translations: Translations, bot_app: tuple[SapaApplication, FakeBotApi],
    clock: ManualClock,
) -> None:  # fmt: skip
    application, api = bot_app
    for chat in range(7001, 7007):  # two messages to each of six chats
        person_id = await add_person(store, chat)
        for n in range(2):
            await queue(store, person_id, f"{chat}-{n}", ticket=f"KLH-{chat}-{n}")
    dispatcher = make_dispatcher(store, application.bot, translations, clock)
    unmarked_at_each_send: list[list[int]] = []
    original = api.do_request

    async def do_request(*args: Any, **kwargs: Any) -> tuple[int, bytes]:
        if "sendMessage" in str(args[0] if args else kwargs.get("url", "")):
            # What had reached Telegram at this moment, then the marks: read in this order, a
            # mark committed meanwhile can only make the count smaller, never larger.
            delivered = {text.split()[2] for text in api.texts()}  # "KLH-<chat>-<n>"
            saved = await rows(store)
            unmarked = [int(key.split("-")[0]) for key, row in saved.items()
                        if f"KLH-{key}" in delivered and row["status"] != "sent"]  # fmt: skip
            request = args[2] if len(args) > 2 else kwargs["request_data"]
            unmarked_at_each_send.append([*unmarked, int(request.parameters["chat_id"])])
        return await original(*args, **kwargs)

    api.do_request = do_request  # type: ignore[method-assign]
    assert (await dispatcher.run_once()).sent == 12
    assert len(unmarked_at_each_send) == 12
    for chats in unmarked_at_each_send:  # this one and those sent before it, not marked yet
        assert len(chats) <= 4 and len(set(chats)) == len(chats), chats
    assert {r["status"] for r in (await rows(store)).values()} == {"sent"}


async def test_staff_rows_wait_until_the_staff_member_links_telegram(
    store: Store, translations: Translations, bot_app: tuple[SapaApplication, FakeBotApi],
    clock: ManualClock, t_id: object,
) -> None:  # fmt: skip
    from tests.support.helpers import import_valid_files

    application, api = bot_app
    await import_valid_files(store, t_id)  # type: ignore[arg-type]
    async with store.write() as repo:
        companion = await repo.staff.get_by_code("PD-MKJ-1")
        assert companion is not None
        await repo.notifications.queue(
            Recipient(staff_id=companion.id), "attendance.reported",
            {"program_number": "RTS-2026-0001", "member": "Aditya", "date": "2026-11-30"},
            due_at=NOW, dedup_key="staff", now=NOW,
        )  # fmt: skip
    dispatcher = make_dispatcher(store, application.bot, translations, clock)
    assert (await dispatcher.run_once()).sent == 0
    async with store.write() as repo:
        await repo.people.add(7100, Role.COMPANION, NOW, staff_id=companion.id)
    assert (await dispatcher.run_once()).sent == 1
    assert api.sent()[-1]["chat_id"] == 7100
    assert api.sent()[-1]["text"].startswith(
        "Laporan posyandu baru dari rumah tangga RTS-2026-0001"
    )


async def test_expired_reminders_are_dropped_not_sent_late(
    store: Store, translations: Translations, bot_app: tuple[SapaApplication, FakeBotApi],
    clock: ManualClock,
) -> None:  # fmt: skip
    application, api = bot_app
    mother = await add_person(store, 7001)
    await queue(store, mother, "old", expires_at=(NOW - timedelta(minutes=1)).isoformat())
    dispatcher = make_dispatcher(store, application.bot, translations, clock)
    await dispatcher.run_once()
    assert api.sent() == []
    saved = (await rows(store))["old"]
    assert (saved["status"], saved["last_error"]) == ("cancelled", "expired")


async def send_paced(pacer: Pacer, clock: ManualClock, chats: list[int]) -> list[float]:
    """Each message takes 2 ms to send; returns when each send started."""
    starts = []
    for chat in chats:
        async with pacer.turn(chat):
            starts.append(clock.monotonic())
            clock.advance(0.002)
    return starts


def most_within_one_second(moments: list[float]) -> int:
    return max(bisect_left(moments, moment + 1.0) - i for i, moment in enumerate(moments))


async def test_pacer_makes_up_for_sleeps_that_overshoot(clock: ManualClock) -> None:
    clock.oversleep = 0.004  # 40% of a slot, more than the event loop ever overshoots
    pacer = Pacer(100, clock.sleep, clock.monotonic)
    starts = await send_paced(pacer, clock, list(range(1000)))
    assert 9.9 < starts[-1] - starts[0] < 10.1  # 100 a second, not 66 (15 s)
    assert most_within_one_second(starts) <= 100


async def test_pacer_catches_up_a_few_slots_and_keeps_to_the_limit_in_every_second(
    clock: ManualClock,
) -> None:
    pacer = Pacer(10, clock.sleep, clock.monotonic, catch_up=3)
    starts = await send_paced(pacer, clock, list(range(20)))
    clock.advance(0.9)  # a stall: nine slots missed
    starts += await send_paced(pacer, clock, list(range(20, 40)))
    bunched = [s for s in starts if starts[20] <= s < starts[20] + 0.01]
    assert len(bunched) == 4  # the slot due now and three missed ones, no more
    assert most_within_one_second(starts) <= 10

    eager = Pacer(10, clock.sleep, clock.monotonic, catch_up=100)  # catch-up barely limited
    clock.advance(60)
    starts = await send_paced(eager, clock, list(range(50)))
    assert most_within_one_second(starts) <= 10  # the one-second limit holds regardless


async def test_pacer_counts_a_chat_second_from_the_end_of_the_last_send(clock: ManualClock) -> None:
    pacer = Pacer(100, clock.sleep, clock.monotonic)
    starts = await send_paced(pacer, clock, [7001, 7002, 7001])
    assert starts[2] - starts[0] == pytest.approx(1.002)  # 1 s after the first send's answer


async def test_sent_marks_are_committed_when_mark_sent_returns(store: Store) -> None:
    person_id = await add_person(store, 7001)
    await queue(store, person_id, "a")
    async with store.write() as repo:
        (claimed,) = await repo.notifications.claim_due(NOW, 10, NOW - timedelta(minutes=5))
    async with sent_marks(store.engine) as marks:
        await marks.mark_sent(claimed.id, NOW + timedelta(seconds=1))
        saved = (await rows(store))["a"]  # read on another connection, the marks' still open
    assert (saved["status"], saved["sent_at"], saved["claimed_at"]) == (
        "sent", NOW + timedelta(seconds=1), None,
    )  # fmt: skip


async def test_claims_whose_lease_expired_come_first_in_due_order(store: Store) -> None:
    person_id = await add_person(store, 7001)
    await queue(store, person_id, "early", ticket="early", due=NOW - timedelta(hours=2))
    await queue(store, person_id, "stuck", ticket="stuck", due=NOW - timedelta(hours=1))
    await queue(store, person_id, "late", ticket="late", due=NOW - timedelta(minutes=30))
    await queue(store, person_id, "future", ticket="future", due=NOW + timedelta(minutes=1))
    async with store.write() as repo:  # a dispatcher claims "stuck" and dies
        await repo.connection.execute(
            notification.update()
            .where(notification.c.dedup_key == "stuck")
            .values(status="sending", claimed_at=NOW - timedelta(minutes=10))
        )
    async with store.write() as repo:
        claimed = await repo.notifications.claim_due(NOW, 10, NOW - timedelta(minutes=5))
        assert [m.params["ticket"] for m in claimed] == ["early", "stuck", "late"]
        assert await repo.notifications.claim_due(NOW, 10, NOW - timedelta(minutes=5)) == []
    async with store.write() as repo:  # two at a time: still the oldest due first
        await repo.notifications.release([m.id for m in claimed])
        first_two = await repo.notifications.claim_due(NOW, 2, NOW - timedelta(minutes=5))
    assert [m.params["ticket"] for m in first_two] == ["early", "stuck"]


def test_long_messages_are_split_on_line_boundaries() -> None:
    text = "\n".join(f"{n:04d} " + "x" * 95 for n in range(100))  # 100 lines of 100 characters
    parts = split_text(text)
    assert [len(p) for p in parts] == [4039, 4039, 2019]  # 40 whole lines fit in 4096
    assert "\n".join(parts) == text
    assert split_text("y" * 5000) == ["y" * 4096, "y" * 904]
    assert split_text("") == [""]


async def test_long_outbox_message_arrives_in_parts(
    store: Store, translations: Translations, bot_app: tuple[SapaApplication, FakeBotApi],
    clock: ManualClock,
) -> None:  # fmt: skip
    application, api = bot_app
    mother = await add_person(store, 7001)
    await queue(store, mother, "long", ticket="\n".join(["KLH"] * 3000))
    dispatcher = make_dispatcher(store, application.bot, translations, clock)
    assert (await dispatcher.run_once()).sent == 1
    parts = [p["text"] for p in api.sent()]
    assert len(parts) == 3 and all(len(part) <= 4096 for part in parts)
    assert (
        "\n".join(parts)
        == "Keluhan Ibu/Bapak " + "\n".join(["KLH"] * 3000) + " sekarang: sedang ditangani."
    )
    async with store.read() as repo:
        found = (await repo.connection.execute(select(person.c.reachable))).scalar()
    assert found is True


def test_a_dispatcher_claims_no_more_than_it_can_send_in_half_its_lease() -> None:
    policy = DeliveryPolicy(WIB, QuietHours.parse("21:00-06:00"))
    assert policy.batch == 50  # 5 minutes at 25 a second: the batch limit
    short = DeliveryPolicy(
        WIB, policy.quiet_hours, messages_per_second=20, lease=timedelta(seconds=3)
    )
    assert short.batch == 30  # 1.5 s at 20 a second: the claims never expire while it sends
    assert DeliveryPolicy(WIB, policy.quiet_hours, 0.1, lease=timedelta(seconds=2)).batch == 1


async def test_a_sent_mark_that_fails_is_written_again_and_nothing_is_repeated(
    store: Store, translations: Translations, bot_app: tuple[SapaApplication, FakeBotApi],
    clock: ManualClock, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    import sqlite3
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    from jobs.dispatch import Dispatcher
    from storage.notifications import SentMarks

    application, api = bot_app
    for n in range(3):
        await queue(store, await add_person(store, 7001 + n), f"m{n}", ticket=f"KLH-{n}")

    class LockedOnce:
        """The first mark meets a database locked past its timeout."""

        def __init__(self, marks: SentMarks) -> None:
            self.marks, self.failed = marks, False

        async def mark_sent(self, notification_id: int, now: datetime) -> None:
            if not self.failed:
                self.failed = True
                raise sqlite3.OperationalError("database is locked")
            await self.marks.mark_sent(notification_id, now)

    class Dispatching(Dispatcher):
        @asynccontextmanager
        async def _sent_marks(self) -> AsyncIterator[SentMarks]:
            async with super()._sent_marks() as marks:
                yield LockedOnce(marks)

    made = make_dispatcher(store, application.bot, translations, clock)
    dispatcher = Dispatching(store, made.bot, translations, made.policy, clock, made.pacer)
    assert (await dispatcher.run_once()).sent == 3
    assert {r["status"] for r in (await rows(store)).values()} == {"sent"}
    assert [len([t for t in api.texts() if f"KLH-{n}" in t]) for n in range(3)] == [1, 1, 1]
    assert "outbox_mark_failed" in caplog.text and "OperationalError" in caplog.text
