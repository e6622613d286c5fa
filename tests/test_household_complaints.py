"""Complaints, their status, the schedule and the language, through the real Application."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from bot.domain.models import ComplaintStatus
from bot.services.complaints import change_status
from storage.schema import complaint, complaint_event, notification, staff
from storage.store import Store
from tests.conftest import NOW
from tests.support.chat import Chat


async def rows(store: Store, table: object) -> list[dict[str, object]]:
    async with store.read() as repo:
        result = await repo.connection.execute(select(table))  # type: ignore[call-overload]
        return [dict(row._mapping) for row in result]


async def staff_code(store: Store, staff_id: object) -> str:
    async with store.read() as repo:
        query = select(staff.c.code).where(staff.c.id == staff_id)
        return str((await repo.connection.execute(query)).scalar_one())


async def test_file_a_complaint_and_follow_its_status(mother: Chat, store: Store) -> None:
    [ask] = await mother.send("Keluhan")
    assert ask == "Keluhan tentang apa?"
    assert mother.buttons() == [
        "Pencairan bantuan", "Pendamping", "Layanan kesehatan", "Data kepesertaan", "Lainnya", "Batal",
    ]  # fmt: skip
    [describe] = await mother.press("Pencairan bantuan")
    assert describe == (
        "Silakan ceritakan masalahnya dengan kata-kata sendiri: apa yang terjadi, kapan, dan di "
        "mana (paling banyak 2.000 karakter).\n\n"
        "Jika Ibu/Bapak sulit menulis, Ibu/Bapak boleh mengirim pesan suara."
    )
    [ask_photo] = await mother.send(
        "Antrean di kantor pos <panjang> sekali, kami menunggu 6 jam & pulang tanpa uang."
    )
    assert ask_photo.startswith("Jika foto membantu")
    [summary] = await mother.press("Lewati")
    # What the user wrote is escaped before it is echoed back in HTML.
    assert (
        "<i>Antrean di kantor pos &lt;panjang&gt; sekali, kami menunggu 6 jam &amp; pulang tanpa uang.</i>"
        in summary
    )
    [ticket] = await mother.press("📨 Kirim")
    assert ticket == (
        "Keluhan sudah tercatat dengan kode tiket <b>KLH-2612-0001</b>. Pendamping Ibu/Bapak "
        "akan menanganinya paling lambat Jumat, 4 Desember 2026. Ibu/Bapak bisa mengikutinya "
        "lewat “Status keluhan”."
    )
    [saved] = await rows(store, complaint)
    assert (saved["ticket_code"], saved["category"], saved["status"], saved["level"]) == (
        "KLH-2612-0001", "payout", "open", "companion",
    )  # fmt: skip
    assert saved["deadline_at"] == datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
    [event] = await rows(store, complaint_event)
    assert event["kind"] == "filed"
    [queued] = await rows(store, notification)
    assert queued["template_key"] == "complaint.filed"
    assert await staff_code(store, queued["staff_id"]) == "PD-MKJ-1"

    [status] = await mother.send("Status keluhan")
    assert status == (
        "Keluhan rumah tangga Ibu/Bapak, yang terbaru di atas:\n\n"
        "<b>KLH-2612-0001</b> · Pencairan bantuan\n"
        "Status: baru\n"
        "Perubahan terakhir: Selasa, 1 Desember 2026, 10.00 WIB"
    )

    # A status change is recorded in the history and reaches the household through the outbox.
    assert isinstance(saved["id"], int)
    await change_status(
        store, saved["id"], ComplaintStatus.IN_PROGRESS, actor_person_id=None, now=NOW
    )
    [status] = await mother.send("/status")
    assert "Status: sedang ditangani" in status
    told = [r for r in await rows(store, notification) if r["template_key"] == "complaint.status"]
    assert len(told) == 1 and told[0]["params"] == {
        "ticket": "KLH-2612-0001",
        "status": "in_progress",
    }


async def test_complaint_about_the_companion_goes_to_the_coordinator(
    mother: Chat, store: Store
) -> None:
    await mother.send("/keluhan")
    [describe] = await mother.press("Pendamping")
    assert describe.endswith(
        "\n\nKeluhan tentang pendamping dikirim ke koordinator kecamatan, bukan ke pendamping itu "
        "sendiri."
    )
    await mother.send("Pendamping tidak pernah datang ke kampung kami sejak Agustus.")
    await mother.press("Lewati")
    [ticket] = await mother.press("📨 Kirim")
    assert "Koordinator kecamatan akan menanganinya paling lambat Selasa, 8 Desember 2026" in ticket
    [saved] = await rows(store, complaint)
    assert saved["level"] == "coordinator"
    [queued] = await rows(store, notification)
    assert await staff_code(store, queued["staff_id"]) == "KO-MKJ"


async def test_complaint_text_must_be_words_and_not_too_long(mother: Chat, store: Store) -> None:
    await mother.send("/keluhan")
    await mother.press("Lainnya")
    [emoji] = await mother.send("😡😡😡")
    assert emoji == "Mohon jelaskan masalahnya dengan kata-kata, supaya kami bisa membantu."
    [long] = await mother.send("a" * 5000)
    assert (
        long
        == "Pesan terlalu panjang. Mohon dipersingkat menjadi paling banyak 2.000 karakter, lalu "
        "kirim lagi."
    )
    [still_waiting] = await mother.send("Bidan desa jarang ada di posyandu.")
    assert still_waiting.startswith("Jika foto membantu")
    await mother.send_photo("AgACposyandu-tutup")
    await mother.press("📨 Kirim")
    [saved] = await rows(store, complaint)
    assert saved["text"] == "Bidan desa jarang ada di posyandu."
    assert saved["photo_file_id"] == "AgACposyandu-tutup"


async def test_status_without_complaints(mother: Chat) -> None:
    [answer] = await mother.send("/status")
    assert answer == (
        "Belum ada keluhan dari rumah tangga Ibu/Bapak. Untuk mengirim keluhan, pilih “Keluhan” "
        "di menu."
    )


async def test_schedule_shows_posyandu_and_payout(mother: Chat) -> None:
    [schedule] = await mother.send("Jadwal saya")
    # Posyandu Anggrek meets on the last Monday of the month: 28 December 2026.
    assert schedule == (
        "<b>Posyandu berikutnya</b>: Senin, 28 Desember 2026\n"
        "Tempat: Posyandu Anggrek\n"
        "Untuk: Neneng Sukmana (ibu hamil), Aditya Sukmana (balita)\n"
        "Bawa buku KIA / kartu KMS.\n\n"
        "<b>Pencairan berikutnya</b>: Rabu, 16 Desember 2026\n"
        "Tempat: Kantor Pos Mekarjaya\n"
        "Waktu antrean Ibu/Bapak belum ditentukan. Ibu/Bapak akan menerima pesan berisi waktu "
        "antrean pada Minggu, 13 Desember 2026 sore.\n"
        "Jumlah: Rp2.250.000\n"
        "Bawa: KTP, KK dan kartu peserta."
    )


async def test_switch_to_english_and_sundanese(mother: Chat, store: Store) -> None:
    [ask] = await mother.send("Bahasa")
    assert ask == "Silakan pilih bahasa:"
    assert mother.buttons() == ["Bahasa Indonesia", "English", "Basa Sunda"]
    [done] = await mother.press("English")
    assert done == "From now on I will write in English."
    assert mother.keyboard() == [
        "Report posyandu visit", "Complaint", "My schedule", "Complaint status", "Language", "Help",
    ]  # fmt: skip
    [schedule] = await mother.send("My schedule")
    assert schedule.startswith("<b>Next posyandu</b>: Monday, 28 December 2026")
    assert "Amount: Rp2.250.000" in schedule
    async with store.read() as repo:
        person = await repo.people.by_telegram_id(mother.user_id)
    assert person is not None and person.language == "en"

    await mother.send("/bahasa")
    [done] = await mother.press("Basa Sunda")
    assert done == "Ti ayeuna abdi nyerat dina Basa Sunda."
    [schedule] = await mother.send("/jadwal")
    assert "28 Désémber 2026" in schedule or "28 Desember 2026" in schedule

    await mother.send("/bahasa")
    [done] = await mother.press("Bahasa Indonesia")
    assert done == "Mulai sekarang kami menulis dalam Bahasa Indonesia."
