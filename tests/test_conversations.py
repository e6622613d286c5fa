"""Many users at once, each in order; a half-done flow survives a restart; abandoned flows end.

Updates here go through PTB's own update fetcher (`application.update_queue`), as in polling and
webhook mode, so they are processed concurrently by our update processor.
"""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

from bot.runtime.updates import ConversationKeeper
from bot.texts.i18n import Translations, Translator
from storage.schema import complaint, conversation
from storage.store import Store
from tests.conftest import NOW, running_bot
from tests.support.chat import Chat
from tests.support.fake_bot_api import Call
from tests.support.helpers import count, import_valid_files
from tests.support.telegram_updates import text_message

HELP_START = "Kirim /start untuk menghubungkan"
UNKNOWN = "Maaf, kami belum mengerti pesan itu."


async def link(chat: Chat, number: str = "RTS-2026-0001", secret: str = "850001") -> None:
    await chat.send("/start")
    await chat.send(number)
    await chat.send(secret)


async def test_each_users_updates_are_answered_in_the_order_they_were_sent(
    store: Store, translations: Translations
) -> None:
    """Telegram's answers come back after random delays, so updates processed side by side would
    answer out of order; each user's must not."""
    shuffle = random.Random(7)

    async def latency(call: Call) -> None:
        await asyncio.sleep(shuffle.random() / 50)

    async with running_bot(store, translations) as (application, api):
        api.before_call = latency
        users = range(81100, 81105)
        sent: dict[int, list[str]] = {}
        for step in range(6):
            for user_id in users:
                text = "/bantuan" if (step + user_id) % 2 else "/entahlah"
                sent.setdefault(user_id, []).append(text)
                await application.update_queue.put(text_message(application.bot, user_id, text))
        await asyncio.wait_for(application.update_queue.join(), 30)

    for user_id in users:
        answers = [
            HELP_START if str(params["text"]).startswith(HELP_START) else UNKNOWN
            for params in api.sent()
            if int(params["chat_id"]) == user_id
        ]
        expected = [HELP_START if text == "/bantuan" else UNKNOWN for text in sent[user_id]]
        assert answers == expected, user_id


async def test_a_slow_answer_to_one_user_does_not_hold_up_another(
    store: Store, translations: Translations
) -> None:
    first_answered = asyncio.Event()
    order: list[int] = []

    async def slow_for_the_first(call: Call) -> None:
        if call.method != "sendMessage":
            return
        chat_id = int(call.params["chat_id"])
        if chat_id == 81201:
            # Telegram is slow for this chat; the other user's answer goes out meanwhile (if
            # updates were processed one at a time, this would wait its full 5 seconds).
            await asyncio.wait_for(first_answered.wait(), 5)
        order.append(chat_id)
        if chat_id == 81202:
            first_answered.set()

    async with running_bot(store, translations) as (application, api):
        api.before_call = slow_for_the_first
        for user_id in (81201, 81202):
            await application.update_queue.put(text_message(application.bot, user_id, "/bantuan"))
        await asyncio.wait_for(application.update_queue.join(), 10)
    assert order[:2] == [81202, 81201]


async def test_a_half_done_complaint_continues_after_a_restart(
    store: Store, translations: Translations, t_id: Translator
) -> None:
    await import_valid_files(store, t_id)
    async with running_bot(store, translations) as (application, api):
        mother = Chat(application, api, user_id=81301)
        await link(mother)
        await mother.send("/keluhan")
        await mother.press("Pencairan bantuan")
    assert await count(store, conversation) == 1

    async with running_bot(store, translations) as (application, api):  # a new process
        mother = Chat(application, api, user_id=81301)
        [ask_photo] = await mother.send("Antrean di kantor pos panjang sekali.")
        assert ask_photo.startswith("Jika foto membantu")
        asked = mother.bot_messages()[-1]
        [skip] = [
            key["callback_data"]
            for row in asked["reply_markup"]["inline_keyboard"]
            for key in row
            if key["text"] == "Lewati"
        ]
    assert await count(store, complaint) == 0

    async with running_bot(store, translations) as (application, api):  # and another
        mother = Chat(application, api, user_id=81301)
        [summary] = await mother.press_data(skip, asked)
        assert "<i>Antrean di kantor pos panjang sekali.</i>" in summary
        [ticket] = await mother.press("📨 Kirim")
        assert ticket.startswith("Keluhan sudah tercatat dengan kode tiket")
    assert await count(store, complaint) == 1
    assert await count(store, conversation) == 0


async def test_an_abandoned_flow_ends_with_a_message_once(
    store: Store, translations: Translations, t_id: Translator
) -> None:
    await import_valid_files(store, t_id)
    async with running_bot(store, translations) as (application, api):
        mother = Chat(application, api, user_id=81401)
        await link(mother)
        await mother.send("/keluhan")
        await mother.press("Lainnya")
        await mother.send("Posyandu tutup tanpa pemberitahuan.")
        keeper: ConversationKeeper = application.bot_data["conversations"]
        assert await keeper.end_abandoned_flows(NOW + timedelta(minutes=14)) == 0
        assert await keeper.end_abandoned_flows(NOW + timedelta(minutes=16)) == 1
        assert api.texts()[-1] == (
            "Kami berhenti menunggu karena tidak ada jawaban selama 15 menit. Tidak ada yang "
            "disimpan. Silakan mulai lagi dari menu kapan saja."
        )
        assert await keeper.end_abandoned_flows(NOW + timedelta(minutes=30)) == 0
        assert await count(store, complaint) == 0
        assert await count(store, conversation) == 0
        mother.seen = len(api.calls)
        [stale] = await mother.press("Lewati")
        assert stale == "Itu tombol lama. Silakan mulai lagi dari menu."


async def test_writing_after_the_timeout_ends_the_flow_then_reads_the_message_afresh(
    store: Store, translations: Translations, t_id: Translator
) -> None:
    await import_valid_files(store, t_id)
    later = [NOW]
    async with running_bot(store, translations) as (application, api):
        application.bot_data["services"].clock = lambda: later[0]
        mother = Chat(application, api, user_id=81501)
        await link(mother)
        await mother.send("/keluhan")
        await mother.press("Lainnya")
        later[0] = NOW + timedelta(minutes=20)
        ended, answer = await mother.send("Posyandu tutup tanpa pemberitahuan.")
        assert ended == (
            "Kami berhenti menunggu karena tidak ada jawaban selama 15 menit. Tidak ada yang "
            "disimpan. Silakan mulai lagi dari menu kapan saja."
        )
        assert answer.startswith(UNKNOWN)
    assert await count(store, complaint) == 0
    assert await count(store, conversation) == 0


async def test_a_flow_begun_after_the_timeout_continues(
    store: Store, translations: Translations, t_id: Translator
) -> None:
    await import_valid_files(store, t_id)
    later = [NOW]
    async with running_bot(store, translations) as (application, api):
        application.bot_data["services"].clock = lambda: later[0]
        mother = Chat(application, api, user_id=81601)
        await link(mother)
        await mother.send("/keluhan")
        later[0] = NOW + timedelta(minutes=20)
        ended, ask = await mother.send("/keluhan")  # the old flow ends, a new one begins
        assert ended == (
            "Kami berhenti menunggu karena tidak ada jawaban selama 15 menit. Tidak ada yang "
            "disimpan. Silakan mulai lagi dari menu kapan saja."
        )
        assert ask == "Keluhan tentang apa?"
        [describe] = await mother.press("Lainnya")
        assert describe.startswith("Silakan ceritakan")
