"""The bot through the real PTB Application; only the Bot API HTTP edge is faked."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app import SapaApplication, Services, build_application
from bot.i18n import Translations
from bot.models import Role
from bot.settings import load_settings
from storage.store import Store
from tests.conftest import NOW
from tests.fake_bot_api import FakeBotApi
from tests.telegram_updates import sticker_message, text_message

TOKEN = "123456789:TESTtokenTESTtokenTESTtokenTESTtoken"


@pytest.fixture
async def bot_app(
    store: Store, translations: Translations
) -> AsyncIterator[tuple[SapaApplication, FakeBotApi]]:
    api = FakeBotApi()
    settings = load_settings(database_url="sqlite+aiosqlite:///unused.db")
    services = Services(settings=settings, store=store, translations=translations,
                        clock=lambda: NOW)  # fmt: skip
    application = build_application(services, request=api, token=TOKEN)
    async with application:
        yield application, api


async def test_start_greets_in_indonesian_with_a_privacy_notice(
    bot_app: tuple[SapaApplication, FakeBotApi],
) -> None:
    application, api = bot_app
    await application.process_update(text_message(application.bot, 4242, "/start"))
    [reply] = api.sent()
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
