"""The outbox in a fault: Telegram failing for hours, a request that hangs, a reminder whose time
has passed, a recipient taken out of the programme. Nothing is lost, nothing arrives too late,
nothing reaches someone it is no longer for."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.domain.models import Recipient, Role
from bot.runtime.app import SapaApplication
from bot.texts.i18n import Translations, Translator
from jobs.planner import PlanPolicy, plan
from storage.schema import household, notification, person, staff
from storage.store import Store
from tests.conftest import NOW
from tests.support.fake_bot_api import FakeBotApi
from tests.support.helpers import import_valid_files
from tests.support.outbox import WIB, ManualClock, add_household_person, make_dispatcher
from tests.support.scenes import link_everyone


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


async def queue(store: Store, recipient: Recipient, key: str, *, due: datetime = NOW,
                **extra: object) -> None:  # fmt: skip
    async with store.write() as repo:
        await repo.notifications.queue(
            recipient, "complaint.status", {"ticket": f"KLH-{key}", "status": "in_progress", **extra},
            due_at=due, dedup_key=key, now=NOW,
        )  # fmt: skip


async def rows(store: Store) -> dict[str, dict[str, Any]]:
    async with store.read() as repo:
        result = await repo.connection.execute(select(notification))
        return {r.dedup_key: dict(r._mapping) for r in result}


def chat_of(args: tuple[Any, ...], kwargs: dict[str, Any]) -> int | None:
    """The chat a sendMessage request goes to (None for other methods)."""
    url = str(args[0] if args else kwargs.get("url", ""))
    request = args[2] if len(args) > 2 else kwargs.get("request_data")
    if not url.endswith("/sendMessage") or request is None:
        return None
    return int(request.parameters["chat_id"])


class Outage:
    """Telegram answers every sendMessage with 500 Internal Server Error while `down`; `tries`
    holds when each of those was tried (by the test's clock)."""

    def __init__(self, api: FakeBotApi, clock: ManualClock) -> None:
        self.down = True
        self.tries: list[datetime] = []
        original = api.do_request

        async def do_request(*args: Any, **kwargs: Any) -> tuple[int, bytes]:
            if self.down and chat_of(args, kwargs) is not None:
                self.tries.append(clock.now)
                body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
                return 500, json.dumps(body).encode()
            return await original(*args, **kwargs)

        api.do_request = do_request  # type: ignore[method-assign]


async def test_hours_of_server_errors_delay_a_message_but_never_drop_it(
    store: Store, translations: Translations, bot_app: tuple[SapaApplication, FakeBotApi],
    clock: ManualClock,
) -> None:  # fmt: skip
    application, api = bot_app
    mother = await add_household_person(store, 7001)
    await queue(store, Recipient(person_id=mother), "a")
    dispatcher = make_dispatcher(store, application.bot, translations, clock)
    outage = Outage(api, clock)
    while clock.now < NOW + timedelta(hours=2):  # two hours of 500s
        await dispatcher.run_once()
        saved = (await rows(store))["a"]
        assert saved["status"] == "pending"  # tried again later, not given up
        wait = saved["due_at"] - clock.now
        assert timedelta(0) < wait <= timedelta(minutes=10)  # the waits double up to 10 minutes
        clock.advance(wait.total_seconds())
    assert len(outage.tries) > 5  # it used to give up after the fifth

    outage.down = False
    assert (await dispatcher.run_once()).sent == 1
    assert api.texts() == ["Keluhan Ibu/Bapak KLH-a sekarang: sedang ditangani."]
    saved = (await rows(store))["a"]
    assert saved["status"] == "sent" and saved["attempts"] == len(outage.tries)


async def test_after_the_retry_window_the_message_is_marked_failed(
    store: Store, translations: Translations, bot_app: tuple[SapaApplication, FakeBotApi],
    clock: ManualClock,
) -> None:  # fmt: skip
    application, api = bot_app
    mother = await add_household_person(store, 7001)
    await queue(store, Recipient(person_id=mother), "a")
    dispatcher = make_dispatcher(
        store, application.bot, translations, clock, retry_window=timedelta(hours=1)
    )
    outage = Outage(api, clock)
    for _ in range(100):
        await dispatcher.run_once()
        saved = (await rows(store))["a"]
        if saved["status"] != "pending":
            break
        clock.now = saved["due_at"]
    assert (saved["status"], saved["attempts"]) == ("failed", len(outage.tries))
    assert str(saved["last_error"]).startswith("NetworkError: Internal Server Error")
    last_try = max(outage.tries) - (NOW + timedelta(hours=1))
    assert timedelta(0) <= last_try < timedelta(minutes=1)  # the last try at the window's end
    assert api.texts() == []


async def test_a_reminder_is_cancelled_as_expired_rather_than_retried_past_its_time(
    store: Store, translations: Translations, bot_app: tuple[SapaApplication, FakeBotApi],
    clock: ManualClock,
) -> None:  # fmt: skip
    application, api = bot_app
    mother = await add_household_person(store, 7001)
    expires = NOW + timedelta(minutes=20)
    await queue(store, Recipient(person_id=mother), "a", expires_at=expires.isoformat())
    dispatcher = make_dispatcher(store, application.bot, translations, clock)
    outage = Outage(api, clock)
    for _ in range(100):
        await dispatcher.run_once()
        saved = (await rows(store))["a"]
        if saved["status"] != "pending":
            break
        clock.now = saved["due_at"]
    assert (saved["status"], saved["last_error"]) == ("cancelled", "expired: NetworkError")
    assert saved["attempts"] == len(outage.tries) > 1
    assert max(outage.tries) < expires
    outage.down = False
    clock.now = expires + timedelta(minutes=1)
    await dispatcher.run_once()
    assert api.texts() == []


async def test_a_morning_reminder_that_cannot_go_out_before_the_session_starts_is_dropped(
    store: Store, translations: Translations, t_id: Translator,
    bot_app: tuple[SapaApplication, FakeBotApi], clock: ManualClock,
) -> None:  # fmt: skip
    """Posyandu Dahlia and Melati meet on Tuesday 8 December (see tests/test_planner.py); posyandu
    open at 08:00. Telegram fails from 06:00 to 08:30: the morning reminder (06:30) is tried until
    the session starts, then dropped, never sent while the session is on."""
    application, api = bot_app
    await link_everyone(store, t_id)
    await plan(store, NOW, PlanPolicy(WIB))
    dispatcher = make_dispatcher(store, application.bot, translations, clock)
    outage = Outage(api, clock)
    sent_at: list[datetime] = []
    api.after_call = lambda call: (
        sent_at.append(clock.now) if call.method == "sendMessage" else None
    )
    clock.set_local(datetime(2026, 12, 8, 6, 0))
    while clock.now < datetime(2026, 12, 8, 10, 0, tzinfo=WIB):
        outage.down = clock.now < datetime(2026, 12, 8, 8, 30, tzinfo=WIB)
        await dispatcher.run_once()
        clock.advance(60)
    assert len(outage.tries) > 2
    assert all(moment < datetime(2026, 12, 8, 8, 0, tzinfo=WIB) for moment in outage.tries)
    assert sent_at == []  # nothing came through late
    morning = [r for r in (await rows(store)).values() if r["template_key"] == "posyandu.day"]
    assert len(morning) == 2
    assert {(r["status"], r["last_error"]) for r in morning} == {
        ("cancelled", "expired: NetworkError")
    }


async def test_a_send_that_hangs_holds_up_its_own_chat_only_and_is_tried_again_later(
    store: Store, translations: Translations, bot_app: tuple[SapaApplication, FakeBotApi],
    clock: ManualClock,
) -> None:  # fmt: skip
    application, api = bot_app
    chats = list(range(7001, 7011))
    for chat in chats:
        await queue(store, Recipient(person_id=await add_household_person(store, chat)), f"{chat}")
    # A short bound, so that the test does not wait the 10 seconds of a real deployment.
    dispatcher = make_dispatcher(store, application.bot, translations, clock, send_timeout=0.5)
    original, answer = api.do_request, asyncio.Event()
    events: list[str] = []

    async def do_request(*args: Any, **kwargs: Any) -> tuple[int, bytes]:
        chat = chat_of(args, kwargs)
        if chat == 7001 and not answer.is_set():
            events.append("7001 waits")
            try:
                await answer.wait()  # Telegram does not answer (nor receive) this one
            finally:
                events.append("7001 given up")
        result = await original(*args, **kwargs)
        if chat is not None:
            events.append(f"{chat} sent")
        return result

    api.do_request = do_request  # type: ignore[method-assign]
    stats = await asyncio.wait_for(dispatcher.run_once(), timeout=60)
    # The nine other chats got their messages while the first one's request hung.
    assert events == ["7001 waits", *(f"{chat} sent" for chat in chats[1:]), "7001 given up"]
    assert (stats.sent, stats.retried) == (9, 1)
    saved = (await rows(store))["7001"]
    assert (saved["status"], saved["attempts"]) == ("pending", 1)  # not lost, not marked sent
    assert str(saved["last_error"]).startswith("TimedOut")
    assert saved["due_at"] == clock.now + timedelta(seconds=30)

    answer.set()  # Telegram answers again
    clock.advance(30)
    assert (await dispatcher.run_once()).sent == 1
    assert [p["chat_id"] for p in api.sent()].count(7001) == 1
    assert (await rows(store))["7001"]["status"] == "sent"


async def test_messages_for_someone_no_longer_in_the_programme_are_cancelled_not_sent(
    store: Store, translations: Translations, t_id: Translator,
    bot_app: tuple[SapaApplication, FakeBotApi], clock: ManualClock,
) -> None:  # fmt: skip
    """Whatever was queued before (or past) /putus or `sapa ... deactivate` is checked when it
    is about to be sent: only people still in the programme get it."""
    application, api = bot_app
    await import_valid_files(store, t_id)
    async with store.write() as repo:
        households = await repo.households.ids_by_program_number()
        staff_ids = {code: (await repo.staff.get_by_code(code)).id  # type: ignore[union-attr]
                     for code in ("PD-MKJ-1", "PD-MKJ-2", "KO-MKJ", "TPJK-1")}  # fmt: skip
        people = {
            7201: await repo.people.add(7201, Role.HOUSEHOLD, NOW,
                                        household_id=households["RTS-2026-0001"]),
            7202: await repo.people.add(7202, Role.HOUSEHOLD, NOW,
                                        household_id=households["RTS-2026-0002"]),
            7203: await repo.people.add(7203, Role.HOUSEHOLD, NOW,
                                        household_id=households["RTS-2026-0003"]),
            7204: await repo.people.add(7204, Role.COMPANION, NOW, staff_id=staff_ids["PD-MKJ-1"]),
            7205: await repo.people.add(7205, Role.COORDINATOR, NOW, staff_id=staff_ids["KO-MKJ"]),
            7206: await repo.people.add(7206, Role.COMPANION, NOW, staff_id=staff_ids["PD-MKJ-2"]),
            7207: await repo.people.add(7207, Role.ADMIN, NOW, staff_id=staff_ids["TPJK-1"]),
        }  # fmt: skip
    await queue(store, Recipient(person_id=people[7201].id), "linked")
    await queue(store, Recipient(person_id=people[7202].id), "household-deactivated")
    await queue(store, Recipient(person_id=people[7203].id), "unlinked")
    await queue(store, Recipient(staff_id=staff_ids["PD-MKJ-1"]), "staff-deactivated")
    await queue(store, Recipient(person_id=people[7205].id), "staff-person-deactivated")
    await queue(store, Recipient(staff_id=staff_ids["PD-MKJ-2"]), "staff")
    await queue(store, Recipient(person_id=people[7207].id), "staff-person")
    # Changes made behind the queue's back (the cancellations that go with them left out).
    async with store.write() as repo:
        connection = repo.connection
        await connection.execute(update(household).values(active=False)
                                 .where(household.c.id == households["RTS-2026-0002"]))  # fmt: skip
        await connection.execute(update(person).values(household_id=None)
                                 .where(person.c.id == people[7203].id))  # fmt: skip
        await connection.execute(update(staff).values(active=False)
                                 .where(staff.c.id.in_([staff_ids["PD-MKJ-1"],
                                                        staff_ids["KO-MKJ"]])))  # fmt: skip
    dispatcher = make_dispatcher(store, application.bot, translations, clock)
    assert (await dispatcher.run_once()).sent == 3
    assert sorted(p["chat_id"] for p in api.sent()) == [7201, 7206, 7207]
    saved = await rows(store)
    assert {key: (row["status"], row["last_error"]) for key, row in saved.items()} == {
        "linked": ("sent", None),
        "staff": ("sent", None),
        "staff-person": ("sent", None),
        "household-deactivated": ("cancelled", "recipient out of service"),
        "unlinked": ("cancelled", "recipient out of service"),
        "staff-deactivated": ("cancelled", "recipient out of service"),
        "staff-person-deactivated": ("cancelled", "recipient out of service"),
    }


def test_the_longest_wait_between_two_attempts_is_ten_minutes() -> None:
    from bot.settings import QuietHours
    from jobs.dispatch import DeliveryPolicy

    policy = DeliveryPolicy(WIB, QuietHours.parse("21:00-06:00"))
    waits = [policy.backoff(n).total_seconds() for n in range(1, 9)]
    assert waits == [30, 60, 120, 240, 480, 600, 600, 600]
    assert policy.backoff(10_000) == timedelta(minutes=10)  # no overflow after days of faults
    assert policy.retry_window == timedelta(hours=24)


async def test_under_thirty_percent_faults_every_message_arrives_exactly_once(
    store: Store, translations: Translations, bot_app: tuple[SapaApplication, FakeBotApi],
    clock: ManualClock,
) -> None:  # fmt: skip
    """60 messages to 60 households while Telegram fails 3 sends in 10 at random (502, a
    timeout, a dropped connection): each arrives once, none is lost, none is given up."""
    import random

    from telegram.error import NetworkError, TimedOut

    application, api = bot_app
    for n in range(60):
        person_id = await add_household_person(store, 9000 + n)
        await queue(store, Recipient(person_id=person_id), f"m{n}")
    faults = random.Random(12)
    delivered: list[int] = []
    original = api.do_request

    async def do_request(*args: Any, **kwargs: Any) -> tuple[int, bytes]:
        chat = chat_of(args, kwargs)
        if chat is not None and faults.random() < 0.3:
            kind = faults.choice(["502", "timeout", "network"])
            if kind == "timeout":
                raise TimedOut("Timed out")
            if kind == "network":
                raise NetworkError("connection reset")
            body = {"ok": False, "error_code": 502, "description": "Bad Gateway"}
            return 502, json.dumps(body).encode()
        answer = await original(*args, **kwargs)
        if chat is not None:
            delivered.append(chat)
        return answer

    api.do_request = do_request  # type: ignore[method-assign]
    dispatcher = make_dispatcher(store, application.bot, translations, clock)
    for _ in range(200):
        await dispatcher.run_once()
        waiting = [r for r in (await rows(store)).values() if r["status"] == "pending"]
        if not waiting:
            break
        clock.now = min(r["due_at"] for r in waiting)
    statuses = {r["status"] for r in (await rows(store)).values()}
    assert statuses == {"sent"}
    assert sorted(delivered) == list(range(9000, 9060))  # each chat once: none lost, none twice
