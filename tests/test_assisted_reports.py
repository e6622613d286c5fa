"""Staff reporting for a household (issue 16 #1): a companion, or a health worker for her
posyandu, reports a posyandu visit (/hadiruntuk) or files a complaint (/keluhanuntuk) for a
household, also one without Telegram, through the household's own steps. Who reported is kept on
the row, the recap counts it apart, and a linked household is told."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date

import pytest
from sqlalchemy import select, update

from bot.domain.models import ComplaintCategory, Role
from bot.services.assisted import complaint_for_household
from bot.services.complaints import ComplaintPolicy
from bot.services.recap import build_recap
from bot.texts.i18n import Translations, Translator
from bot.texts.notices import render
from bot.texts.workbook import tables
from handlers.recap import recap_text
from storage.schema import attendance_report, complaint, household, member, notification, person
from storage.store import Repositories, Store
from tests.conftest import NOW
from tests.support.chat import Chat
from tests.support.outbox import WIB
from tests.support.scenes import deliver, enrolled, report_visit

REFUSED = "Maaf, itu tidak bisa dilakukan dari akun ini."
NOT_HERS = (
    "Rumah tangga ini tidak ada dalam daftar Anda, atau nomor pesertanya tidak dikenal. Mohon "
    "periksa nomornya: Anda hanya bisa melapor untuk rumah tangga yang Anda layani."
)


async def _reports(store: Store) -> dict[str, object]:
    """The attendance rows by member name."""
    async with store.read() as repo:
        found = await repo.connection.execute(
            select(member.c.name, attendance_report)
            .select_from(attendance_report)
            .join(member, member.c.id == attendance_report.c.member_id)
        )
        return {row.name: row for row in found.all()}


async def _person_of(store: Store, telegram_user_id: int) -> int:
    async with store.read() as repo:
        return int(
            (
                await repo.connection.execute(
                    select(person.c.id).where(person.c.telegram_user_id == telegram_user_id)
                )
            ).scalar_one()
        )


async def _notices(store: Store, template: str) -> list[object]:
    async with store.read() as repo:
        query = select(notification).where(notification.c.template_key == template)
        return list((await repo.connection.execute(query)).all())


async def test_a_companion_reports_a_visit_for_a_household_without_telegram(
    chat: Chat, store: Store
) -> None:
    euis = await enrolled(store, chat, "PD-MKJ-1", 7901)
    # RTS-2026-0003 (Encep Maulana): Zahra, born 2025, nobody of it on Telegram.
    [intro, question] = await euis.send("/hadiruntuk rts-2026-0003")
    assert intro == (
        "Anda mengisi ini untuk rumah tangga RTS-2026-0003 (Encep Maulana). Tidak ada yang "
        "disimpan sebelum Anda mengonfirmasi; /batal untuk berhenti."
    )
    assert question == "Siapa yang ke posyandu? Pilih satu."
    assert euis.buttons() == ["Zahra Maulana (balita)", "Batal"]
    await euis.press("Zahra Maulana (balita)")
    await euis.press("Kemarin")
    [summary] = await euis.send_photo("AgACkms-zahra")
    assert summary.startswith(
        "Mohon periksa kembali laporan ini:\nUntuk rumah tangga: RTS-2026-0003 (Encep Maulana)\n"
        "Anggota: Zahra Maulana"
    )
    [saved] = await euis.press("✅ Simpan")
    assert saved.startswith("Tersimpan untuk rumah tangga RTS-2026-0003, dilaporkan oleh Anda.")
    assert euis.bot_messages()[-1].get("reply_markup") is None  # no household menu for staff
    euis_person = await _person_of(store, 7901)
    row = (await _reports(store))["Zahra Maulana"]
    assert (row.status, row.session_date, row.proof_file_id) == (  # type: ignore[attr-defined]
        "reported",
        date(2026, 11, 30),
        "AgACkms-zahra",
    )
    assert row.reported_by == euis_person  # type: ignore[attr-defined]
    assert (row.assisted_by, row.assisted_role) == (euis_person, "companion")  # type: ignore[attr-defined]
    # She is not asked to verify her own report, nor told of it; nobody of the household is
    # linked, so nobody is told.
    assert await _notices(store, "attendance.reported") == []
    assert await _notices(store, "attendance.by_companion") == []
    [own, none] = await euis.send("/verifikasi")
    assert own.startswith("Laporan yang Anda buat sendiri untuk rumah tangga, masih menunggu: 1.")
    assert none == "Tidak ada laporan yang menunggu verifikasi."
    # A forged verification of it is refused, and changes nothing.
    [refused] = await euis.press_data(f"vr:{row.id}:ok", {"message_id": 1, "text": ""})  # type: ignore[attr-defined]
    assert refused.startswith("Anda sendiri yang melaporkan kunjungan ini untuk rumah tangga")
    assert (await _reports(store))["Zahra Maulana"].status == "reported"  # type: ignore[attr-defined]
    # The coordinator sees who reported it, and verifies it.
    asep = await enrolled(store, chat, "KO-MKJ", 7902)
    [count] = await asep.send("/verifikasi")
    assert count == "Laporan yang menunggu verifikasi: 1"
    [photo] = asep.api.sent("sendPhoto")  # with the proof photo she sent
    assert photo["photo"] == "AgACkms-zahra"
    assert "Dilaporkan untuk rumah tangga oleh pendamping Euis Rohmah" in photo["caption"]
    await asep.press("✅ Verifikasi")
    assert (await _reports(store))["Zahra Maulana"].status == "verified"  # type: ignore[attr-defined]


async def test_a_linked_household_is_told_who_reported_for_it(
    mother: Chat, store: Store, translations: Translations
) -> None:
    euis = await enrolled(store, mother, "PD-MKJ-1", 7911)
    await euis.send("/hadiruntuk RTS-2026-0001")
    await euis.press("Aditya Sukmana (balita)")
    await euis.press("Hari ini")
    await euis.press("Lewati")
    await euis.press("✅ Simpan")
    [told] = await _notices(store, "attendance.by_companion")
    assert told.person_id == await _person_of(store, mother.user_id)  # type: ignore[attr-defined]
    await deliver(store, mother, translations)
    [text] = [p["text"] for p in mother.api.sent() if p["chat_id"] == mother.user_id][-1:]
    assert text == (
        "Pendamping Ibu/Bapak, Euis Rohmah, melaporkan kunjungan posyandu untuk keluarga "
        "Ibu/Bapak: Aditya Sukmana, Selasa, 1 Desember 2026. Jika ini tidak benar, mohon beri "
        "tahu pendamping."
    )
    # The household reporting the same visit itself finds it recorded already.
    await report_visit(mother, "Aditya Sukmana (balita)", "Hari ini", photo=False)
    assert mother.bot_messages()[-1]["text"].startswith("Kunjungan ini sudah tercatat")


async def test_out_of_scope_forged_and_unknown_numbers_are_refused_politely(
    mother: Chat, store: Store
) -> None:
    euis = await enrolled(store, mother, "PD-MKJ-1", 7921)
    [usage] = await euis.send("/hadiruntuk")
    assert usage == (
        "Tulis nomor peserta rumah tangga setelah perintahnya, misalnya: /hadiruntuk RTS-2026-0001"
    )
    # Hasan's household, a number nobody has, and a forged one: one answer, nothing started.
    assert await euis.send("/hadiruntuk RTS-2026-0002") == [NOT_HERS]
    assert await euis.send("/keluhanuntuk RTS-9999-0001") == [NOT_HERS]
    assert await euis.send("/hadiruntuk RTS-2026-0001' OR 1=1") == [NOT_HERS]
    # A household, and a coordinator, have no such command.
    assert await mother.send("/hadiruntuk RTS-2026-0001") == [REFUSED]
    asep = await enrolled(store, mother, "KO-MKJ", 7922)
    assert await asep.send("/keluhanuntuk RTS-2026-0001") == [REFUSED]
    # The registry moves RTS-2026-0003 to Hasan while Euis is reporting for it: her next step
    # is refused, the flow ends, nothing is saved.
    await euis.send("/hadiruntuk RTS-2026-0003")
    async with store.write() as repo:
        hasan = (await repo.staff.get_by_code("PD-MKJ-2")).id  # type: ignore[union-attr]
        await repo.connection.execute(
            update(household)
            .where(household.c.program_number == "RTS-2026-0003")
            .values(companion_id=hasan)
        )
    assert await euis.press("Zahra Maulana (balita)") == [NOT_HERS]
    assert await euis.send("Kemarin") == [  # no flow left to take it
        "Maaf, kami belum mengerti pesan itu. Kirim /bantuan untuk melihat apa yang bisa kami bantu."
    ]
    assert await _reports(store) == {}


async def test_a_kader_reports_for_her_posyandu_as_her_confirmation(
    chat: Chat, store: Store
) -> None:
    imas = await enrolled(store, chat, "KD-PDG-1", 7931)  # kader of Posyandu Mawar (P-PDG-01)
    # RTS-2026-0005 goes to Posyandu Melati: not hers.
    assert await imas.send("/hadiruntuk RTS-2026-0005") == [NOT_HERS]
    await imas.send("/hadiruntuk RTS-2026-0004")  # Lilis, pregnant, not on Telegram
    await imas.press("Lilis Saputra (ibu hamil)")
    await imas.press("Kemarin")
    await imas.press("Lewati")
    # Another posyandu of the kecamatan is not hers to confirm: only Mawar is offered.
    await imas.press("Ganti posyandu")
    assert imas.buttons() == ["Posyandu Mawar", "Batal"]
    await imas.press("Posyandu Mawar")
    [saved] = await imas.press("✅ Simpan")
    assert saved == (
        "Tersimpan untuk rumah tangga RTS-2026-0004: kunjungan ini tercatat sebagai dikonfirmasi "
        "oleh Anda. Rumah tangga diberi tahu jika memakai Telegram."
    )
    imas_person = await _person_of(store, 7931)
    row = (await _reports(store))["Lilis Saputra"]
    assert row.status == "verified"  # type: ignore[attr-defined]
    assert row.confirmed_by_health_worker == imas_person  # type: ignore[attr-defined]
    assert row.reported_by is None  # type: ignore[attr-defined]  # not the household's own report
    assert (row.assisted_by, row.assisted_role) == (imas_person, "health_worker")  # type: ignore[attr-defined]


async def test_a_bidan_reporting_a_visit_the_household_reported_cross_checks_it(
    mother: Chat, store: Store
) -> None:
    await report_visit(mother, "Neneng Sukmana (ibu hamil)", "Kemarin", photo=False)
    nining = await enrolled(store, mother, "BD-MKJ-1", 7941)  # bidan of Posyandu Anggrek
    await nining.send("/hadiruntuk RTS-2026-0001")
    await nining.press("Neneng Sukmana (ibu hamil)")
    await nining.press("Kemarin")
    await nining.press("Lewati")
    await nining.press("✅ Simpan")
    row = (await _reports(store))["Neneng Sukmana"]
    assert row.status == "cross_checked"  # type: ignore[attr-defined]
    assert row.reported_by == await _person_of(store, mother.user_id)  # type: ignore[attr-defined]
    assert row.assisted_role is None  # type: ignore[attr-defined]  # still the household's report


async def test_a_complaint_filed_for_a_household(
    mother: Chat, store: Store, t_id: Translator
) -> None:
    euis = await enrolled(store, mother, "PD-MKJ-1", 7951)
    await euis.send("/keluhanuntuk RTS-2026-0001")
    await euis.press("Pencairan bantuan")
    await euis.send("Ibu Ujang belum menerima bantuan tahap ini, HP-nya rusak.")
    [summary] = await euis.press("Lewati")
    assert summary.startswith(
        "Mohon periksa kembali keluhan ini:\nUntuk rumah tangga: RTS-2026-0001 (Ujang Sukmana)\n"
    )
    [filed] = await euis.press("📨 Kirim")
    assert filed.startswith(
        "Keluhan rumah tangga RTS-2026-0001 tercatat dengan kode tiket <b>KLH-2612-0001</b>. "
        "Pendamping rumah tangga ini akan menanganinya paling lambat"
    )
    euis_person = await _person_of(store, 7951)
    async with store.read() as repo:
        row = (await repo.connection.execute(select(complaint))).one()
    assert (row.filed_by, row.assisted_by, row.assisted_role) == (
        euis_person,
        euis_person,
        "companion",
    )
    [told] = await _notices(store, "complaint.by_companion")
    assert told.person_id == await _person_of(store, mother.user_id)  # type: ignore[attr-defined]
    assert render(told.template_key, told.params, t_id) == (  # type: ignore[attr-defined]
        "Pendamping Ibu/Bapak, Euis Rohmah, mengirim keluhan untuk keluarga Ibu/Bapak: tiket "
        "KLH-2612-0001 (Pencairan bantuan). Ibu/Bapak bisa mengikutinya lewat “Status keluhan”."
    )
    # Whoever handles it sees who filed it for the household.
    waiting = await euis.send("/keluhanmasuk")
    [card] = [text for text in waiting if "<b>KLH-2612-0001</b>" in text]
    assert "\nDiajukan untuk rumah tangga ini oleh pendamping Euis Rohmah\n" in card
    # The household follows it like its own.
    [status] = await mother.send("/status")
    assert "<b>KLH-2612-0001</b>" in status


async def test_the_recap_counts_assisted_reports_apart(
    mother: Chat, store: Store, t_id: Translator
) -> None:
    await report_visit(mother, "Neneng Sukmana (ibu hamil)", "Kemarin", photo=False)
    euis = await enrolled(store, mother, "PD-MKJ-1", 7961)
    await euis.send("/hadiruntuk RTS-2026-0003")
    await euis.press("Zahra Maulana (balita)")
    await euis.press("Kemarin")
    await euis.press("Lewati")
    await euis.press("✅ Simpan")
    await euis.send("/keluhanuntuk RTS-2026-0003")
    await euis.press("Layanan kesehatan")
    await euis.send("Posyandu Flamboyan tutup waktu Ibu Rohmah datang.")
    await euis.press("Lewati")
    await euis.press("📨 Kirim")
    nining = await enrolled(store, mother, "BD-MKJ-1", 7962)
    await nining.send("/hadiruntuk RTS-2026-0001")
    await nining.press("Aditya Sukmana (balita)")
    await nining.press("Kemarin")
    await nining.press("Lewati")
    await nining.press("✅ Simpan")
    async with store.read() as repo:
        mekarjaya = (await repo.geography.kecamatan_ids())["mekarjaya"]
    recap = await build_recap(
        store, mekarjaya, date(2026, 11, 1), now=NOW, zone=WIB, with_complaint_rows=True
    )
    made = recap.report_sources
    assert (made.self_reported, made.by_companion, made.by_health_worker) == (1, 1, 1)
    assert recap.complaints_by_filer == {}  # filed in December
    text = recap_text(recap, t_id)
    assert (
        "<b>Siapa yang melapor</b> (kunjungan posyandu / keluhan)\n"
        "• rumah tangga sendiri: 1 / 0\n"
        "• pendamping, untuk rumah tangga: 1 / 0\n"
        "• bidan/kader, untuk rumah tangga: 1 / 0"
    ) in text
    december = await build_recap(
        store, mekarjaya, date(2026, 12, 1), now=NOW, zone=WIB, with_complaint_rows=True
    )
    assert december.complaints_by_filer == {Role.COMPANION: 1}
    # Her line counts the visit she reported for a household this month (on 1 December).
    [hers] = [c for c in december.companions if c.code == "PD-MKJ-1"]
    assert hers.visits_for_households == 1
    assert [c.visits_for_households for c in recap.companions] == [0, 0]  # none in November
    assert "\nPD-MKJ-1 Euis Rohmah: belum pernah / 0 / 0 / 0 / 0 / 1\n" in recap_text(
        december, t_id
    )
    sheets = {name: (header, rows) for name, header, rows in tables(december, t_id, WIB)}
    header, rows = sheets["Keluhan"]
    assert header[-1] == "Dikirim oleh" and rows[0][-1] == "pendamping"
    header, rows = sheets["Kehadiran"]
    assert header[-3:] == [
        "Dilaporkan rumah tangga",
        "Dilaporkan pendamping",
        "Dilaporkan bidan/kader",
    ]
    sheets = {name: (header, rows) for name, header, rows in tables(recap, t_id, WIB)}
    by_desa = {row[1]: row[-3:] for row in sheets["Kehadiran"][1]}
    assert by_desa["Mekarjaya"] == [1, 0, 1] and by_desa["Medalsari"] == [0, 1, 0]


async def test_whoever_files_a_complaint_for_a_household_is_not_told_of_it_as_new(
    chat: Chat, store: Store
) -> None:
    # Review of issue 16: a companion filing for her household got "New complaint ... please
    # answer" about the complaint she had just filed; a kader's still reaches the companion.
    euis = await enrolled(store, chat, "PD-MKJ-1", 7971)
    imas = await enrolled(store, chat, "KD-PDG-1", 7972)  # kader of RTS-2026-0004's posyandu
    for staff, number in ((euis, "RTS-2026-0003"), (imas, "RTS-2026-0004")):
        await staff.send(f"/keluhanuntuk {number}")
        await staff.press("Pencairan bantuan")
        await staff.send("Bantuan tahap ini belum diterima rumah tangga ini.")
        await staff.press("Lewati")
        await staff.press("📨 Kirim")
    async with store.read() as repo:
        euis_staff = await repo.staff.get_by_code("PD-MKJ-1")
        rows = await repo.connection.execute(
            select(complaint.c.ticket_code, household.c.program_number, household.c.companion_id)
            .join(household, household.c.id == complaint.c.household_id)
            .order_by(complaint.c.id)
        )
        companions = {ticket: (number, companion) for ticket, number, companion in rows}
    assert euis_staff is not None
    assert companions["KLH-2612-0001"] == ("RTS-2026-0003", euis_staff.id)
    told = [(n.params["ticket"], n.staff_id) for n in await _notices(store, "complaint.filed")]  # type: ignore[attr-defined]
    assert told == [("KLH-2612-0002", companions["KLH-2612-0002"][1])]


async def test_a_complaint_for_a_household_moved_away_meanwhile_is_not_filed(
    chat: Chat, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Review of issue 16: the scope was read before the transaction that filed the complaint;
    # the registry moving the household in between let it through, to the old companion.
    await enrolled(store, chat, "PD-MKJ-1", 7981)
    async with store.read() as repo:
        euis = await repo.people.by_telegram_id(7981)
        hasan = await repo.staff.get_by_code("PD-MKJ-2")
        encep = await repo.households.get_by_program_number("RTS-2026-0003")
    assert euis is not None and hasan is not None and encep is not None
    write = store.write

    @asynccontextmanager
    async def moved_first() -> AsyncIterator[Repositories]:
        """The registry moves the household to Hasan just before the next write begins."""
        monkeypatch.setattr(store, "write", write)
        async with write() as repo:
            await repo.connection.execute(
                update(household).where(household.c.id == encep.id).values(companion_id=hasan.id)
            )
        async with write() as repo:
            yield repo

    monkeypatch.setattr(store, "write", moved_first)
    filed = await complaint_for_household(
        store,
        euis,
        encep.id,
        ComplaintCategory.PAYOUT,
        "Bantuan tahap ini belum diterima rumah tangga ini.",
        None,
        now=NOW,
        policy=ComplaintPolicy(WIB),
    )
    assert filed is None
    async with store.read() as repo:
        assert (await repo.connection.execute(select(complaint.c.id))).all() == []
