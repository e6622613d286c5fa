"""What a posyandu report may say (issue 15, validity rules and several members at once): only
the members the posyandu follows, a visit on a day without a session said plainly, and a mother
reporting herself and her children with one confirmation and one photo."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.domain.buttons import FlowStep, decode, encode
from bot.services.attendance import AttendanceDraft, ReportOutcome, report_attendance
from storage.schema import attendance_report, member, notification
from storage.store import Store
from tests.conftest import NOW
from tests.support.chat import Chat
from tests.support.scenes import enrolled

SEVERAL = "👨\u200d👩\u200d👧 Beberapa orang sekaligus"


async def _rows(store: Store) -> list[tuple[str, date, str, str | None]]:
    query = (
        select(
            member.c.name,
            attendance_report.c.session_date,
            attendance_report.c.status,
            attendance_report.c.proof_file_id,
        )
        .join(member)
        .order_by(attendance_report.c.id)
    )
    async with store.read() as repo:
        return [tuple(row) for row in await repo.connection.execute(query)]  # type: ignore[misc]


async def test_only_members_the_posyandu_follows_are_offered(chat: Chat, store: Store) -> None:
    await chat.send("/start")
    await chat.send("RTS-2026-0002")  # Siti (no posyandu condition) and Bunga (balita)
    await chat.send("880002")
    [ask] = await chat.send("/hadir")
    assert ask == "Siapa yang ke posyandu? Pilih satu."
    assert chat.buttons() == ["Bunga Setiawan (balita)", "Batal"]
    # A button forged for Siti is an old button, and nothing is saved.
    bunga = decode(
        chat.bot_messages()[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    )
    assert isinstance(bunga, FlowStep)
    async with store.read() as repo:
        siti_id = await repo.connection.scalar(
            select(member.c.id).where(member.c.name == "Siti Nurhayati")
        )
    forged = FlowStep(bunga.kind, bunga.nonce, "member", str(siti_id))
    [answer] = await chat.press_data(encode(forged))
    assert "tombol" in answer.casefold()
    assert await _rows(store) == []


async def test_the_server_refuses_a_member_without_a_posyandu_condition(
    chat: Chat, store: Store
) -> None:
    await chat.send("/start")
    await chat.send("RTS-2026-0002")
    await chat.send("880002")
    async with store.read() as repo:
        person = await repo.people.by_telegram_id(chat.user_id)
        assert person is not None and person.household_id is not None
        household = await repo.households.get(person.household_id)
        members = {m.name: m for m in await repo.households.members(person.household_id)}
    assert household is not None
    draft = AttendanceDraft(
        members["Bunga Setiawan"].id,
        date(2026, 11, 10),
        household.posyandu_id,
        together_with=(members["Siti Nurhayati"].id,),
    )
    result = await report_attendance(
        store, person, household, draft, now=NOW, today=date(2026, 12, 1)
    )
    assert result.outcome is ReportOutcome.NOT_ALLOWED
    assert await _rows(store) == []  # all or nothing: Bunga is not saved either


async def test_a_visit_on_a_day_without_a_session_is_said_plainly(
    mother: Chat, store: Store
) -> None:
    await mother.send("/hadir")
    await mother.press("Aditya Sukmana (balita)")
    await mother.send("25/11/2026")  # a Wednesday; Posyandu Anggrek meets on the last Monday
    [summary] = await mother.press("Lewati")
    assert summary.endswith(
        "⚠️ Posyandu Anggrek tidak buka pada hari itu. Laporan tetap disimpan, tetapi baru "
        "dihitung jika bidan atau kader mengonfirmasinya. Jadwal posyandu terakhir sebelum itu: "
        "Senin, 26 Oktober 2026."
    )
    await mother.press("✅ Simpan")
    assert await _rows(store) == [("Aditya Sukmana", date(2026, 11, 25), "reported", None)]
    # The companion is told too, on the report's card.
    euis = await enrolled(store, mother, "PD-MKJ-1", 7901)
    [_count, card] = await euis.send("/verifikasi")
    assert card.endswith(
        "⚠️ Posyandu tidak buka pada hari itu: kunjungan ini baru dihitung jika bidan atau kader "
        "mengonfirmasinya."
    )
    # On the session day itself there is no warning.
    await mother.send("/hadir")
    await mother.press("Aditya Sukmana (balita)")
    await mother.press("Kemarin")
    [summary] = await mother.press("Lewati")
    assert "⚠️" not in summary


async def test_a_mother_reports_herself_and_her_child_at_once(mother: Chat, store: Store) -> None:
    await mother.send("/hadir")
    [ask] = await mother.press(SEVERAL)
    assert ask == "Centang semua yang pergi bersama, lalu tekan Lanjut."
    [nobody, _again] = await mother.press("Lanjut (0 dipilih)")
    assert nobody == "Mohon centang paling sedikit satu nama."
    await mother.tap("⬜ Neneng Sukmana (ibu hamil)")
    await mother.tap("⬜ Aditya Sukmana (balita)")
    assert mother.screen()[1] == [
        "☑️ Neneng Sukmana (ibu hamil)",
        "☑️ Aditya Sukmana (balita)",
        "Lanjut (2 dipilih)",
        "Batal",
    ]
    [ask_day] = await mother.tap("Lanjut (2 dipilih)")
    assert ask_day.startswith("Kapan Neneng Sukmana dan Aditya Sukmana ke posyandu?")
    await mother.press("Kemarin")
    [summary] = await mother.send_photo("AgACkms-both")
    assert "Anggota: Neneng Sukmana dan Aditya Sukmana" in summary
    [thanks] = await mother.press("✅ Simpan")
    assert thanks.startswith("Terima kasih!")
    assert await _rows(store) == [
        ("Neneng Sukmana", date(2026, 11, 30), "reported", "AgACkms-both"),
        ("Aditya Sukmana", date(2026, 11, 30), "reported", "AgACkms-both"),
    ]
    async with store.read() as repo:
        params = (await repo.connection.execute(select(notification.c.params))).scalars().all()
    # The companion hears of it once, with both names.
    assert params == [
        {
            "program_number": "RTS-2026-0001",
            "member": "Neneng Sukmana, Aditya Sukmana",
            "date": "2026-11-30",
        }
    ]
    # Reported again together, only what is new is saved, and she is told per member.
    await mother.send("/hadir")
    await mother.press("Aditya Sukmana (balita)")
    await mother.press("Hari ini")
    await mother.press("Lewati")
    await mother.press("✅ Simpan")
    await mother.send("/hadir")
    await mother.press(SEVERAL)
    await mother.tap("⬜ Neneng Sukmana (ibu hamil)")
    await mother.tap("⬜ Aditya Sukmana (balita)")
    await mother.tap("Lanjut (2 dipilih)")
    await mother.press("Hari ini")
    await mother.press("Lewati")
    [mixed] = await mother.press("✅ Simpan")
    assert mixed == (
        "Terima kasih! Laporan Ibu/Bapak tersimpan:\n"
        "• Neneng Sukmana: tersimpan, menunggu verifikasi pendamping\n"
        "• Aditya Sukmana: sudah tercatat sebelumnya"
    )
