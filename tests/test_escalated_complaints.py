"""Escalation keeps the companion in the loop (issue 16 #3): her household's complaint that went
up stays in her /keluhanmasuk and her digest, marked as handled by the coordinator (or the
district team), read-only for her; she is told when it goes up and when it is resolved there;
her recap line counts it as overdue. A complaint about herself stays out of her sight. Through
the real Application, on both databases."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from bot.domain.buttons import DigestList, encode
from bot.services.complaints import ComplaintPolicy
from bot.services.digest import build_digest
from bot.texts.digest import render_digest
from bot.texts.i18n import Translations, Translator
from jobs.escalation import sweep
from storage.schema import complaint
from storage.store import Store
from tests.conftest import NOW
from tests.support.chat import Chat
from tests.support.helpers import add_households_for_euis
from tests.support.outbox import WIB
from tests.support.scenes import deliver as deliver_outbox
from tests.support.scenes import enrolled, file_payout_complaint

POLICY = ComplaintPolicy(WIB)  # 3 working days at the companion's, 5 at the coordinator's
REFUSED = ["Maaf, itu tidak bisa dilakukan dari akun ini."]
UP_TO_COORDINATOR = (
    "Keluhan KLH-2612-0001 dari rumah tangga RTS-2026-0001 tidak selesai tepat waktu dan sekarang "
    "ditangani koordinator kecamatan. Anda tetap bisa mengikutinya di /keluhanmasuk."
)
READ_ONLY = [
    "Keluhan KLH-2612-0001 sekarang ditangani koordinator kecamatan. Anda bisa mengikutinya di "
    "/keluhanmasuk, tetapi tidak bisa lagi menindaklanjutinya."
]


async def escalate(store: Store) -> int:
    """One level up for every complaint that would be overdue in a month, dated now (as
    `sapa escalate --at ... --apply` does)."""
    return await sweep(store, NOW, POLICY, overdue_at=NOW + timedelta(days=30))


async def deliver(store: Store, translations: Translations, *chats: Chat) -> None:
    """Send what the outbox holds; the chats' next answers start after it."""
    await deliver_outbox(store, chats[0], translations)
    for chat in chats:
        chat.seen = len(chat.api.calls)


def texts_to(chat: Chat) -> list[str]:
    return [str(m["text"]) for m in chat.bot_messages()]


async def complaint_about_the_companion(mother: Chat) -> None:
    await mother.send("/keluhan")
    await mother.press("Pendamping")
    await mother.send("Pendamping tidak pernah datang ke kampung kami.")
    await mother.press("Lewati")
    await mother.press("📨 Kirim")


async def ids(store: Store) -> dict[str, int]:
    async with store.read() as repo:
        rows = await repo.connection.execute(select(complaint.c.ticket_code, complaint.c.id))
        return {ticket: id_ for ticket, id_ in rows}


async def test_an_escalated_complaint_stays_in_her_list_read_only(
    mother: Chat, store: Store, translations: Translations
) -> None:
    await file_payout_complaint(mother)  # KLH-2612-0001, at Euis's level
    await complaint_about_the_companion(mother)  # KLH-2612-0002, about Euis: the coordinator's
    euis = await enrolled(store, mother, "PD-MKJ-1", 7801)
    await deliver(store, translations, mother, euis)
    assert euis.buttons() == ["Buka keluhan"]  # the notice of the new complaint
    complaint_ids = await ids(store)

    assert await escalate(store) == 2  # 0001 to the coordinator, 0002 to the district team
    await deliver(store, translations, mother, euis)
    # She hears that her household's complaint went up, and nothing of the one about her.
    [told] = [text for text in texts_to(euis) if "tidak selesai tepat waktu" in text]
    assert told == UP_TO_COORDINATOR
    assert not any("KLH-2612-0002" in text for text in texts_to(euis))

    [none, heading, card] = await euis.send("/keluhanmasuk")
    assert none == "Tidak ada keluhan yang menunggu Anda."
    assert heading == "Keluhan rumah tangga Anda yang sekarang ditangani di atas Anda: 1"
    assert card.startswith(
        "<b>KLH-2612-0001</b> · RTS-2026-0001 · Pencairan bantuan\n"
        "Sekarang ditangani koordinator kecamatan.\n"
        "Status: baru"
    )
    assert euis.buttons() == []  # read-only for her
    # The buttons she still has (and forged ones) tell her why she can no longer act.
    first = complaint_ids["KLH-2612-0001"]
    for action in ("take", "reply", "resolve"):
        assert await euis.press_data(f"cp:{first}:{action}") == READ_ONLY
    async with store.read() as repo:
        row = (
            await repo.connection.execute(select(complaint).where(complaint.c.id == first))
        ).one()
    assert (row.status, row.level) == ("open", "coordinator")
    # "Buka keluhan" of the notice she had shows the card she follows, without buttons.
    [opened] = await euis.press("Buka keluhan")
    assert opened == card
    assert euis.buttons() == []
    # The complaint about her stays out of her sight, whatever she presses.
    about_her = complaint_ids["KLH-2612-0002"]
    for action in ("view", "take", "reply", "resolve"):
        assert await euis.press_data(f"cp:{about_her}:{action}") == REFUSED
    # Another companion of the kecamatan does not follow Euis's household.
    hasan = await enrolled(store, mother, "PD-MKJ-2", 7802)
    assert await hasan.send("/keluhanmasuk") == ["Tidak ada keluhan yang menunggu Anda."]
    assert await hasan.press_data(f"cp:{first}:view") == REFUSED


async def test_she_is_told_when_it_goes_up_again_and_when_it_is_resolved(
    mother: Chat, store: Store, translations: Translations
) -> None:
    await file_payout_complaint(mother)
    euis = await enrolled(store, mother, "PD-MKJ-1", 7803)
    agus = await enrolled(store, mother, "TPJK-1", 7804)
    assert await escalate(store) == 1
    assert await escalate(store) == 1  # on to the district team
    await deliver(store, translations, mother, euis, agus)
    assert [text for text in texts_to(euis) if "tidak selesai tepat waktu" in text] == [
        UP_TO_COORDINATOR,
        "Keluhan KLH-2612-0001 dari rumah tangga RTS-2026-0001 tidak selesai tepat waktu dan "
        "sekarang ditangani tim kabupaten (TPJK). Anda tetap bisa mengikutinya di /keluhanmasuk.",
    ]
    [_none, _heading, card] = await euis.send("/keluhanmasuk")
    assert "\nSekarang ditangani tim kabupaten (TPJK).\n" in card

    await agus.send("/keluhanmasuk")
    assert await agus.press("Tandai selesai") == [
        "Keluhan KLH-2612-0001 ditandai selesai. Rumah tangga akan ditanya apakah masalahnya "
        "sudah selesai."
    ]
    await deliver(store, translations, mother, euis, agus)
    assert texts_to(euis)[-1] == (
        "Keluhan KLH-2612-0001 dari rumah tangga RTS-2026-0001, yang ditangani tim kabupaten "
        "(TPJK), sudah ditandai selesai. Rumah tangga ditanya apakah masalahnya sudah selesai."
    )
    assert await euis.send("/keluhanmasuk") == ["Tidak ada keluhan yang menunggu Anda."]


async def test_her_digest_lists_it_as_handled_above_her(
    mother: Chat, store: Store, translations: Translations, t_id: Translator
) -> None:
    await file_payout_complaint(mother)  # KLH-2612-0001: it will go up
    await escalate(store)
    await file_payout_complaint(mother)  # KLH-2612-0002: still hers, due Friday
    await complaint_about_the_companion(mother)  # KLH-2612-0003: about her, never listed
    async with store.read() as repo:
        euis_staff = await repo.staff.get_by_code("PD-MKJ-1")
        assert euis_staff is not None
        digest = await build_digest(repo, euis_staff.id, date(2026, 12, 1), NOW)
    assert digest is not None
    text = render_digest(digest, t_id).text
    assert "• Keluhan menunggu Anda: 2 (1 lewat tenggat)" in text
    assert (
        "<b>Keluhan yang menunggu Anda</b>\n"
        "KLH-2612-0002 (RTS-2026-0001), tenggat Jum 4 Des\n"
        "KLH-2612-0001 (RTS-2026-0001), sekarang ditangani koordinator kecamatan\n"
    ) in text + "\n"
    assert "KLH-2612-0003" not in text

    # The full list behind the digest's button says the same, computed afresh.
    euis = await enrolled(store, mother, "PD-MKJ-1", 7805)
    assert await euis.press_data(encode(DigestList(date(2026, 12, 1), "complaints"))) == [
        "<b>Keluhan yang menunggu Anda</b>\n"
        "KLH-2612-0002 (RTS-2026-0001), tenggat Jum 4 Des\n"
        "KLH-2612-0001 (RTS-2026-0001), sekarang ditangani koordinator kecamatan"
    ]


async def test_her_recap_line_counts_it_as_overdue_until_resolved(
    mother: Chat, store: Store, translations: Translations
) -> None:
    await file_payout_complaint(mother)  # KLH-2612-0001: it will go up
    await escalate(store)
    await file_payout_complaint(mother)  # KLH-2612-0002: hers, not overdue yet
    await complaint_about_the_companion(mother)  # KLH-2612-0003: about her, not hers to count
    asep = await enrolled(store, mother, "KO-MKJ", 7806)

    async def overdue_of_euis() -> str:
        [text] = await asep.send("/rekap")
        [line] = [line for line in text.split("\n") if line.startswith("PD-MKJ-1 Euis Rohmah:")]
        return line.split(" / ")[3]

    assert await overdue_of_euis() == "1"
    await asep.send("/keluhanmasuk")
    await asep.press_data(f"cp:{(await ids(store))['KLH-2612-0001']}:resolve")
    assert await overdue_of_euis() == "0"


async def test_the_card_she_opens_of_a_complaint_she_filed_that_went_up_names_her(
    chat: Chat, store: Store
) -> None:
    # Review of issue 16: opened with a button, the card she follows said "oleh pendamping ?".
    euis = await enrolled(store, chat, "PD-MKJ-1", 7807)
    await euis.send("/keluhanuntuk RTS-2026-0003")  # Encep Maulana's household, not on Telegram
    await euis.press("Pencairan bantuan")
    await euis.send("Ibu Rohmah belum menerima bantuan tahap ini.")
    await euis.press("Lewati")
    await euis.press("📨 Kirim")
    assert await escalate(store) == 1
    [opened] = await euis.press_data(f"cp:{(await ids(store))['KLH-2612-0001']}:view")
    assert opened.startswith(
        "<b>KLH-2612-0001</b> · RTS-2026-0003 · Pencairan bantuan\n"
        "Sekarang ditangani koordinator kecamatan.\n"
        "Diajukan untuk rumah tangga ini oleh pendamping Euis Rohmah\n"
    )
    [_none, _heading, listed] = await euis.send("/keluhanmasuk")
    assert listed == opened


async def test_the_district_list_binds_no_household_ids(
    mother: Chat, store: Store, t_id: Translator, tmp_path: Path
) -> None:
    # Review of issue 16: the district team's /keluhanmasuk bound every household id of the
    # district into one query, past the 32,767 parameters PostgreSQL (and SQLite) take.
    await add_households_for_euis(store, t_id, tmp_path, 300)
    await file_payout_complaint(mother)
    assert await escalate(store) == 1
    assert await escalate(store) == 1  # at the district now
    agus = await enrolled(store, mother, "TPJK-1", 7808)
    bound: list[int] = []

    def count(*args: Any) -> None:
        parameters = args[3]
        bound.append(len(parameters) if parameters else 0)

    event.listen(store.engine.sync_engine, "before_cursor_execute", count)
    try:
        [heading, card] = await agus.send("/keluhanmasuk")
    finally:
        event.remove(store.engine.sync_engine, "before_cursor_execute", count)
    assert heading == "Keluhan yang menunggu Anda: 1"
    assert card.startswith("<b>KLH-2612-0001</b> · RTS-2026-0001 · Pencairan bantuan\n")
    assert max(bound) < 50, bound
