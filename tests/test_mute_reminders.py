"""/pengingat: a household account mutes its posyandu reminders and turns them on again.

Through the real Application, the real planner and dispatcher, on SQLite and PostgreSQL: muting
cancels the account's queued posyandu reminders and "did you go?" question, the planner plans
none while it is muted (it sees the change through its triggers), and what is never muted still
comes (a session moved, payout reminders); turning them on again plans the next ones, none for
a moment already past. The choice is per Telegram account; staff and forged buttons are refused.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot.domain.models import Recipient
from bot.domain.notices import OPTIONAL_REMINDERS
from bot.services.session_changes import change_session
from bot.texts.i18n import Translations
from jobs.planner import PlanPolicy, plan
from storage.schema import audit_log, notification, person
from storage.store import Store
from tests.conftest import NOW
from tests.support.chat import Chat
from tests.support.outbox import ManualClock, make_dispatcher
from tests.support.scenes import enrolled

WIB = ZoneInfo("Asia/Jakarta")
POLICY = PlanPolicy(WIB)
ANGGREK = "P-MKJ-01"  # the mother's posyandu: the last Monday, 28 December
OFF, ON = "🔕 Matikan pengingat posyandu", "🔔 Nyalakan lagi"
STALE = Translations().for_language("id")(
    "That button is no longer active. Please start again from the menu."
)


def wib(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=WIB).astimezone(UTC)


def set_clock(chat: Chat, moment: datetime) -> None:
    chat.application.bot_data["services"].clock = lambda: moment


async def person_id(store: Store, chat: Chat) -> int:
    async with store.read() as repo:
        found = await repo.people.by_telegram_id(chat.user_id)
    assert found is not None
    return found.id


async def rows_of(store: Store, person: int) -> list[dict[str, Any]]:
    async with store.read() as repo:
        query = select(notification).where(notification.c.person_id == person)
        return [dict(r._mapping) for r in await repo.connection.execute(query.order_by("id"))]


def pending(rows: list[dict[str, Any]]) -> set[tuple[str, datetime]]:
    return {(r["template_key"], r["due_at"]) for r in rows if r["status"] == "pending"}


async def family_member(mother: Chat, user_id: int = 81002) -> Chat:
    """Another Telegram account linked to the mother's household (RTS-2026-0001)."""
    other = Chat(mother.application, mother.api, user_id, seen=len(mother.api.calls))
    await other.send("/start")
    await other.send("RTS-2026-0001")
    await other.send("850001")
    return other


async def move(store: Store, new: date, now: datetime) -> None:
    """Posyandu Anggrek's session of 28 December moves to `new` (households are told)."""
    await change_session(store, ANGGREK, date(2026, 12, 28), new, actor="test", now=now, zone=WIB)


async def test_muting_cancels_the_posyandu_reminders_of_one_account_only(
    mother: Chat, store: Store, translations: Translations
) -> None:
    sister = await family_member(mother)
    mine, hers = await person_id(store, mother), await person_id(store, sister)
    await move(store, date(2026, 12, 4), NOW)  # a session within the planner's horizon
    await plan(store, NOW, POLICY)
    assert (await plan(store, NOW, POLICY)).parts == []  # nothing changed since
    reminders = {
        ("posyandu.missed", wib(date(2026, 12, 1), time(10, 0))),  # about 30 November
        ("posyandu.eve", wib(date(2026, 12, 3), time(16, 0))),
        ("posyandu.day", wib(date(2026, 12, 4), time(6, 30))),
    }
    moved = ("posyandu.moved", NOW)
    assert pending(await rows_of(store, mine)) == pending(await rows_of(store, hers))
    assert pending(await rows_of(store, mine)) == {*reminders, moved}

    [screen] = await mother.send("/pengingat")
    assert screen.startswith("Pengingat posyandu <b>menyala</b> untuk akun Telegram ini")
    assert "Perubahan jadwal, pengingat pencairan" in screen
    assert mother.buttons() == [OFF, ON]
    [answer] = await mother.press(OFF)
    assert answer == (  # what still comes, and that she can still report her visits
        "🔕 Pengingat posyandu sekarang dimatikan untuk akun Telegram ini. Perubahan jadwal, "
        "pengingat pencairan, dan jawaban atas keluhan serta laporan tetap dikirim. Ibu/Bapak "
        "tetap bisa melaporkan setiap kunjungan posyandu sendiri dengan /hadir. Untuk menyalakan "
        "lagi: /pengingat nyala"
    )

    # Her optional reminders are cancelled; the schedule change stays; her sister's are kept.
    rows = await rows_of(store, mine)
    assert pending(rows) == {moved}
    cancelled = [r for r in rows if r["status"] == "cancelled"]
    assert {(r["template_key"], r["due_at"]) for r in cancelled} == reminders
    assert {r["last_error"] for r in cancelled} == {"muted"}
    assert pending(await rows_of(store, hers)) == {*reminders, moved}
    async with store.read() as repo:
        [entry] = (
            await repo.connection.execute(
                select(audit_log).where(audit_log.c.action == "reminders_muted")
            )
        ).all()
    assert (entry.actor, entry.entity, entry.entity_id) == (f"person:{mine}", "person", str(mine))
    assert entry.detail == {"cancelled": 3}  # a count, no text

    # The planner sees the change (its trigger on `person`) and plans nothing for her.
    report = await plan(store, NOW + timedelta(minutes=5), POLICY)
    assert "reminders" in report.parts and report.queued == 0
    assert pending(await rows_of(store, mine)) == {moved}

    # While muted: the session moves again. She is told; only her sister is reminded.
    await move(store, date(2026, 12, 5), NOW + timedelta(minutes=10))
    await plan(store, NOW + timedelta(minutes=15), POLICY)
    moved_again = {("posyandu.moved", NOW + timedelta(minutes=10))}
    assert pending(await rows_of(store, mine)) == {moved, *moved_again}
    assert {
        ("posyandu.eve", wib(date(2026, 12, 4), time(16, 0))),
        ("posyandu.day", wib(date(2026, 12, 5), time(6, 30))),
    } <= pending(await rows_of(store, hers))

    # A reminder queued for her by a planner pass that read her account just before she muted
    # is cancelled when the dispatcher claims it, never sent.
    async with store.write() as repo:
        await repo.notifications.queue(
            Recipient(person_id=mine), "posyandu.eve",
            {"posyandu": "Posyandu Anggrek", "members": ["Aditya Sukmana"], "date": "2026-12-05"},
            due_at=NOW, dedup_key="posyandu:late:eve", now=NOW,
        )  # fmt: skip
    clock = ManualClock(now=NOW + timedelta(minutes=20))
    dispatcher = make_dispatcher(store, mother.application.bot, translations, clock)
    mother.seen = len(mother.api.calls)
    await dispatcher.run_once()
    received = [
        str(c.params["text"])
        for c in mother.api.calls[mother.seen :]
        if c.method == "sendMessage" and int(c.params["chat_id"]) == mother.user_id
    ]
    assert len(received) == 2 and all(t.startswith("Perubahan jadwal") for t in received)
    [late] = [r for r in await rows_of(store, mine) if r["dedup_key"] == "posyandu:late:eve"]
    assert (late["status"], late["last_error"]) == ("cancelled", "muted")
    to_sister = [c for c in mother.api.calls if c.method == "sendMessage"
                 and int(c.params["chat_id"]) == sister.user_id]  # fmt: skip
    assert any(  # the "did you go?" question
        str(c.params["text"]).startswith("Apakah Ibu/Bapak kemarin datang ke Posyandu Anggrek (")
        and str(c.params["text"]).endswith(")? Mohon beri tahu kami, supaya kunjungannya tercatat.")
        for c in to_sister
    )

    # Payout reminders still come: the Mekarjaya round of 16 December, 3 days before.
    await plan(store, wib(date(2026, 12, 13), time(9, 0)), POLICY)
    payout = {r["template_key"] for r in await rows_of(store, mine) if r["status"] == "pending"}
    assert "payout.reminder" in payout or "payout.reminder.no_slot" in payout


async def test_turning_them_on_again_plans_the_next_reminders_only(
    mother: Chat, store: Store
) -> None:
    mine = await person_id(store, mother)
    await move(store, date(2026, 12, 4), NOW)
    await plan(store, NOW, POLICY)
    [answer] = await mother.send("/pengingat mati")
    assert answer.startswith("🔕 Pengingat posyandu sekarang dimatikan")
    [again] = await mother.send("/pengingat mati")
    assert again.startswith("Pengingat posyandu untuk akun Telegram ini memang sudah dimatikan.")
    await move(store, date(2026, 12, 5), NOW + timedelta(minutes=1))  # moved while muted
    await plan(store, NOW + timedelta(minutes=5), POLICY)
    assert not {r["template_key"] for r in await rows_of(store, mine)
                if r["status"] == "pending"} & OPTIONAL_REMINDERS  # fmt: skip

    # The screen says since when; she turns them on again on 2 December at noon.
    set_clock(mother, wib(date(2026, 12, 2), time(12, 0)))
    [screen] = await mother.send("/pengingat")
    assert screen.startswith(
        "Pengingat posyandu <b>dimatikan</b> untuk akun Telegram ini sejak Selasa, 1 Desember 2026."
    )
    [answer] = await mother.press(ON)
    assert answer == (
        "🔔 Pengingat posyandu menyala lagi untuk akun Telegram ini, mulai pengingat berikutnya."
    )
    report = await plan(store, wib(date(2026, 12, 2), time(12, 5)), POLICY)
    assert "reminders" in report.parts  # the planner saw the change
    # The session's new day (5 December) is reminded; neither the old day's reminders nor the
    # question about 30 November (due before she turned them on) come back.
    assert {(k, d) for k, d in pending(await rows_of(store, mine)) if k in OPTIONAL_REMINDERS} == {
        ("posyandu.eve", wib(date(2026, 12, 4), time(16, 0))),
        ("posyandu.day", wib(date(2026, 12, 5), time(6, 30))),
    }
    [resumed] = await mother.send("/pengingat nyala")
    assert resumed == "Pengingat posyandu untuk akun Telegram ini memang sudah menyala."
    async with store.read() as repo:
        actions = (
            await repo.connection.execute(
                select(audit_log.c.action, audit_log.c.detail)
                .where(audit_log.c.action.startswith("reminders_"))
                .order_by(audit_log.c.id)
            )
        ).all()
    assert [tuple(a) for a in actions] == [
        ("reminders_muted", {"cancelled": 3}),
        ("reminders_resumed", {"replanned": 2}),  # the old day's eve and morning
    ]


async def test_no_reminder_for_a_moment_already_past_after_turning_them_on(
    mother: Chat, store: Store
) -> None:
    mine = await person_id(store, mother)
    await move(store, date(2026, 12, 5), NOW)
    await mother.send("/pengingat mati")
    await plan(store, NOW, POLICY)
    # On again on 4 December at 17:00: the eve reminder (16:00) has gone by, the morning's not.
    set_clock(mother, wib(date(2026, 12, 4), time(17, 0)))
    await mother.send("/pengingat nyala")
    await plan(store, wib(date(2026, 12, 4), time(17, 5)), POLICY)
    assert {(k, d) for k, d in pending(await rows_of(store, mine)) if k in OPTIONAL_REMINDERS} == {
        ("posyandu.day", wib(date(2026, 12, 5), time(6, 30)))
    }


async def test_staff_are_told_it_is_for_households_and_forged_buttons_are_refused(
    mother: Chat, store: Store
) -> None:
    euis = await enrolled(store, mother, "PD-MKJ-1", 7701)
    for step in (euis.send("/pengingat"), euis.send("/pengingat mati"), euis.press_data("pgn:off")):
        assert await step == ["Perintah ini untuk rumah tangga peserta program."]
    stranger = Chat(mother.application, mother.api, 81555, seen=len(mother.api.calls))
    [answer] = await stranger.send("/pengingat mati")
    assert answer.startswith("Akun Telegram ini belum terhubung dengan rumah tangga.")

    await mother.send("/pengingat")
    for forged in ("pgn:maybe", "pgn:off:1", "pgn"):
        assert await mother.press_data(forged) == [STALE]
    async with store.read() as repo:
        muted = (
            await repo.connection.execute(
                select(person.c.reminders_muted_at).where(person.c.reminders_muted_at.is_not(None))
            )
        ).all()
    assert muted == []


async def test_help_and_the_command_list_name_it(mother: Chat) -> None:
    [help_text] = await mother.send("/bantuan")
    assert "• /pengingat: matikan atau nyalakan pengingat posyandu" in help_text
    await mother.send("/bahasa")
    await mother.press("Basa Sunda")
    [screen] = await mother.send("/pengingat")
    assert screen.startswith("Pangéling posyandu <b>hurung</b> kanggo akun Telegram ieu")
    assert mother.buttons() == ["🔕 Pareuman pangéling posyandu", "🔔 Hurungkeun deui"]
    [off] = await mother.send("/pengingat pareum")
    assert off.startswith("🔕 Pangéling posyandu ayeuna dipareuman kanggo akun Telegram ieu.")
    assert "nganggo /hadir" in off
    [on] = await mother.send("/pengingat hurung")
    assert (
        on
        == "🔔 Pangéling posyandu hurung deui kanggo akun Telegram ieu, mimiti pangéling salajengna."
    )


async def test_the_planner_sees_a_mute_and_nothing_else_of_the_account(store: Store) -> None:
    """Migration 0018 puts the two columns in the list of `person` columns its trigger watches
    (migration 0012): statement-level on PostgreSQL, row-level on SQLite."""
    from tests.support.outbox import add_household_person

    account = await add_household_person(store, 90_001)
    async with store.write() as repo:
        await repo.planning.take_changes()
        await repo.people.touch(account, NOW)  # last_seen_at: not watched
    async with store.read() as repo:
        assert not await repo.planning.has_changes()
    for values in ({"reminders_muted_at": NOW}, {"reminders_resumed_at": NOW}):
        async with store.write() as repo:
            await repo.planning.take_changes()
            await repo.connection.execute(
                update(person).where(person.c.id == account).values(**values)
            )
        async with store.read() as repo:
            assert await repo.planning.has_changes(), values
