"""What users do with proactive messages: answer the missed-session question, open digest lists;
and two dispatchers sharing one PostgreSQL database."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.domain.models import Recipient, Role
from bot.runtime.app import SapaApplication
from bot.texts.i18n import Translations, Translator
from bot.texts.notices import render_notice
from storage.schema import absence, attendance_report, notification
from storage.store import Store
from tests.conftest import NOW
from tests.support.chat import Chat
from tests.support.fake_bot_api import FakeBotApi
from tests.support.outbox import ManualClock, add_household, make_dispatcher


async def deliver_missed_question(store: Store, chat: Chat, translations: Translations) -> None:
    """Queue and send the question about the session of 30 November (Posyandu Anggrek)."""
    async with store.write() as repo:
        person = await repo.people.by_telegram_id(chat.user_id)
        anggrek = await repo.geography.get_posyandu("P-MKJ-01")
        assert person is not None and anggrek is not None
        await repo.notifications.queue(
            Recipient(person_id=person.id), "posyandu.missed",
            {"posyandu": anggrek.name, "posyandu_id": anggrek.id, "date": "2026-11-30"},
            due_at=NOW, dedup_key="missed:1:2026-11-30:1", now=NOW,
        )  # fmt: skip
    dispatcher = make_dispatcher(store, chat.application.bot, translations, ManualClock())
    assert (await dispatcher.run_once()).sent == 1
    chat.seen = len(chat.api.calls)


async def test_missed_question_leads_straight_into_the_report(
    mother: Chat, store: Store, translations: Translations
) -> None:
    await deliver_missed_question(store, mother, translations)
    question = mother.bot_messages()[-1]
    assert question["text"] == (
        "Apakah Ibu/Bapak kemarin datang ke Posyandu Anggrek (Senin, 30 November 2026)? "
        "Mohon beri tahu kami, supaya kunjungannya tercatat."
    )
    assert mother.buttons() == ["Sudah, saya laporkan", "Tidak, kami tidak datang"]
    [ask_member] = await mother.press("Sudah, saya laporkan")
    assert ask_member == (
        "Siapa yang ke posyandu? Pilih satu nama, atau beberapa jika pergi bersama."
    )
    [ask_photo] = await mother.press("Aditya Sukmana (balita)")  # the date is already known
    assert ask_photo.startswith("Apakah ada foto")
    [summary] = await mother.press("Lewati")
    assert "Tanggal: Senin, 30 November 2026" in summary
    await mother.press("✅ Simpan")
    async with store.read() as repo:
        [row] = (await repo.connection.execute(select(attendance_report))).all()
    assert row.session_date == date(2026, 11, 30)


async def test_missed_question_records_the_reason_for_not_going(
    mother: Chat, store: Store, translations: Translations
) -> None:
    await deliver_missed_question(store, mother, translations)
    [ask_reason] = await mother.press("Tidak, kami tidak datang")
    assert ask_reason == "Apa yang membuat Ibu/Bapak tidak bisa datang? (Ini membantu program.)"
    assert "Tidak ada uang transport" in mother.buttons()
    [thanks] = await mother.press("Tidak ada uang transport")
    assert thanks.startswith("Terima kasih sudah memberi tahu.")
    async with store.read() as repo:
        [row] = (await repo.connection.execute(select(absence))).all()
    assert (row.session_date, row.reason) == (date(2026, 11, 30), "no_transport_money")
    # The same question's buttons again: the answer is not recorded twice.
    question = next(m for m in mother.bot_messages() if m["text"].startswith("Apakah Ibu"))
    data = question["reply_markup"]["inline_keyboard"][1][0]["callback_data"]
    await mother.press_data(data, question)
    await mother.press("Sakit")
    async with store.read() as repo:
        assert len((await repo.connection.execute(select(absence))).all()) == 1


@pytest.mark.parametrize("data", [
    "miss:999:2026-11-30:report",  # a posyandu that does not exist
    "miss:1:2026-12-05:report",  # a day in the future
    "miss:1:2026-10-01:absent",  # too long ago
    "miss:1:yesterday:report",
    "miss:1:2026-13-45:report",  # a day that does not exist
])  # fmt: skip
async def test_forged_missed_question_buttons(mother: Chat, data: str) -> None:
    [answer] = await mother.press_data(data)
    assert answer == "Itu tombol lama. Silakan mulai lagi dari menu."
    assert "answerCallbackQuery" in [call.method for call in mother.api.calls[-3:]]


async def test_digest_list_buttons_are_for_the_companion_only(
    mother: Chat, store: Store, bot_app: tuple[SapaApplication, FakeBotApi]
) -> None:
    from bot.services.digest import build_digest
    from bot.texts.digest import render_digest

    async with store.write() as repo:
        companion = await repo.staff.get_by_code("PD-MKJ-1")
        assert companion is not None
        await repo.people.add(7300, Role.COMPANION, NOW, staff_id=companion.id)
        params = await build_digest(repo, companion.id, date(2026, 12, 1), NOW)
    assert params is not None
    t = Translations("id").for_language("id")
    notice = render_digest(params, t)
    assert notice.text.startswith(
        "<b>Selamat pagi! Rumah tangga dampingan Anda, Selasa, 1 Desember 2026</b>"
    )
    assert (
        "• Belum ada laporan hadir di posyandu terakhir: 2" in notice.text
    )  # RTS-2026-0001 and -0003
    [missed_button] = [
        data for row in notice.buttons for _label, data in row if data.endswith(":missed")
    ]

    companion_chat = Chat(mother.application, mother.api, 7300, seen=len(mother.api.calls))
    [full] = await companion_chat.press_data(missed_button, {"message_id": 1, "text": ""})
    assert full.startswith(
        "<b>Belum ada laporan hadir di posyandu terakhir</b>\nRTS-2026-0001 Ujang Sukmana"
    )
    [refused] = await mother.press_data(missed_button, {"message_id": 1, "text": ""})
    assert refused == "Maaf, itu tidak bisa dilakukan dari akun ini."


async def test_a_long_digest_list_arrives_in_parts(
    chat: Chat, store: Store, t_id: Translator, tmp_path: Path
) -> None:
    from bot.texts.message_parts import MESSAGE_LIMIT
    from tests.support.helpers import add_households_for_euis
    from tests.support.scenes import is_whole_html

    # 150 more households for Euis at Posyandu Anggrek, each with a child: none came on the
    # 30th of November, so all of them are in her "missed" list (too long for one message).
    await add_households_for_euis(store, t_id, tmp_path, 150)
    async with store.write() as repo:
        companion = await repo.staff.get_by_code("PD-MKJ-1")
        assert companion is not None
        await repo.people.add(7301, Role.COMPANION, NOW, staff_id=companion.id)
    euis = Chat(chat.application, chat.api, 7301, seen=len(chat.api.calls))
    parts = await euis.press_data("dg:2026-12-01:missed", {"message_id": 1, "text": ""})
    assert len(parts) >= 2 and all(len(part) <= MESSAGE_LIMIT for part in parts)
    assert all(is_whole_html(part) for part in parts)
    assert parts[0].startswith(
        "<b>Belum ada laporan hadir di posyandu terakhir</b>\nRTS-2026-0001 Ujang"
    )
    shown = "\n".join(parts).split("\n")
    for n in range(150):
        assert f"RTS-2026-{n + 100:04d} Ma&#x27;ruf Hidayatullah {n}" in shown


async def test_two_dispatchers_on_postgresql_never_send_a_row_twice(
    store: Store, translations: Translations, bot_app: tuple[SapaApplication, FakeBotApi]
) -> None:
    if store.engine.dialect.name != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED is what PostgreSQL adds; SQLite has one writer")
    application, api = bot_app
    async with store.write() as repo:
        household_id = await add_household(repo, "RTS-9000")
        for n in range(120):
            person = await repo.people.add(
                90_000 + n, Role.HOUSEHOLD, NOW, household_id=household_id
            )
            await repo.notifications.queue(
                Recipient(person_id=person.id), "complaint.status",
                {"ticket": f"KLH-{n}", "status": "closed"}, due_at=NOW, dedup_key=f"k{n}", now=NOW,
            )  # fmt: skip
    first = make_dispatcher(
        store, application.bot, translations, ManualClock(), messages_per_second=1000
    )
    second = make_dispatcher(
        store, application.bot, translations, ManualClock(), messages_per_second=1000
    )
    one, two = await asyncio.gather(first.run_once(), second.run_once())
    assert one.sent + two.sent == 120
    # Usually both send some; on a busy machine one may claim every batch first. What must hold
    # either way: every chat got its message exactly once.
    chats = [p["chat_id"] for p in api.sent()]
    assert len(chats) == len(set(chats)) == 120
    async with store.read() as repo:
        statuses = (await repo.connection.execute(select(notification.c.status))).scalars().all()
    assert set(statuses) == {"sent"}


def test_reminder_texts(translations: Translations) -> None:
    t = translations.for_language("id")
    eve = render_notice("posyandu.eve", {"posyandu": "Posyandu <Anggrek>", "date": "2026-12-28",
                                         "members": ["Neneng", "Aditya"]}, t)  # fmt: skip
    assert eve.text == (
        "Pengingat: besok, Senin, 28 Desember 2026, jadwal Posyandu &lt;Anggrek&gt; untuk "
        "Neneng, Aditya. Jangan lupa bawa buku KIA / kartu KMS."
    )
    payout = render_notice("payout.reminder", {"date": "2026-12-16", "place": "Kantor Pos Mekarjaya",
                                               "amount": 2250000, "start": "08.00", "end": "08.30",
                                               "days": 3}, translations.for_language("en"))  # fmt: skip
    assert payout.text == (
        "Payout in 3 days, on Wednesday, 16 December 2026, at Kantor Pos Mekarjaya. Your queue "
        "time: 08.00–08.30 WIB. Amount: Rp2.250.000. Bring your KTP, KK and programme card."
    )
