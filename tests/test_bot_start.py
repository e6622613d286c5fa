"""The bot through the real PTB Application; only the Bot API HTTP edge is faked."""

from __future__ import annotations

from bot.app import SapaApplication
from bot.models import Role
from storage.store import Store
from tests.conftest import NOW
from tests.fake_bot_api import FakeBotApi
from tests.telegram_updates import sticker_message, text_message


async def test_start_greets_in_indonesian_with_a_privacy_notice(
    bot_app: tuple[SapaApplication, FakeBotApi],
) -> None:
    application, api = bot_app
    await application.process_update(text_message(application.bot, 4242, "/start"))
    reply, ask_number = api.sent()
    assert "nomor peserta" in ask_number["text"]
    assert reply["chat_id"] == 4242
    assert reply["text"].startswith("Selamat datang di <b>Sapa RTS</b>")
    assert "UU PDP" in reply["text"]
    assert reply["parse_mode"] == "HTML"


async def test_stored_language_is_used(
    bot_app: tuple[SapaApplication, FakeBotApi], store: Store
) -> None:
    application, api = bot_app
    async with store.write() as repo:
        person = await repo.people.add(5151, Role.ADMIN, NOW)
        await repo.people.set_language(person.id, "en")
    await application.process_update(text_message(application.bot, 5151, "/start"))
    assert api.texts()[0].startswith("Welcome to <b>Sapa RTS</b>")


async def test_unknown_input_gets_a_polite_answer(
    bot_app: tuple[SapaApplication, FakeBotApi],
) -> None:
    application, api = bot_app
    await application.process_update(text_message(application.bot, 4242, "/entahlah"))
    await application.process_update(sticker_message(application.bot, 4242))
    await application.process_update(text_message(application.bot, 4242, "😀" * 5000))
    assert (
        api.texts()
        == [
            "Maaf, saya belum mengerti pesan itu. Kirim /bantuan untuk melihat apa yang bisa saya bantu."
        ]
        * 3
    )


async def test_commands_are_announced_in_each_language(
    bot_app: tuple[SapaApplication, FakeBotApi],
) -> None:
    from bot.app import announce_commands

    application, api = bot_app
    await announce_commands(application)
    calls = {call.params.get("language_code"): call.params["commands"]
             for call in api.calls if call.method == "setMyCommands"}  # fmt: skip
    assert set(calls) == {None, "id", "en", "su"}
    described = {lang: {c["command"]: c["description"] for c in commands}
                 for lang, commands in calls.items()}  # fmt: skip
    assert described["id"]["hadir"] == "Lapor kehadiran di posyandu"
    assert described["en"]["hadir"] == "Report a posyandu visit"
    assert described[None] == described["id"]  # the default language for everyone else
    assert list(described["en"]) == ["start", "hadir", "keluhan", "jadwal", "status", "bahasa",
                                     "bantuan", "batal", "putus"]  # fmt: skip


async def test_a_refused_command_list_does_not_stop_the_bot(
    bot_app: tuple[SapaApplication, FakeBotApi],
) -> None:
    from bot.app import announce_commands

    application, api = bot_app
    api.fail_next("setMyCommands", 400, "Bad Request: language code is invalid")
    await announce_commands(application)
    assert len([c for c in api.calls if c.method == "setMyCommands"]) == 4
