"""The companion's verification queue through the real Application."""

from __future__ import annotations

from sqlalchemy import select

from bot.texts.i18n import Translations
from storage.schema import attendance_report, notification
from storage.store import Store
from tests.support.chat import Chat
from tests.support.scenes import deliver, enrolled, report_visit


async def test_verify_one_reject_another_with_a_reason(
    mother: Chat, store: Store, translations: Translations
) -> None:
    await report_visit(mother, "Aditya Sukmana (balita)", "Hari ini", photo=True)
    await report_visit(mother, "Neneng Sukmana (ibu hamil)", "Kemarin", photo=False)
    euis = await enrolled(store, mother, "PD-MKJ-1", 7501)

    [count, neneng] = await euis.send("/verifikasi")
    assert count == "Laporan yang menunggu verifikasi: 2"
    assert neneng.startswith(
        "<b>RTS-2026-0001</b> · Neneng Sukmana\nTanggal: Senin, 30 November 2026"
    )
    [photo] = euis.api.sent("sendPhoto")
    assert photo["photo"] == "AgACkms-stamp" and photo["caption"].startswith(
        "<b>RTS-2026-0001</b> · Aditya"
    )
    async with store.read() as repo:
        ids = {
            r.session_date.day: r.id
            for r in (await repo.connection.execute(select(attendance_report))).all()
        }

    [done] = await euis.press_data(f"vr:{ids[1]}:ok", {"message_id": 1, "text": ""})
    assert done == "Terverifikasi: Aditya Sukmana, Selasa, 1 Desember 2026."
    [ask] = await euis.press_data(f"vr:{ids[30]}:no", {"message_id": 2, "text": ""})
    assert ask.startswith("Mengapa laporan ini ditolak?")
    assert await euis.send("🙁") == [
        "Alasan perlu ditulis dengan kata-kata, supaya rumah tangga mengerti."
    ]
    [rejected] = await euis.send("Posyandu Anggrek tidak buka tanggal 30, <jadwal> pindah.")
    assert rejected.startswith("Ditolak: Neneng Sukmana")
    # A second tap on the same button: already decided.
    assert await euis.press_data(f"vr:{ids[1]}:ok", {"message_id": 1, "text": ""}) == [
        "Laporan ini sudah diperiksa petugas."
    ]
    async with store.read() as repo:
        rows = {r.id: r for r in (await repo.connection.execute(select(attendance_report))).all()}
        told = (await repo.connection.execute(
            select(notification).where(notification.c.template_key == "attendance.rejected"))).one()  # fmt: skip
    assert rows[ids[1]].status == "verified" and rows[ids[1]].verified_by is not None
    assert rows[ids[30]].status == "rejected"
    assert rows[ids[30]].reject_reason == "Posyandu Anggrek tidak buka tanggal 30, <jadwal> pindah."
    await deliver(store, mother, translations)
    to_mother = [p["text"] for p in mother.api.sent() if p["chat_id"] == mother.user_id]
    # The household hears both decisions; the reason's own full stop is not doubled.
    assert to_mother[-2:] == [
        "Laporan posyandu Ibu/Bapak untuk Aditya Sukmana pada Selasa, 1 Desember 2026 sudah "
        "diperiksa dan diterima. Terima kasih!",
        "Laporan posyandu Ibu/Bapak untuk Neneng Sukmana pada Senin, 30 November 2026 tidak "
        "diterima.\nAlasan: <i>Posyandu Anggrek tidak buka tanggal 30, &lt;jadwal&gt; pindah.</i>"
        "\nJika ini keliru, silakan hubungi pendamping Ibu/Bapak.",
    ]
    assert told.person_id is not None


async def test_only_the_households_companion_or_coordinator_verifies(
    mother: Chat, store: Store
) -> None:
    await report_visit(mother, "Aditya Sukmana (balita)", "Hari ini", photo=False)
    async with store.read() as repo:
        report_id = (await repo.connection.execute(select(attendance_report.c.id))).scalar()
    hasan = await enrolled(store, mother, "PD-MKJ-2", 7502)
    assert await hasan.send("/verifikasi") == ["Tidak ada laporan yang menunggu verifikasi."]
    refused = ["Maaf, itu tidak bisa dilakukan dari akun ini."]
    assert await hasan.press_data(f"vr:{report_id}:ok", {"message_id": 1, "text": ""}) == refused
    assert await hasan.press_data(f"vr:{report_id}:no", {"message_id": 1, "text": ""}) == refused
    assert await mother.send("/verifikasi") == refused
    asep = await enrolled(store, mother, "KO-MKJ", 7503)
    [done] = await asep.press_data(f"vr:{report_id}:ok", {"message_id": 1, "text": ""})
    assert done.startswith("Terverifikasi: Aditya Sukmana")


async def test_a_proof_sent_as_a_file_is_shown_as_a_file_and_the_queue_goes_on(
    mother: Chat, store: Store
) -> None:
    await mother.send("/hadir")
    await mother.press("Aditya Sukmana (balita)")
    await mother.press("Hari ini")
    document = {"file_id": "BQACkms-as-file", "file_unique_id": "d1", "mime_type": "image/jpeg",
                "file_name": "kms.jpg"}  # fmt: skip
    [summary] = await mother.send_content(document=document)
    assert "Foto bukti: ya" in summary
    await mother.press("✅ Simpan")
    await report_visit(mother, "Neneng Sukmana (ibu hamil)", "Kemarin", photo=True)
    euis = await enrolled(store, mother, "PD-MKJ-1", 7502)

    answers = await euis.send("/verifikasi")
    assert answers == ["Laporan yang menunggu verifikasi: 2"]  # the others carry a proof
    [as_file] = euis.api.sent("sendDocument")
    assert as_file["document"] == "BQACkms-as-file"
    assert as_file["caption"].startswith("<b>RTS-2026-0001</b> · Aditya")
    shown = [call["photo"] for call in euis.api.sent("sendPhoto")
             if not str(call.get("photo")).startswith("BQAC")]  # fmt: skip
    assert shown == ["AgACkms-stamp"]  # the next report is not held up
    assert not [p for p in euis.api.sent() if "gangguan" in str(p["text"])]


async def test_a_new_reports_notice_opens_the_verification_list(
    mother: Chat, store: Store, translations: Translations
) -> None:
    euis = await enrolled(store, mother, "PD-MKJ-1", 7503)
    await report_visit(mother, "Aditya Sukmana (balita)", "Kemarin", photo=False)
    await deliver(store, euis, translations)
    [notice] = [p for p in euis.api.sent() if p["chat_id"] == euis.user_id][-1:]
    assert notice["text"].startswith("Laporan posyandu baru dari rumah tangga RTS-2026-0001")
    assert euis.buttons() == ["Buka daftar verifikasi"]
    [count, report] = await euis.press("Buka daftar verifikasi")
    assert count == "Laporan yang menunggu verifikasi: 1"
    assert report.startswith("<b>RTS-2026-0001</b> · Aditya Sukmana")
