"""The household's data rights through the real Application: /datasaya shows what the programme
holds; /hapusdata asks for an erasure that the kecamatan coordinator approves or rejects."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.domain.models import ComplaintStatus
from bot.services.complaints import change_status
from bot.texts.i18n import Translations
from handlers.menu import bot_commands
from storage.schema import (
    attendance_report,
    audit_log,
    complaint,
    deletion_request,
    member,
    notification,
    person,
)
from storage.store import Store
from tests.conftest import NOW
from tests.support.chat import Chat
from tests.support.outbox import ManualClock, make_dispatcher
from tests.support.scenes import enrolled

ERASED = "[dihapus atas permintaan]"


async def rows(store: Store, table: Any, *where: Any) -> list[dict[str, Any]]:
    async with store.read() as repo:
        query = select(table).where(*where).order_by(table.c.id)
        return [dict(row._mapping) for row in await repo.connection.execute(query)]


async def person_id(store: Store, user_id: int) -> int:
    async with store.read() as repo:
        found = await repo.people.by_telegram_id(user_id)
    assert found is not None
    return found.id


class Outbox:
    """Delivers what the outbox holds and remembers what each chat received."""

    def __init__(self, store: Store, translations: Translations) -> None:
        self.store, self.translations = store, translations
        self.received: dict[int, list[str]] = {}

    async def deliver(self, *chats: Chat) -> None:
        api = chats[0].api
        before = len(api.calls)
        dispatcher = make_dispatcher(
            self.store, chats[0].application.bot, self.translations, ManualClock()
        )
        await dispatcher.run_once()
        self.received = {}
        for call in api.calls[before:]:
            if call.method == "sendMessage":
                chat_id = int(call.params["chat_id"])
                self.received.setdefault(chat_id, []).append(str(call.params["text"]))
        for chat in chats:
            chat.seen = len(api.calls)

    def to(self, chat: Chat) -> list[str]:
        return self.received.get(chat.user_id, [])


async def report_with_photo(mother: Chat, file_id: str) -> None:
    await mother.send("/hadir")
    await mother.press("Aditya Sukmana (balita)")
    await mother.press("Kemarin")
    await mother.send_photo(file_id)
    await mother.press("✅ Simpan")


async def complain(mother: Chat, text: str, photo: str | None = None) -> None:
    await mother.send("/keluhan")
    await mother.press("Pencairan bantuan")
    await mother.send(text)
    if photo is None:
        await mother.press("Lewati")
    else:
        await mother.send_photo(photo)
    await mother.press("📨 Kirim")


async def second_account(mother: Chat, user_id: int) -> Chat:
    """Another Telegram account of the same household (the husband's phone, say)."""
    other = Chat(mother.application, mother.api, user_id, seen=len(mother.api.calls))
    await other.send("/start")
    await other.send("RTS-2026-0001")
    await other.send("850001")
    return other


async def test_my_data_shows_what_the_programme_holds(mother: Chat, store: Store) -> None:
    await report_with_photo(mother, "AgACproof42")
    await complain(mother, "Uang bantuan tahap ini belum kami terima.")
    other = await second_account(mother, 81002)
    mother_id = await person_id(store, mother.user_id)
    # Older history: 22 more reports and 20 more complaints than the first ones.
    async with store.write() as repo:
        neneng = (
            await repo.connection.execute(
                select(member.c.id).where(member.c.name == "Neneng Sukmana")
            )
        ).scalar_one()
        place = await repo.geography.get_posyandu("P-MKJ-01")
        assert place is not None
        for days in range(40, 62):
            await repo.attendance.add_reported(
                neneng, place.id, date(2026, 12, 1) - timedelta(days=days), None, mother_id, NOW
            )
        household = await repo.households.get_by_program_number("RTS-2026-0001")
        assert household is not None
        await repo.connection.execute(
            complaint.insert(),
            [
                {"ticket_code": f"KLH-2601-{n:04d}", "household_id": household.id,
                 "category": "other", "text": "lama", "status": "closed", "level": "companion",
                 "deadline_at": NOW - timedelta(days=300 - n), "resolved_at": None,
                 "created_at": NOW - timedelta(days=300 - n),
                 "updated_at": NOW - timedelta(days=300 - n)}
                for n in range(1, 21)
            ],
        )  # fmt: skip

    [shown] = await mother.send("/datasaya")
    assert shown.startswith(
        "<b>Data yang disimpan program tentang rumah tangga Ibu/Bapak</b>\n"
        "Nomor peserta: RTS-2026-0001\n"
        "Kepala rumah tangga: Ujang Sukmana\n"
        "NIK (disamarkan): 3601************\n"
        "Desa Mekarjaya, kecamatan Mekarjaya\n"
        "Posyandu: Posyandu Anggrek\n"
        "Pendamping: Euis Rohmah\n\n"
        "<b>Anggota</b>\n"
        "• Neneng Sukmana, ibu hamil, perkiraan lahir Sabtu, 20 Maret 2027\n"
        "• Aditya Sukmana, balita, lahir Kamis, 14 Maret 2024\n\n"
        "<b>Laporan posyandu (20 terakhir)</b>\n"
        "• Aditya Sukmana, Senin, 30 November 2026: dilaporkan, menunggu pemeriksaan pendamping\n"
        "• Neneng Sukmana, Kamis, 22 Oktober 2026: dilaporkan, menunggu pemeriksaan pendamping\n"
    )
    assert "…dan 3 laporan yang lebih lama." in shown
    assert "Minggu, 4 Oktober 2026" in shown  # the 20th
    assert "Sabtu, 3 Oktober 2026" not in shown  # the 21st is only counted
    assert (
        "<b>Keluhan (20 terakhir)</b>\n"
        "• KLH-2612-0001: Pencairan bantuan, baru, dikirim Selasa, 1 Desember 2026\n"
    ) in shown
    assert "…dan 1 keluhan yang lebih lama." in shown
    assert "KLH-2601-0001" not in shown and "KLH-2601-0002" in shown
    assert "<b>Akun Telegram</b>\nYang tertaut ke rumah tangga: 2, termasuk akun ini." in shown
    assert str(other.user_id) not in shown and str(mother.user_id) not in shown
    assert "selama 24 bulan, lalu dihapus" in shown
    assert "minta pendamping untuk memperbaikinya" in shown
    # Texts of complaints and file ids are not echoed: the programme holds them, the list names
    # them by code.
    assert "AgACproof42" not in shown and "belum kami terima" not in shown

    # In the household's own language.
    await mother.send("/bahasa")
    await mother.press("Basa Sunda")
    parts = await mother.send("/datasaya")  # longer: sent in parts, cut at line ends
    assert all(len(part) <= 4096 for part in parts)
    sunda = "\n".join(parts)
    assert sunda.startswith("<b>Data anu disimpen ku program ngeunaan rumah tangga Bapak/Ibu</b>")
    assert "Anu nyambung ka rumah tangga: 2, kalebet akun ieu." in sunda


async def test_my_data_and_erasure_are_for_linked_households_only(chat: Chat, store: Store) -> None:
    for command in ("/datasaya", "/hapusdata"):
        [answer] = await chat.send(command)
        assert answer.startswith("Akun Telegram ini belum terhubung dengan rumah tangga.")
    euis = await enrolled(store, chat, "PD-MKJ-1", 7401)
    for command in ("/datasaya", "/hapusdata"):
        assert await euis.send(command) == ["Perintah ini untuk rumah tangga peserta program."]
    assert await rows(store, deletion_request) == []


async def test_help_and_command_menu_list_the_rights(
    mother: Chat, translations: Translations
) -> None:
    [help_text] = await mother.send("/bantuan")
    assert "• /datasaya: lihat data yang disimpan program tentang rumah tangga Ibu/Bapak" in (
        help_text
    )
    assert "• /hapusdata: minta hapus tautan Telegram dan data obrolan rumah tangga" in help_text
    commands = {c.command: c.description for c in bot_commands(translations.for_language("su"))}
    assert commands["datasaya"] == "Data anu disimpen ku program ngeunaan rumah tangga Bapak/Ibu"
    assert commands["hapusdata"] == "Nyuhunkeun ngahapus data obrolan rumah tangga"


async def test_erasure_approved_by_the_coordinator(
    mother: Chat, store: Store, translations: Translations
) -> None:
    outbox = Outbox(store, translations)
    await report_with_photo(mother, "AgACproof42")
    await complain(mother, "Uang bantuan tahap ini belum kami terima.", photo="AgACcomplaint7")
    await complain(mother, "Antrean di kantor pos terlalu panjang.")
    other = await second_account(mother, 81002)
    asep = await enrolled(store, mother, "KO-MKJ", 7404)
    await mother.send("/bahasa")
    await mother.press("Basa Sunda")

    [explained] = await mother.send("/hapusdata")
    assert explained.startswith(
        "Bapak/Ibu tiasa nyuhunkeun ka program kanggo ngahapus data anu kakumpul ngalangkungan "
        "obrolan ieu ngeunaan rumah tangga RTS-2026-0001:\n"
        "• tautan Telegram rumah tangga (2 akun), pilihan basa"
    )
    assert "Keluhan anu masih diurus henteu dihapus (anu masih dibuka ayeuna: 2)." in explained
    assert "Data kapesertaan program tetep disimpen" in explained
    assert mother.buttons() == ["Leres, kintunkeun pamundut", "Bolaykeun"]
    [sent] = await mother.press("Leres, kintunkeun pamundut")
    assert sent == (
        "Pamundut Bapak/Ibu parantos dikintunkeun ka koordinator kacamatan. Bapak/Ibu bakal "
        "nampi pesen saparantosna diputuskeun."
    )
    mother_id = await person_id(store, mother.user_id)
    [request] = await rows(store, deletion_request)
    assert (request["status"], request["requested_by"], request["requested_at"]) == (
        "pending", mother_id, NOW,
    )  # fmt: skip

    # Asking again while the request waits does not make a second one.
    [again] = await mother.send("/hapusdata")
    assert again.startswith("Pamundut Bapak/Ibu parantos ngantosan di koordinator kacamatan")
    assert len(await rows(store, deletion_request)) == 1

    await outbox.deliver(mother, other, asep)
    [alert] = outbox.to(asep)
    assert alert == (
        "Rumah tangga RTS-2026-0001 pada Selasa, 1 Desember 2026 meminta agar tautan Telegram dan "
        "data obrolannya dihapus (UU Pelindungan Data Pribadi). Data kepesertaan program tetap "
        "disimpan. Mohon setujui atau tolak permintaan ini."
    )
    assert asep.buttons() == ["Setujui dan hapus", "Tolak"]

    # Meanwhile one complaint is closed: its status news waits in the outbox, one message for
    # each of the household's two linked accounts.
    first, _second = await rows(store, complaint)
    await change_status(store, first["id"], ComplaintStatus.CLOSED, actor_person_id=None, now=NOW)
    waiting = await rows(
        store,
        notification,
        notification.c.status == "pending",
        notification.c.person_id.is_not(None),
    )
    assert [row["template_key"] for row in waiting] == ["complaint.status", "complaint.status"]

    [done] = await asep.press("Setujui dan hapus")
    assert done == (
        "Selesai: data obrolan rumah tangga RTS-2026-0001 sudah dihapus. Akun Telegram yang "
        "diputus: 2. Foto bukti yang dihapus: 1. Keluhan selesai yang dihapus: 1. Keluhan belum "
        "selesai yang tetap disimpan: 1. Rumah tangga sudah diberi tahu."
    )
    [report] = await rows(store, attendance_report)
    assert report["proof_file_id"] is None and report["status"] == "reported"
    closed, still_open = await rows(store, complaint)
    assert (closed["text"], closed["photo_file_id"], closed["ticket_code"]) == (
        ERASED, None, "KLH-2612-0001",
    )  # fmt: skip
    assert still_open["text"] == "Antrean di kantor pos terlalu panjang."
    accounts = await rows(store, person, person.c.role == "household")
    assert [(a["household_id"], a["language"], a["reachable"]) for a in accounts] == [
        (None, None, True), (None, None, True),
    ]  # fmt: skip
    [request] = await rows(store, deletion_request)
    assert (request["status"], request["decided_by"], request["decided_at"]) == (
        "done", await person_id(store, asep.user_id), NOW,
    )  # fmt: skip
    waited = await rows(store, notification, notification.c.id.in_([r["id"] for r in waiting]))
    assert [(row["status"], row["params"]) for row in waited] == [("cancelled", {})] * 2
    [audit] = await rows(store, audit_log, audit_log.c.action == "erase_household_data")
    assert audit["actor"] == f"person:{await person_id(store, asep.user_id)}"
    assert audit["detail"] == {
        "request": request["id"], "proof_photos": 1, "complaints": 1, "complaint_notes": 0,
        "outbox_rows": 2, "accounts": 2, "link_attempts": 0,
        "follow_up_notes": 0, "open_complaints_kept": 1,
    }  # fmt: skip
    assert "belum kami terima" not in str(audit) and "AgAC" not in str(audit)

    # The person who asked is told at once, in the language she had chosen (erased by now).
    assert mother.bot_messages()[-1]["text"] == (
        "Pamundut Bapak/Ibu parantos dilaksanakeun: tautan Telegram sareng data obrolan rumah "
        "tangga RTS-2026-0001 parantos dihapus. Data kapesertaan program tetep disimpen. Keluhan "
        "anu masih diurus tetep disimpen: 1. Kintunkeun /start upami hoyong nyambungkeun deui "
        "Telegram ieu."
    )
    mother.seen = len(mother.api.calls)
    # Nothing else reaches the unlinked accounts: the closed complaint's news was cancelled.
    await outbox.deliver(mother, other, asep)
    assert outbox.to(mother) == [] and outbox.to(other) == []

    # A second tap changes nothing; the accounts are no longer linked.
    [old] = await asep.press_data(f"dsr:{request['id']}:approve")
    assert old == "Itu tombol lama. Silakan mulai lagi dari menu."
    assert len(await rows(store, audit_log, audit_log.c.action == "erase_household_data")) == 1
    [unlinked] = await mother.send("/datasaya")
    assert unlinked.startswith("Akun Telegram ini belum terhubung dengan rumah tangga.")


async def test_rejection_wrong_reviewers_and_forged_buttons(
    mother: Chat, store: Store, translations: Translations, caplog: pytest.LogCaptureFixture
) -> None:
    outbox = Outbox(store, translations)
    await report_with_photo(mother, "AgACproof42")
    asep = await enrolled(store, mother, "KO-MKJ", 7404)
    euis = await enrolled(store, mother, "PD-MKJ-1", 7401)
    agus = await enrolled(store, mother, "TPJK-1", 7409)
    await mother.send("/hapusdata")
    assert await mother.press("Batal") == ["Dibatalkan. Tidak ada yang disimpan."]
    assert await rows(store, deletion_request) == []
    await mother.send("/hapusdata")
    await mother.press("Ya, kirim permintaan")
    [request] = await rows(store, deletion_request)
    approve = f"dsr:{request['id']}:approve"

    # A companion and the household itself may not decide; a forged request id is an old button.
    with caplog.at_level(logging.WARNING):
        assert await euis.press_data(approve, {"message_id": 1, "text": ""}) == [
            "Maaf, itu tidak bisa dilakukan dari akun ini."
        ]
        assert await mother.press_data(approve) == ["Maaf, itu tidak bisa dilakukan dari akun ini."]
    assert "authorization_refused action=data_request role=companion" in caplog.text
    assert f"request={request['id']}" in caplog.text
    [forged] = await asep.press_data("dsr:99999:approve", {"message_id": 1, "text": ""})
    assert forged == "Itu tombol lama. Silakan mulai lagi dari menu."

    # The coordinator of Mekarjaya rejects, with a reason.
    await outbox.deliver(mother, asep, agus)
    assert outbox.to(agus) == []  # Mekarjaya has a coordinator: the district is not asked
    [why] = await asep.press("Tolak")
    assert why == (
        "Mengapa permintaan rumah tangga RTS-2026-0001 ditolak? Rumah tangga akan membaca "
        "alasannya."
    )
    assert asep.buttons() == [
        "belum jelas bahwa permintaan datang dari rumah tangga sendiri",
        "data masih diperlukan untuk pemeriksaan program yang sedang berjalan",
        "alasan lain, pendamping bisa menjelaskan",
        "Kembali",
    ]
    [rejected] = await asep.press("belum jelas bahwa permintaan datang dari rumah tangga sendiri")
    assert rejected == (
        "Permintaan rumah tangga RTS-2026-0001 ditolak. Rumah tangga diberi tahu alasannya."
    )
    [request] = await rows(store, deletion_request)
    assert (request["status"], request["reject_reason"]) == ("rejected", "identity")
    await outbox.deliver(mother, asep)
    assert outbox.to(mother)[-1] == (
        "Permintaan Ibu/Bapak untuk menghapus data obrolan rumah tangga RTS-2026-0001 tidak "
        "disetujui. Alasan: belum jelas bahwa permintaan datang dari rumah tangga sendiri. "
        "Silakan hubungi pendamping jika ada pertanyaan."
    )
    # Nothing was erased; the household is still linked and may ask again.
    [report] = await rows(store, attendance_report)
    assert report["proof_file_id"] == "AgACproof42"
    [still] = await mother.send("/datasaya")
    assert "Nomor peserta: RTS-2026-0001" in still
    assert (await asep.press_data(approve))[-1] == "Itu tombol lama. Silakan mulai lagi dari menu."
    await mother.send("/hapusdata")
    [sent] = await mother.press("Ya, kirim permintaan")
    assert sent.startswith("Permintaan Ibu/Bapak sudah dikirim ke koordinator kecamatan.")
    assert [r["status"] for r in await rows(store, deletion_request)] == ["rejected", "pending"]


async def test_a_kecamatan_without_coordinator_asks_the_district(
    mother: Chat, store: Store, translations: Translations, caplog: pytest.LogCaptureFixture
) -> None:
    """Pandeglang has no coordinator: the district team decides; Mekarjaya's may not."""
    outbox = Outbox(store, translations)
    dede = Chat(mother.application, mother.api, 81004, seen=len(mother.api.calls))
    await dede.send("/start")
    await dede.send("RTS-2026-0004")
    await dede.send("900004")
    asep = await enrolled(store, mother, "KO-MKJ", 7404)
    agus = await enrolled(store, mother, "TPJK-1", 7409)
    await dede.send("/hapusdata")
    await dede.press("Ya, kirim permintaan")
    await outbox.deliver(dede, asep, agus)
    assert outbox.to(asep) == []
    assert outbox.to(agus)[-1].startswith("Rumah tangga RTS-2026-0004 pada Selasa, 1 Desember 2026")
    [request] = await rows(store, deletion_request)
    with caplog.at_level(logging.WARNING):
        [refused] = await asep.press_data(f"dsr:{request['id']}:approve", {"message_id": 1})
    assert refused == "Maaf, itu tidak bisa dilakukan dari akun ini."
    assert "authorization_refused action=data_request role=coordinator" in caplog.text
    assert (await rows(store, deletion_request))[0]["status"] == "pending"
    [done] = await agus.press("Setujui dan hapus")
    assert done.startswith("Selesai: data obrolan rumah tangga RTS-2026-0004 sudah dihapus.")
    assert dede.bot_messages()[-1]["text"].startswith(
        "Permintaan Ibu/Bapak sudah dikerjakan: tautan Telegram dan data obrolan rumah tangga "
        "RTS-2026-0004 sudah dihapus."
    )
