"""The bot through the real PTB Application; only the Bot API HTTP edge is faked."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from pathlib import Path

import pytest

from bot.domain.models import Role
from bot.runtime.app import SapaApplication, Services, build_application
from bot.runtime.runner import Webhook, serve
from bot.settings import load_settings
from bot.texts.i18n import Translations
from storage.database import create_engine
from storage.store import Store
from tests.conftest import NOW, TOKEN
from tests.support.fake_bot_api import FakeBotApi
from tests.support.telegram_updates import sticker_message, text_message


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
    assert api.texts()[0].startswith("This Telegram is registered as district team")


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
            "Maaf, kami belum mengerti pesan itu. Kirim /bantuan untuk melihat apa yang bisa kami bantu."
        ]
        * 3
    )


async def test_commands_are_announced_in_each_language(
    bot_app: tuple[SapaApplication, FakeBotApi],
) -> None:
    from bot.runtime.app import announce_commands

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
    assert list(described["en"]) == ["start", "hadir", "keluhan", "jadwal", "pengingat", "status",
                                     "bahasa",
                                     "bantuan", "batal", "putus", "datasaya",
                                     "hapusdata"]  # fmt: skip


async def test_a_refused_command_list_does_not_stop_the_bot(
    bot_app: tuple[SapaApplication, FakeBotApi],
) -> None:
    from bot.runtime.app import announce_commands

    application, api = bot_app
    api.fail_next("setMyCommands", 400, "Bad Request: language code is invalid")
    await announce_commands(application)
    assert len([c for c in api.calls if c.method == "setMyCommands"]) == 4


async def test_a_429_on_get_me_at_start_is_waited_out(
    tmp_path: Path, translations: Translations, caplog: pytest.LogCaptureFixture
) -> None:
    """Telegram answers the first getMe with 429 retry_after=1: the bot waits that second, asks
    again and starts, saying so in one log line without the token. Once started, what start-up
    loaded is frozen out of the garbage collector's full collections (bot/runtime/heap.py)."""
    caplog.set_level(logging.INFO)
    api = FakeBotApi()
    api.fail_next("getMe", 429, "Too Many Requests: retry after 1", retry_after=1)
    url = f"sqlite+aiosqlite:///{tmp_path / 'sapa.db'}"
    store = Store(create_engine(url))
    services = Services(load_settings(database_url=url), store, translations, lambda: NOW)
    application = build_application(services, request=api, token=TOKEN)
    stop = asyncio.Event()
    webhook = Webhook("https://sapa.example/hook", "start-test-secret-0123456789")
    began = time.monotonic()
    gc.unfreeze()
    running = asyncio.create_task(serve(application, services, stop, webhook=webhook))
    try:
        while "bot_started" not in caplog.text and not running.done():
            assert time.monotonic() - began < 10, caplog.text
            await asyncio.sleep(0.02)
        assert not running.done(), running.exception()  # started, not crashed
        assert time.monotonic() - began >= 1  # the second Telegram asked for
        assert [call.method for call in api.calls][:2] == ["getMe", "getMe"]
        assert "setWebhook" in [call.method for call in api.calls]
        [waited] = [r.getMessage() for r in caplog.records if "bot_api_rate_limited" in r.msg]
        assert waited == "bot_api_rate_limited call=get_me attempt=1 retry_in_seconds=1"
        assert gc.get_freeze_count() > 10_000  # PTB, SQLAlchemy, our handlers and catalogs
    finally:
        gc.unfreeze()
        stop.set()
        await asyncio.wait_for(running, 10)
        await store.close()
    assert TOKEN not in caplog.text and TOKEN.split(":")[1] not in caplog.text
