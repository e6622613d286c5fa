"""Bad input at every step gets a clear, polite answer, and loses nothing."""

from __future__ import annotations

import pytest

from storage.schema import attendance_report, complaint
from storage.store import Store
from tests.conftest import NOW
from tests.support.chat import Chat
from tests.support.helpers import count

VOICE = {"voice": {"file_id": "AwACvoice", "file_unique_id": "v1", "duration": 3}}
LOCATION = {"location": {"latitude": -6.31, "longitude": 106.1}}
NOT_TEXT = (
    "Di sini kami hanya bisa membaca teks, foto, dan tombol. Silakan jawab dengan tombol atau "
    "dengan mengetik, atau kirim /batal untuk berhenti."
)
PICK_A_BUTTON = "Silakan pilih salah satu tombol di atas, atau kirim /batal untuk berhenti."


async def test_text_sticker_voice_and_location_where_a_button_is_expected(mother: Chat) -> None:
    await mother.send("/hadir")
    assert await mother.send("Aditya") == [PICK_A_BUTTON]
    assert await mother.send("😀😀😀") == [PICK_A_BUTTON]
    assert await mother.send_sticker() == [NOT_TEXT]
    assert await mother.send_content(**VOICE) == [NOT_TEXT]
    assert await mother.send_content(**LOCATION) == [NOT_TEXT]
    # The flow is still there: the member buttons still work.
    [ask_day] = await mother.press("Aditya Sukmana (balita)")
    assert ask_day.startswith("Kapan Aditya Sukmana")


async def test_huge_and_emoji_messages_at_the_linking_steps(chat: Chat) -> None:
    await chat.send("/start")
    [not_a_number] = await chat.send("x" * 5000)
    assert not_a_number.startswith("Itu sepertinya bukan nomor peserta.")
    assert (await chat.send("🙂🙂"))[0].startswith("Itu sepertinya bukan nomor peserta.")
    await chat.send("RTS-2026-0001")
    [refused] = await chat.send("9" * 5000)
    assert "tidak cocok" in refused


@pytest.mark.parametrize(
    "steps",
    [
        ["/hadir"],
        ["/hadir", "press:Neneng Sukmana (ibu hamil)"],
        ["/hadir", "press:Neneng Sukmana (ibu hamil)", "press:Hari ini"],
        ["/hadir", "press:Neneng Sukmana (ibu hamil)", "press:Hari ini", "press:Lewati"],
        ["/keluhan"],
        ["/keluhan", "press:Lainnya"],
        ["/keluhan", "press:Lainnya", "Posyandu tutup tanpa pemberitahuan."],
        ["/keluhan", "press:Lainnya", "Posyandu tutup tanpa pemberitahuan.", "press:Lewati"],
    ],
)
async def test_batal_at_any_step_saves_nothing(
    mother: Chat, store: Store, steps: list[str]
) -> None:
    for step in steps:
        if step.startswith("press:"):
            await mother.press(step.removeprefix("press:"))
        else:
            await mother.send(step)
    assert await mother.send("/batal") == ["Dibatalkan. Tidak ada yang disimpan."]
    assert await mother.send("/batal") == ["Tidak ada yang perlu dibatalkan."]
    assert await count(store, attendance_report) == 0
    assert await count(store, complaint) == 0


async def test_old_button_from_a_finished_flow(mother: Chat, store: Store) -> None:
    await mother.send("/hadir")
    await mother.press("Neneng Sukmana (ibu hamil)")
    await mother.press("Hari ini")
    await mother.press("Lewati")
    summary = mother.bot_messages()[-1]
    await mother.press("✅ Simpan")
    # A second tap on the same Save button (a slow phone, a double tap):
    save = summary["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    [answer] = await mother.press_data(save, summary)
    assert answer == "Itu tombol lama. Silakan mulai lagi dari menu."
    assert await count(store, attendance_report) == 1


async def test_button_of_an_earlier_flow_inside_a_new_one(mother: Chat, store: Store) -> None:
    await mother.send("/keluhan")
    old_categories = mother.bot_messages()[-1]
    await mother.send("/keluhan")  # starts afresh: the first message's buttons are now stale
    data = old_categories["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    [answer] = await mother.press_data(data, old_categories)
    assert answer == (
        "Itu tombol lama. Pakai tombol di pesan paling bawah, atau kirim /batal untuk berhenti."
    )
    [still] = await mother.press("Lainnya")  # the new flow is intact
    assert still.startswith("Silakan ceritakan masalahnya")


@pytest.mark.parametrize(
    "data", ["", "x" * 64, "att:zzzzzz:member:1", "lang:fr", "klh:abc:send", "💥"]
)
async def test_forged_callback_data(mother: Chat, store: Store, data: str) -> None:
    [outside] = await mother.press_data(data)
    assert outside == "Itu tombol lama. Silakan mulai lagi dari menu."
    await mother.send("/hadir")
    [inside] = await mother.press_data(data)
    assert inside in (  # undecodable data is an old button; another flow's is the wrong one
        "Itu tombol lama. Silakan mulai lagi dari menu.",
        "Itu tombol lama. Pakai tombol di pesan paling bawah, atau kirim /batal untuk berhenti.",
    )
    assert await count(store, attendance_report) == 0
    answered = [c for c in mother.api.calls if c.method == "answerCallbackQuery"]
    assert len(answered) == 2  # every press is acknowledged, so the phone stops spinning


@pytest.mark.parametrize("command", ["/hadir", "/keluhan", "/status", "/jadwal", "/putus",
                                     "Lapor hadir posyandu", "Status keluhan"])  # fmt: skip
async def test_unlinked_user_using_household_commands(chat: Chat, command: str) -> None:
    [answer] = await chat.send(command)
    assert answer == (
        "Akun Telegram ini belum terhubung dengan rumah tangga. Kirim /start untuk "
        "menghubungkannya dengan nomor peserta."
    )


async def test_deactivated_household(mother: Chat, store: Store) -> None:
    async with store.write() as repo:
        household = await repo.households.get_by_program_number("RTS-2026-0001")
        assert household is not None
        await repo.households.set_active(household.id, False, NOW)
    [answer] = await mother.send("/hadir")
    assert answer.startswith("Rumah tangga Ibu/Bapak sudah tidak aktif dalam program")
    [start] = await mother.send("/start")
    assert start == (
        "Rumah tangga ini sudah tidak aktif dalam program. Jika Ibu/Bapak merasa ini keliru, "
        "silakan hubungi pendamping atau kantor kecamatan."
    )


async def test_unknown_command_inside_and_outside_a_flow(mother: Chat) -> None:
    unknown = (
        "Maaf, kami belum mengerti pesan itu. Kirim /bantuan untuk melihat apa yang bisa kami "
        "bantu."
    )
    assert await mother.send("/entahlah") == [unknown]
    await mother.send("/keluhan")
    assert await mother.send("/entahlah") == [unknown]
    [still] = await mother.press("Lainnya")
    assert still.startswith("Silakan ceritakan")


async def test_a_greeting_is_greeted_with_the_menu(mother: Chat) -> None:
    for greeting in ("halo", "Assalamualaikum wr wb", "🙏", "Punten, Bu"):
        [answer] = await mother.send(greeting)
        assert answer == (
            "Halo, Ibu/Bapak! Ada yang bisa kami bantu? Silakan pilih dari menu di bawah."
        ), greeting
        assert mother.keyboard()[:2] == ["Lapor hadir posyandu", "Keluhan"]
    [voice] = await mother.send_content(**VOICE)
    assert voice == (
        "Maaf, kami belum bisa mendengarkan pesan suara. Mohon ketik pesan Ibu/Bapak, atau "
        "pilih dari menu."
    )
    [other] = await mother.send("posyandu tutup terus")
    assert other.startswith("Maaf, kami belum mengerti pesan itu.")


async def test_a_stranger_who_greets_is_shown_how_to_begin(chat: Chat) -> None:
    assert await chat.send("selamat pagi") == [
        "Halo, Ibu/Bapak! Kirim /start untuk menghubungkan Telegram ini dengan rumah tangga "
        "Ibu/Bapak."
    ]
