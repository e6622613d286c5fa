"""The household answers staff back (issue 16 #4): under a staff reply, "Balas" takes a text, a
photo (or an image sent as a file) or a voice note; the answer joins the complaint's history and
reaches the staff member holding the complaint, with its photo or voice note; an answer on a
resolved complaint asks whether it is solved, and "Belum" reopens it. A voice note may also be
the content of a new complaint. Through the real Application, on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.texts.i18n import Translations
from storage.schema import complaint, complaint_event, notification
from storage.store import Store
from tests.support.chat import Chat
from tests.support.scenes import deliver as deliver_outbox
from tests.support.scenes import enrolled, file_payout_complaint

TICKET = "KLH-2612-0001"
ASK = (
    "Tulis jawaban Ibu/Bapak tentang keluhan KLH-2612-0001. Ibu/Bapak juga boleh mengirim foto, "
    "atau pesan suara jika sulit menulis."
)
THANKS = (
    "Terima kasih, jawaban Ibu/Bapak sudah ditambahkan ke keluhan KLH-2612-0001 dan diteruskan ke "
    "petugas yang menanganinya."
)
CLOSED = (
    "Keluhan ini sudah ditutup. Jika masalahnya muncul lagi, mohon kirim keluhan baru lewat "
    "“Keluhan”."
)
STALE = ["Itu tombol lama. Silakan mulai lagi dari menu."]
NO_WORDS = ["Mohon tulis beberapa kata, atau kirim foto atau pesan suara, atau /batal."]
VOICE = {"file_id": "AwACvoice-answer", "file_unique_id": "v1", "duration": 12,
         "mime_type": "audio/ogg"}  # fmt: skip


def _photo(file_id: str) -> list[dict[str, Any]]:
    return [
        {"file_id": f"{file_id}-small", "file_unique_id": "p1", "width": 90, "height": 67},
        {"file_id": file_id, "file_unique_id": "p2", "width": 1280, "height": 960},
    ]


async def _answers(store: Store) -> list[tuple[str | None, str | None, str | None]]:
    """The household's answers in the history: (note, file id, file kind), oldest first."""
    query = (
        select(complaint_event.c.note, complaint_event.c.file_id, complaint_event.c.file_kind)
        .where(complaint_event.c.kind == "answer")
        .order_by(complaint_event.c.id)
    )
    async with store.read() as repo:
        return [tuple(row) for row in await repo.connection.execute(query)]  # type: ignore[misc]


async def _replied(mother: Chat, store: Store, translations: Translations) -> Chat:
    """The mother's payout complaint, answered by her companion Euis; the reply has reached the
    mother with its "Balas" button. Returns Euis's chat."""
    await file_payout_complaint(mother)
    euis = await enrolled(store, mother, "PD-MKJ-1", 7501)
    await euis.send("/keluhanmasuk")
    await euis.press("Balas ke rumah tangga")
    await euis.send("Bu, dana sedang diproses kantor pos, paling lambat Jumat.")
    await deliver(store, translations, mother, euis)
    assert mother.api.texts()[-1].startswith("Jawaban untuk keluhan Ibu/Bapak KLH-2612-0001:")
    assert mother.buttons() == ["Balas"]
    return euis


async def deliver(store: Store, translations: Translations, *chats: Chat) -> None:
    """Send what the outbox holds; the chats' next answers start after it."""
    await deliver_outbox(store, chats[0], translations)
    for chat in chats:
        chat.seen = len(chat.api.calls)


def _texts_to(chat: Chat) -> list[str]:
    return [str(m["text"]) for m in chat.bot_messages()]


async def test_a_written_answer_joins_the_history_and_reaches_the_companion(
    mother: Chat, store: Store, translations: Translations
) -> None:
    euis = await _replied(mother, store, translations)
    assert await mother.press("Balas") == [ASK]
    assert mother.buttons() == ["Batal"]
    [thanks] = await mother.send("Terima kasih Bu, tapi sudah dua minggu belum ada kabar.")
    assert thanks == THANKS
    assert await _answers(store) == [
        ("Terima kasih Bu, tapi sudah dua minggu belum ada kabar.", None, None)
    ]
    # Nothing of it is in the outbox: the notice only says that the household answered.
    async with store.read() as repo:
        told = (
            await repo.connection.execute(
                select(notification).where(notification.c.template_key == "complaint.answered")
            )
        ).one()
        euis_staff = await repo.staff.get_by_code("PD-MKJ-1")
    assert euis_staff is not None and told.staff_id == euis_staff.id
    assert "dua minggu" not in str(told.params)

    await deliver(store, translations, mother, euis)
    assert _texts_to(euis)[-1] == (
        "Rumah tangga RTS-2026-0001 menjawab pada keluhan KLH-2612-0001: pesan tertulis. Tekan "
        "“Buka keluhan” untuk melihatnya."
    )
    assert euis.buttons() == ["Buka keluhan", "Balas ke rumah tangga"]
    [card] = await euis.press("Buka keluhan")
    assert card.startswith("<b>KLH-2612-0001</b> · RTS-2026-0001 · Pencairan bantuan")
    assert card.endswith(
        "↪ Sel 1 Des 10.00 · Petugas: <i>Bu, dana sedang diproses kantor pos, paling lambat "
        "Jumat.</i>\n"
        "↪ Sel 1 Des 10.00 · Rumah tangga: <i>Terima kasih Bu, tapi sudah dua minggu belum ada "
        "kabar.</i>"
    )
    # The household sees the exchange in /status, and may answer again with the same button.
    [status] = await mother.send("/status")
    assert "↪ Sel 1 Des 10.00 · Ibu/Bapak: <i>Terima kasih Bu" in status
    assert await mother.press("Balas") == [ASK]


async def test_a_photo_an_image_file_and_a_voice_note_reach_the_staff_holding_it(
    mother: Chat, store: Store, translations: Translations
) -> None:
    await file_payout_complaint(mother)
    # The coordinator takes the complaint over and replies: the answers go to him, not to Euis.
    asep = await enrolled(store, mother, "KO-MKJ", 7502)
    euis = await enrolled(store, mother, "PD-MKJ-1", 7503)
    await asep.send("/keluhanmasuk")
    await asep.press("Ambil alih")
    await asep.press("Balas ke rumah tangga")
    await asep.send("Bu, mohon kirim foto antreannya.")
    await deliver(store, translations, mother, asep, euis)

    await mother.press("Balas")
    assert await mother.send_content(photo=_photo("AgACqueue"), caption="Ini antreannya") == [
        THANKS
    ]
    await mother.press("Balas")
    image = {"file_id": "BQACqueue-file", "file_unique_id": "d1", "mime_type": "image/jpeg",
             "file_name": "antrean.jpg"}  # fmt: skip
    assert await mother.send_content(document=image, caption="🙏") == [THANKS]  # no words
    await mother.press("Balas")
    assert await mother.send_content(voice=VOICE) == [THANKS]
    assert await _answers(store) == [
        ("Ini antreannya", "AgACqueue", "photo"),
        (None, "BQACqueue-file", "document"),
        (None, "AwACvoice-answer", "voice"),
    ]

    seen_by_euis = len(euis.bot_messages())
    await deliver(store, translations, mother, asep, euis)
    assert len(euis.bot_messages()) == seen_by_euis  # she does not hold it
    assert _texts_to(asep)[-3:] == [
        "Rumah tangga RTS-2026-0001 menjawab pada keluhan KLH-2612-0001: foto dengan pesan. "
        "Tekan “Buka keluhan” untuk melihatnya.",
        "Rumah tangga RTS-2026-0001 menjawab pada keluhan KLH-2612-0001: foto. Tekan “Buka "
        "keluhan” untuk melihatnya.",
        "Rumah tangga RTS-2026-0001 menjawab pada keluhan KLH-2612-0001: pesan suara. Tekan "
        "“Buka keluhan” untuk melihatnya.",
    ]
    [card] = await asep.press("Buka keluhan")
    assert card.endswith(
        "↪ Sel 1 Des 10.00 · Petugas: <i>Bu, mohon kirim foto antreannya.</i>\n"
        "↪ Sel 1 Des 10.00 · Rumah tangga: <i>Ini antreannya</i> [foto]\n"
        "↪ Sel 1 Des 10.00 · Rumah tangga: [foto]\n"
        "↪ Sel 1 Des 10.00 · Rumah tangga: [pesan suara]"
    )
    caption = "Jawaban rumah tangga pada KLH-2612-0001, Sel 1 Des 10.00"
    forwarded = {
        method: [(p["chat_id"], p[field], p["caption"]) for p in asep.api.sent(method)]
        for method, field in (("sendPhoto", "photo"), ("sendDocument", "document"),
                              ("sendVoice", "voice"))
    }  # fmt: skip
    assert forwarded == {
        "sendPhoto": [(7502, "AgACqueue", caption)],
        "sendDocument": [(7502, "BQACqueue-file", caption)],
        "sendVoice": [(7502, "AwACvoice-answer", caption)],
    }


async def test_an_answer_on_a_resolved_complaint_asks_whether_it_is_solved(
    mother: Chat, store: Store, translations: Translations
) -> None:
    euis = await _replied(mother, store, translations)
    await euis.send("/keluhanmasuk")
    await euis.press("Tandai selesai")
    await deliver(store, translations, mother, euis)
    await mother.press("Balas")  # under the reply, before the question came
    [asked] = await mother.send("Uangnya masih belum ada, Bu.")
    assert asked == (
        "Terima kasih, jawaban Ibu/Bapak sudah ditambahkan ke keluhan KLH-2612-0001 dan "
        "diteruskan. Keluhan ini sudah ditandai selesai: apakah masalahnya sudah selesai?"
    )
    assert mother.buttons() == ["Sudah selesai", "Belum"]
    async with store.read() as repo:
        assert (await repo.connection.execute(select(complaint.c.status))).scalar() == "resolved"
    [sorry] = await mother.press("Belum")
    assert sorry.startswith("Mohon maaf. Keluhan dibuka kembali")
    async with store.read() as repo:
        row = (await repo.connection.execute(select(complaint))).one()
        kinds = (
            await repo.connection.execute(
                select(complaint_event.c.kind).order_by(complaint_event.c.id)
            )
        ).scalars()
        assert list(kinds) == ["filed", "reply", "resolved", "answer", "reopened"]
    assert (row.status, row.level) == ("open", "companion")
    # Euis, who resolved it, hears of the answer and that it is open again: hers to handle.
    await deliver(store, translations, mother, euis)
    answer, reopened = _texts_to(euis)[-2:]
    assert (
        "Rumah tangga RTS-2026-0001 menjawab pada keluhan KLH-2612-0001: pesan tertulis." in answer
    )
    assert reopened.startswith(
        "Rumah tangga RTS-2026-0001 menyatakan keluhan KLH-2612-0001 belum selesai. Keluhan "
        "dibuka kembali dan perlu dijawab paling lambat "
    )
    await euis.press("Buka keluhan")
    assert euis.buttons() == ["Tandai sedang ditangani", "Balas ke rumah tangga", "Tandai selesai"]


async def test_a_closed_complaint_and_another_households_are_refused(
    mother: Chat, store: Store, translations: Translations
) -> None:
    euis = await _replied(mother, store, translations)
    # A second account of the same household presses "Balas" and starts typing...
    father = Chat(mother.application, mother.api, 81002, seen=len(mother.api.calls))
    await father.send("/start")
    await father.send("RTS-2026-0001")
    await father.send("850001")
    assert await father.press_data(_answer_button(mother)) == [ASK]
    # ...while the mother confirms that the problem is solved: the complaint is closed.
    await euis.send("/keluhanmasuk")
    await euis.press("Tandai selesai")
    await deliver(store, translations, mother, euis, father)
    assert await mother.press("Sudah selesai") == ["Terima kasih! Keluhan sudah ditutup."]
    assert await father.send("Terima kasih, sudah beres.") == [CLOSED]
    assert await mother.press("Balas") == [CLOSED]
    assert await _answers(store) == []

    # A household that forges the button of another household's complaint learns nothing of it.
    siti = Chat(mother.application, mother.api, 81003, seen=len(mother.api.calls))
    await siti.send("/start")
    await siti.send("RTS-2026-0002")
    await siti.send("880002")
    async with store.read() as repo:
        complaint_id = (await repo.connection.execute(select(complaint.c.id))).scalar_one()
    assert await siti.press_data(f"kb:{complaint_id}") == STALE
    assert await siti.press_data("kb:999999") == STALE
    # No answer flow was started: her next words are not attached to anything.
    await siti.send("Ini jawaban saya.")
    assert await _answers(store) == []
    # Staff cannot answer as a household.
    assert await euis.press_data(f"kb:{complaint_id}") == [
        "Perintah ini untuk rumah tangga peserta program."
    ]
    answered = [c for c in mother.api.calls if c.method == "answerCallbackQuery"]
    queries = [c.params["callback_query_id"] for c in answered]
    assert len(queries) == len(set(queries))  # every press answered once, never twice


async def test_answers_without_words_too_long_or_cancelled(
    mother: Chat, store: Store, translations: Translations
) -> None:
    await _replied(mother, store, translations)
    await mother.press("Balas")
    assert await mother.send("👍👍🙏") == NO_WORDS
    assert await mother.send("..") == NO_WORDS
    assert await mother.send("x" * 2001) == [
        "Pesan terlalu panjang. Mohon dipersingkat menjadi paling banyak 2.000 karakter, lalu "
        "kirim lagi."
    ]
    assert await mother.send_sticker() == [
        "Di sini kami hanya bisa membaca teks, foto, dan tombol. Silakan jawab dengan tombol atau "
        "dengan mengetik, atau kirim /batal untuk berhenti."
    ]
    assert await _answers(store) == []
    # Still waiting for the answer: a photo with an emoji-only caption is taken, without a note.
    assert await mother.send_content(photo=_photo("AgACstamp"), caption="👍") == [THANKS]
    assert await _answers(store) == [(None, "AgACstamp", "photo")]
    await mother.press("Balas")
    assert await mother.press("Batal") == ["Dibatalkan. Tidak ada yang disimpan."]
    assert await mother.send("Sudah saya kirim fotonya.") == [
        "Maaf, kami belum mengerti pesan itu. Kirim /bantuan untuk melihat apa yang bisa kami "
        "bantu."
    ]
    assert len(await _answers(store)) == 1


async def test_a_voice_note_tells_a_new_complaint_and_reaches_the_companion(
    mother: Chat, store: Store, translations: Translations
) -> None:
    await mother.send("/keluhan")
    [ask] = await mother.press("Pencairan bantuan")
    assert "Jika Ibu/Bapak sulit menulis, Ibu/Bapak boleh mengirim pesan suara." in ask
    voice = {"file_id": "AwACvoice-complaint", "file_unique_id": "v2", "duration": 40}
    [photo_step] = await mother.send_content(voice=voice)
    assert photo_step == "Jika foto membantu menjelaskan, kirim sekarang. Jika tidak, tekan Lewati."
    [summary] = await mother.press("Lewati")
    assert summary == (
        "Mohon periksa kembali keluhan ini:\nKategori: Pencairan bantuan\nFoto: tidak\n"
        "Pesan suara: ya\n\n<i>(pesan suara)</i>"
    )
    await mother.press("📨 Kirim")
    async with store.read() as repo:
        row = (await repo.connection.execute(select(complaint))).one()
    assert (row.ticket_code, row.voice_file_id, row.text) == (
        TICKET,
        "AwACvoice-complaint",
        "(pesan suara)",
    )

    euis = await enrolled(store, mother, "PD-MKJ-1", 7504)
    await deliver(store, translations, mother, euis)
    assert _texts_to(euis)[-1].startswith("Keluhan baru KLH-2612-0001 dari rumah tangga")
    [card] = await euis.press("Buka keluhan")
    assert card.startswith("<b>KLH-2612-0001</b> · RTS-2026-0001 · Pencairan bantuan")
    assert "<i>(pesan suara)</i>" in card
    assert [(p["chat_id"], p["voice"], p["caption"]) for p in euis.api.sent("sendVoice")] == [
        (7504, "AwACvoice-complaint", "Pesan suara keluhan KLH-2612-0001")
    ]
    # In her list too, with the voice note after the card.
    await euis.send("/keluhanmasuk")
    assert [p["voice"] for p in euis.api.sent("sendVoice")] == ["AwACvoice-complaint"] * 2


async def test_a_voice_note_with_words_keeps_them_as_the_text(mother: Chat, store: Store) -> None:
    await mother.send("/keluhan")
    await mother.press("Pencairan bantuan")
    voice = {"file_id": "AwACvoice-words", "file_unique_id": "v3", "duration": 30}
    await mother.send_content(voice=voice, caption="Antrean di kantor pos")
    [summary] = await mother.press("Lewati")
    assert summary.endswith("Pesan suara: ya\n\n<i>Antrean di kantor pos</i>")
    await mother.press("📨 Kirim")
    async with store.read() as repo:
        row = (await repo.connection.execute(select(complaint))).one()
    assert (row.voice_file_id, row.text) == ("AwACvoice-words", "Antrean di kantor pos")


def _answer_button(chat: Chat) -> str:
    """The data of the newest "Balas" button the bot sent anyone."""
    for call in reversed(chat.api.calls):
        markup = call.params.get("reply_markup")
        if markup is None:
            continue
        rows = markup.to_dict() if hasattr(markup, "to_dict") else markup
        if isinstance(rows, str):
            import json

            rows = json.loads(rows)
        for row in rows.get("inline_keyboard", []):
            for key in row:
                if key["text"] == "Balas":
                    return str(key["callback_data"])
    raise AssertionError("no Balas button")


async def test_staff_pressing_is_it_solved_are_answered_and_change_nothing(
    mother: Chat, store: Store
) -> None:
    # Review of issue 16: "Is the problem solved?" pressed by anyone but a linked household
    # got its reply, but the button's spinner kept turning (the press was never answered).
    await file_payout_complaint(mother)
    euis = await enrolled(store, mother, "PD-MKJ-1", 7711)
    async with store.read() as repo:
        complaint_id = (await repo.connection.execute(select(complaint.c.id))).scalar_one()
    first = len(euis.api.calls)
    assert await euis.press_data(f"kc:{complaint_id}:no") == [
        "Perintah ini untuk rumah tangga peserta program."
    ]
    answered = [c for c in euis.api.calls[first:] if c.method == "answerCallbackQuery"]
    assert len(answered) == 1
    async with store.read() as repo:
        status = (await repo.connection.execute(select(complaint.c.status))).scalar_one()
    assert status == "open"
