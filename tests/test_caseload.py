"""The companion's household list with filters, link codes from the chat, and staff help."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy import select

from bot.domain.models import SessionChangeOutcome
from bot.services.digest import build_digest
from bot.services.session_changes import change_session
from bot.texts.i18n import Translator
from bot.texts.message_parts import MESSAGE_LIMIT
from storage.schema import complaint, household
from storage.store import Store
from tests.conftest import NOW
from tests.support.chat import Chat
from tests.support.helpers import add_households_for_euis
from tests.support.outbox import WIB
from tests.support.scenes import enrolled, file_payout_complaint


async def test_household_filters(mother: Chat, store: Store) -> None:
    await file_payout_complaint(mother)
    euis = await enrolled(store, mother, "PD-MKJ-1", 7901)  # RTS-2026-0001 and RTS-2026-0003
    [ask] = await euis.send("/rumahtangga")
    assert ask == "Rumah tangga yang mana?"
    assert euis.buttons() == [
        "Jadwal posyandu minggu ini", "Belum ada laporan hadir di posyandu terakhir",
        "Rumah tangga yang tidak bisa dihubungi bot", "Yang keluhannya belum selesai", "Semua rumah tangga saya",
    ]  # fmt: skip
    [everyone] = await euis.press("Semua rumah tangga saya")
    assert everyone == (
        "<b>Semua rumah tangga saya</b> (2)\nRTS-2026-0001 Ujang Sukmana\nRTS-2026-0003 Encep Maulana"
    )
    await euis.send("/rumahtangga")
    [missed] = await euis.press("Belum ada laporan hadir di posyandu terakhir")
    assert "RTS-2026-0001 Ujang Sukmana (30/11)" in missed
    await euis.send("/rumahtangga")
    [complaints] = await euis.press("Yang keluhannya belum selesai")
    assert complaints == "<b>Yang keluhannya belum selesai</b> (1)\nRTS-2026-0001 Ujang Sukmana"
    await euis.send("/rumahtangga")
    [none] = await euis.press("Rumah tangga yang tidak bisa dihubungi bot")
    assert none.endswith("Tidak ada saat ini.")
    await euis.send("/rumahtangga")
    [quiet_week] = await euis.press("Jadwal posyandu minggu ini")
    assert quiet_week.endswith("Tidak ada saat ini.")  # Anggrek meets on 28/12, Flamboyan on 15/12

    # Flamboyan's session moves into this week (Tuesday 1 to Sunday 6 December).
    moved, _told = await change_session(
        store, "P-MKJ-03", date(2026, 12, 15), date(2026, 12, 4), actor="test", now=NOW, zone=WIB
    )
    assert moved is SessionChangeOutcome.CHANGED
    await euis.send("/rumahtangga")
    [due] = await euis.press("Jadwal posyandu minggu ini")
    assert due == "<b>Jadwal posyandu minggu ini</b> (1)\nRTS-2026-0003 Encep Maulana (04/12)"


async def test_complaints_about_the_companion_stay_out_of_her_lists(
    mother: Chat, store: Store
) -> None:
    await mother.send("/keluhan")
    [about_her] = await mother.press("Pendamping")
    assert about_her.endswith(
        "Keluhan tentang pendamping dikirim ke koordinator kecamatan, bukan ke pendamping itu "
        "sendiri."
    )
    await mother.send("Pendamping tidak pernah datang ke rumah kami.")
    await mother.press("Lewati")
    await mother.press("📨 Kirim")
    euis = await enrolled(store, mother, "PD-MKJ-1", 7906)  # the companion of RTS-2026-0001

    await euis.send("/rumahtangga")
    [complaints] = await euis.press("Yang keluhannya belum selesai")
    assert complaints == "<b>Yang keluhannya belum selesai</b> (0)\nTidak ada saat ini."

    await file_payout_complaint(mother)  # an ordinary complaint does show
    await euis.send("/rumahtangga")
    [complaints] = await euis.press("Yang keluhannya belum selesai")
    assert complaints == "<b>Yang keluhannya belum selesai</b> (1)\nRTS-2026-0001 Ujang Sukmana"

    async with store.read() as repo:
        tickets = dict((await repo.connection.execute(
            select(complaint.c.category, complaint.c.ticket_code))).all())  # fmt: skip
        companion = await repo.staff.get_by_code("PD-MKJ-1")
        assert companion is not None
        digest = await build_digest(repo, companion.id, date(2026, 12, 1), NOW)
    assert digest is not None
    assert [c.ticket for c in digest.complaints] == [tickets["payout"]]


async def test_link_code_from_the_chat(mother: Chat, store: Store) -> None:
    euis = await enrolled(store, mother, "PD-MKJ-1", 7902)
    [made] = await euis.send("/kodetautan rts-2026-0003")
    assert made.startswith("Kode tautan sekali pakai untuk rumah tangga RTS-2026-0003: ")
    link = made.splitlines()[-1]
    assert link.startswith("https://t.me/sapa_rts_bot?start=link_")
    father = Chat(mother.application, mother.api, 7903, seen=len(mother.api.calls))
    [_notice, linked] = await father.send(f"/start {link.split('start=')[1]}")
    assert linked.startswith(
        "Selesai! Telegram ini sekarang terhubung dengan rumah tangga RTS-2026-0003."
    )
    assert await euis.send("/kodetautan RTS-2026-0002") == [
        "Maaf, itu tidak bisa dilakukan dari akun ini."
    ]


async def test_staff_help_lists_their_commands(mother: Chat, store: Store) -> None:
    asep = await enrolled(store, mother, "KO-MKJ", 7904)
    [help_text] = await asep.send("/bantuan")
    assert help_text.startswith("Yang bisa Anda lakukan di sini:\n• /rekap [2026-11]")
    bidan = await enrolled(store, mother, "BD-MKJ-1", 7905)
    [help_text] = await bidan.send("/bantuan")
    assert "/konfirmasi" in help_text and "/rekap" not in help_text


async def test_a_long_household_list_is_shown_whole_in_parts(
    chat: Chat, store: Store, t_id: Translator, tmp_path: Path
) -> None:
    await add_households_for_euis(store, t_id, tmp_path, 300)
    euis = await enrolled(store, chat, "PD-MKJ-1", 7901)
    await euis.send("/rumahtangga")
    parts = await euis.press("Semua rumah tangga saya")
    assert len(parts) >= 3 and all(len(part) <= MESSAGE_LIMIT for part in parts)
    assert parts[0].startswith("<b>Semua rumah tangga saya</b> (302)\nRTS-2026-0001 Ujang Sukmana")
    shown = "\n".join(parts).split("\n")
    assert [line for line in shown if line.startswith("RTS-")][-1] == (
        "RTS-2026-0399 Ma&#x27;ruf Hidayatullah 299"
    )
    assert len([line for line in shown if line.startswith("RTS-")]) == 302


async def test_a_complaint_about_the_old_companion_shows_to_the_new_one(
    mother: Chat, store: Store
) -> None:
    await mother.send("/keluhan")
    await mother.press("Pendamping")
    await mother.send("Pendamping tidak pernah datang ke rumah kami.")
    await mother.press("Lewati")
    await mother.press("📨 Kirim")
    async with store.write() as repo:  # the kecamatan gives the household to Hasan instead
        euis = await repo.staff.get_by_code("PD-MKJ-1")
        hasan = await repo.staff.get_by_code("PD-MKJ-2")
        assert euis is not None and hasan is not None
        [(about,)] = (await repo.connection.execute(select(complaint.c.about_staff_id))).all()
        assert about == euis.id
        await repo.connection.execute(
            household.update()
            .where(household.c.program_number == "RTS-2026-0001")
            .values(companion_id=hasan.id)
        )
    new_companion = await enrolled(store, mother, "PD-MKJ-2", 7907)
    await new_companion.send("/rumahtangga")
    [complaints] = await new_companion.press("Yang keluhannya belum selesai")
    assert "RTS-2026-0001 Ujang Sukmana" in complaints  # it was about Euis, not about him
