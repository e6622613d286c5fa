"""Reporting a posyandu visit through the real Application: what the mother sees, what is saved."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from storage.schema import attendance_report, notification, posyandu
from storage.store import Store
from tests.support.chat import Chat


async def reports(store: Store) -> list[dict[str, object]]:
    query = select(attendance_report, posyandu.c.code).join(posyandu)
    async with store.read() as repo:
        return [dict(row._mapping) for row in await repo.connection.execute(query)]


async def outbox(store: Store) -> list[dict[str, object]]:
    async with store.read() as repo:
        return [dict(r._mapping) for r in await repo.connection.execute(select(notification))]


async def test_report_with_photo_saves_one_row_and_queues_the_companion(
    mother: Chat, store: Store
) -> None:
    [ask_member] = await mother.send("Lapor hadir posyandu")
    assert ask_member == (
        "Siapa yang ke posyandu? Pilih satu nama, atau beberapa jika pergi bersama."
    )
    assert mother.buttons() == [
        "Neneng Sukmana (ibu hamil)",
        "Aditya Sukmana (balita)",
        "👨‍👩‍👧 Beberapa orang sekaligus",
        "Batal",
    ]

    [ask_day] = await mother.press("Aditya Sukmana (balita)")
    assert ask_day.startswith("Kapan Aditya Sukmana ke posyandu?")
    assert mother.buttons()[:3] == ["Hari ini", "Kemarin", "Min 29/11"]
    assert len(mother.buttons()) == 16  # today, yesterday, 13 earlier days, cancel

    [ask_photo] = await mother.press("Kemarin")
    assert ask_photo.startswith("Apakah ada foto kartu KMS")
    [summary] = await mother.send_photo("AgACproof42")
    assert summary == (
        "Mohon periksa kembali laporan ini:\n"
        "Anggota: Aditya Sukmana\n"
        "Tanggal: Senin, 30 November 2026\n"
        "Posyandu: Posyandu Anggrek\n"
        "Foto bukti: ya"
    )
    [thanks] = await mother.press("✅ Simpan")
    assert (
        thanks
        == "Terima kasih! Laporan Ibu/Bapak sudah disimpan dan menunggu verifikasi pendamping."
    )

    [row] = await reports(store)
    assert (row["session_date"], row["code"], row["status"], row["proof_file_id"]) == (
        date(2026, 11, 30), "P-MKJ-01", "reported", "AgACproof42",
    )  # fmt: skip
    [queued] = await outbox(store)
    assert queued["template_key"] == "attendance.reported"
    assert queued["staff_id"] is not None and queued["person_id"] is None
    assert queued["params"] == {
        "program_number": "RTS-2026-0001", "member": "Aditya Sukmana", "date": "2026-11-30",
    }  # fmt: skip


async def test_same_visit_twice_is_recorded_once(mother: Chat, store: Store) -> None:
    for _ in range(2):
        await mother.send("/hadir")
        await mother.press("Neneng Sukmana (ibu hamil)")
        await mother.press("Hari ini")
        await mother.press("Lewati")
        [answer] = await mother.press("✅ Simpan")
    assert answer.startswith("Kunjungan ini sudah tercatat")
    assert len(await reports(store)) == 1
    assert len(await outbox(store)) == 1


async def test_typed_dates_are_checked(mother: Chat, store: Store) -> None:
    await mother.send("/hadir")
    await mother.press("Aditya Sukmana (balita)")
    assert await mother.send("5/12/2026") == [
        "Tanggal itu belum lewat. Silakan laporkan kunjungan yang sudah dilakukan."
    ]
    assert await mother.send("1/11/2026") == [
        "Kunjungan bisa dilaporkan paling lambat 14 hari kemudian. Untuk kunjungan yang lebih "
        "lama, silakan hubungi pendamping."
    ]
    assert (await mother.send("31/02/2026"))[0].startswith("Kami tidak bisa membaca tanggal itu.")
    assert (await mother.send("kemarin sore"))[0].startswith("Kami tidak bisa membaca tanggal itu.")
    assert (await mother.send("20/11"))[0].startswith("Apakah ada foto")
    await mother.press("Lewati")
    await mother.press("✅ Simpan")
    [row] = await reports(store)
    assert row["session_date"] == date(2026, 11, 20) and row["proof_file_id"] is None


@pytest.mark.parametrize(("typed", "day"), [
    ("kemarin", date(2026, 11, 30)), ("Kemarin lusa", date(2026, 11, 29)),
    ("hari ini", date(2026, 12, 1)), ("kamari", date(2026, 11, 30)),
    ("  HARI  INI ", date(2026, 12, 1)), ("Yesterday", date(2026, 11, 30)),
])  # fmt: skip
async def test_days_typed_in_words_as_the_buttons_say_them(
    mother: Chat, store: Store, typed: str, day: date
) -> None:
    await mother.send("/hadir")
    await mother.press("Aditya Sukmana (balita)")
    assert (await mother.send(typed))[0].startswith("Apakah ada foto")
    await mother.press("Lewati")
    await mother.press("✅ Simpan")
    [row] = await reports(store)
    assert row["session_date"] == day


async def test_posyandu_can_be_changed_within_the_kecamatan(mother: Chat, store: Store) -> None:
    await mother.send("/hadir")
    await mother.press("Neneng Sukmana (ibu hamil)")
    await mother.press("Hari ini")
    await mother.press("Lewati")
    await mother.press("Ganti posyandu")
    # Only Mekarjaya's posyandu are offered, never Pandeglang's.
    assert mother.buttons() == [
        "Posyandu Anggrek",
        "Posyandu Dahlia",
        "Posyandu Flamboyan",
        "Batal",
    ]
    [summary] = await mother.press("Posyandu Dahlia")
    assert "Posyandu: Posyandu Dahlia" in summary
    # A forged button naming a Pandeglang posyandu is refused.
    async with store.read() as repo:
        mawar = await repo.geography.get_posyandu("P-PDG-01")
    assert mawar is not None
    nonce = mother.bot_messages()[-1]["reply_markup"]["inline_keyboard"][0][0][
        "callback_data"
    ].split(":")[1]
    [refused] = await mother.press_data(f"att:{nonce}:pick:{mawar.id}")
    assert refused == (
        "Itu tombol lama. Pakai tombol di pesan paling bawah, atau kirim /batal untuk berhenti."
    )
    await mother.press("✅ Simpan")
    [row] = await reports(store)
    assert row["code"] == "P-MKJ-02"


async def test_a_member_of_another_household_cannot_be_reported(mother: Chat, store: Store) -> None:
    await mother.send("/hadir")
    nonce = mother.bot_messages()[-1]["reply_markup"]["inline_keyboard"][0][0][
        "callback_data"
    ].split(":")[1]
    async with store.read() as repo:
        other = await repo.households.get_by_program_number("RTS-2026-0002")
        assert other is not None
        [stranger, *_] = await repo.households.members(other.id)
    [refused] = await mother.press_data(f"att:{nonce}:member:{stranger.id}")
    assert refused == (
        "Itu tombol lama. Pakai tombol di pesan paling bawah, atau kirim /batal untuk berhenti."
    )
    assert await reports(store) == []
