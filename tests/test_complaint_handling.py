"""A complaint's life through the real Application: filed by a mother, answered and resolved by
her companion, reopened by her, closed; others are refused."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.texts.i18n import Translations, Translator
from bot.texts.notices import render_notice
from storage.schema import complaint, complaint_event, notification
from storage.store import Store
from tests.conftest import NOW
from tests.support.chat import Chat
from tests.support.scenes import deliver, enrolled, file_payout_complaint

ZONE = ZoneInfo("Asia/Jakarta")


async def test_answer_resolve_reopen_close(
    mother: Chat, store: Store, translations: Translations, t_id: Translator
) -> None:
    await file_payout_complaint(mother)
    euis = await enrolled(store, mother, "PD-MKJ-1", 7401)

    [count, item] = await euis.send("/keluhanmasuk")
    assert count == "Keluhan yang menunggu Anda: 1"
    assert item.startswith("<b>KLH-2612-0001</b> · RTS-2026-0001 · Pencairan bantuan")
    assert "<i>Uang bantuan tahap ini belum kami terima.</i>" in item
    [ask] = await euis.press("Balas ke rumah tangga")
    assert ask.startswith("Ketik jawaban Anda untuk rumah tangga")
    [sent] = await euis.send("Bu, dana sedang diproses kantor pos, paling lambat Jumat.")
    assert sent.startswith("Jawaban Anda sudah dikirim ke rumah tangga")

    await deliver(store, mother, translations)
    assert mother.api.texts()[-1] == (
        "Jawaban untuk keluhan Ibu/Bapak KLH-2612-0001:\n"
        "<i>Bu, dana sedang diproses kantor pos, paling lambat Jumat.</i>"
    )

    await euis.send("/keluhanmasuk")
    [resolved] = await euis.press("Tandai selesai")
    assert resolved.startswith("Keluhan KLH-2612-0001 ditandai selesai.")
    await deliver(store, mother, translations)
    assert (
        mother.api.texts()[-1]
        == "Keluhan Ibu/Bapak KLH-2612-0001 ditandai selesai. Apakah masalahnya sudah selesai?"
    )
    [sorry] = await mother.press("Belum")
    assert sorry.startswith("Mohon maaf. Keluhan dibuka kembali")

    async with store.read() as repo:
        row = (await repo.connection.execute(select(complaint))).one()
        events = [e.kind for e in (await repo.connection.execute(
            select(complaint_event).order_by(complaint_event.c.id))).all()]  # fmt: skip
        [told, *others] = (await repo.connection.execute(
            select(notification).where(notification.c.template_key == "complaint.reopened")
            .order_by(notification.c.id))).all()  # fmt: skip
        coordinator = await repo.staff.get_by_code("KO-MKJ")
        companion = await repo.staff.get_by_code("PD-MKJ-1")
    assert (row.status, row.level) == ("open", "companion")
    assert row.deadline_at > NOW + timedelta(days=1)  # reset from the moment of reopening
    assert events == ["filed", "reply", "resolved", "reopened"]
    assert coordinator is not None and told.staff_id == coordinator.id
    # The companion who holds it again is told too, with the same words.
    assert companion is not None and [o.staff_id for o in others] == [companion.id]
    assert others[0].params == told.params
    # The household's second tap on the old question changes nothing, and says so truly.
    [again] = await mother.press("Sudah selesai")
    assert again == (
        "Keluhan ini masih ditangani. Kami akan bertanya lagi kepada Ibu/Bapak setelah keluhan "
        "dijawab."
    )
    deadline = t_id.long_date(row.deadline_at.astimezone(ZONE).date())
    assert render_notice(told.template_key, told.params, t_id).text == (
        "Rumah tangga RTS-2026-0001 menyatakan keluhan KLH-2612-0001 belum selesai. Keluhan "
        f"dibuka kembali dan perlu dijawab paling lambat {deadline}."
    )

    # Resolved again, and this time confirmed: closed.
    await euis.send("/keluhanmasuk")
    await euis.press("Tandai selesai")
    await deliver(store, mother, translations)
    [closed] = await mother.press("Sudah selesai")
    assert closed == "Terima kasih! Keluhan sudah ditutup."
    async with store.read() as repo:
        assert (await repo.connection.execute(select(complaint.c.status))).scalar() == "closed"


async def test_other_staff_and_forged_buttons_are_refused(
    mother: Chat, store: Store, translations: Translations
) -> None:
    await file_payout_complaint(mother)
    async with store.read() as repo:
        complaint_id = (await repo.connection.execute(select(complaint.c.id))).scalar()
    hasan = await enrolled(store, mother, "PD-MKJ-2", 7402)  # another companion of Mekarjaya
    for action in ("take", "reply", "resolve"):
        assert await hasan.press_data(
            f"cp:{complaint_id}:{action}", {"message_id": 1, "text": ""}
        ) == ["Maaf, itu tidak bisa dilakukan dari akun ini."]
    assert await hasan.send("/keluhanmasuk") == ["Tidak ada keluhan yang menunggu Anda."]
    dadang = await enrolled(store, mother, "PD-PDG-1", 7403)  # Pandeglang
    assert await dadang.press_data(f"cp:{complaint_id}:take", {"message_id": 1, "text": ""}) == [
        "Maaf, itu tidak bisa dilakukan dari akun ini."
    ]
    # A household cannot press staff buttons, nor answer for another household's complaint.
    assert await mother.press_data(f"cp:{complaint_id}:resolve") == [
        "Maaf, itu tidak bisa dilakukan dari akun ini."
    ]
    # The coordinator of Mekarjaya may take it over.
    asep = await enrolled(store, mother, "KO-MKJ", 7404)
    [taken] = await asep.press_data(f"cp:{complaint_id}:take", {"message_id": 1, "text": ""})
    assert taken == "Anda sekarang menangani keluhan KLH-2612-0001."
    async with store.read() as repo:
        assert (await repo.connection.execute(select(complaint.c.status))).scalar() == "in_progress"


async def test_a_taken_complaint_offers_only_what_is_left_to_do(mother: Chat, store: Store) -> None:
    await file_payout_complaint(mother)
    euis = await enrolled(store, mother, "PD-MKJ-1", 7403)
    await euis.send("/keluhanmasuk")
    assert euis.buttons() == ["Tandai sedang ditangani", "Balas ke rumah tangga", "Tandai selesai"]
    [taken] = await euis.press("Tandai sedang ditangani")
    assert taken == "Anda sekarang menangani keluhan KLH-2612-0001."
    assert euis.buttons() == ["Balas ke rumah tangga", "Tandai selesai"]
    [_count, card] = await euis.send("/keluhanmasuk")
    assert "Status: sedang ditangani" in card
    assert euis.buttons() == ["Balas ke rumah tangga", "Tandai selesai"]


async def test_the_households_photo_reaches_the_staff_with_the_card(
    mother: Chat, store: Store
) -> None:
    await mother.send("/keluhan")
    await mother.press("Pencairan bantuan")
    await mother.send("Antrean di kantor pos panjang sekali, kami pulang tanpa uang.")
    document = {"file_id": "BQACqueue-photo", "file_unique_id": "q1", "mime_type": "image/jpeg",
                "file_name": "antrean.jpg"}  # fmt: skip
    [summary] = await mother.send_content(document=document)  # an image sent "as a file"
    assert "Foto: ya" in summary
    await mother.press("📨 Kirim")
    euis = await enrolled(store, mother, "PD-MKJ-1", 7404)
    [count] = await euis.send("/keluhanmasuk")
    assert count == "Keluhan yang menunggu Anda: 1"
    [card] = euis.api.sent("sendDocument")
    assert card["document"] == "BQACqueue-photo"
    assert card["caption"].startswith("<b>KLH-2612-0001</b> · RTS-2026-0001 · Pencairan bantuan")
    assert "<i>Antrean di kantor pos panjang sekali, kami pulang tanpa uang.</i>" in card["caption"]
    keys = [key["text"] for row in _markup(card)["inline_keyboard"] for key in row]
    assert keys == ["Tandai sedang ditangani", "Balas ke rumah tangga", "Tandai selesai"]


def _markup(params: dict[str, object]) -> dict[str, Any]:
    markup = params["reply_markup"]
    if isinstance(markup, str):
        return dict(json.loads(markup))
    return dict(markup) if isinstance(markup, dict) else dict(markup.to_dict())  # type: ignore[attr-defined]
