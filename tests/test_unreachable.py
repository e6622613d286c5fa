"""A mother who blocks the bot: her companion's morning digest says so, until she comes back."""

from __future__ import annotations

from datetime import date, datetime, time

from bot.domain.models import Recipient, Role
from bot.runtime.app import SapaApplication
from bot.texts.i18n import Translations
from jobs.planner import PlanPolicy, plan
from storage.store import Store
from tests.conftest import NOW
from tests.support.chat import Chat
from tests.support.fake_bot_api import FakeBotApi
from tests.support.outbox import WIB, ManualClock, make_dispatcher

COMPANION_CHAT = 7300  # Euis Rohmah, PD-MKJ-1, who serves RTS-2026-0001


async def morning_digest(
    store: Store, companion: Chat, translations: Translations, day: date
) -> str:
    """The planner's run at 06:45 WIB on `day` and the dispatcher's: the digest that arrived."""
    await plan(store, datetime.combine(day, time(6, 45), tzinfo=WIB), PlanPolicy(WIB))
    before = len(companion.bot_messages())
    clock = ManualClock()
    clock.set_local(datetime.combine(day, time(6, 45)))
    dispatcher = make_dispatcher(store, companion.application.bot, translations, clock)
    await dispatcher.run_once()
    [digest] = [m["text"] for m in companion.bot_messages()[before:] if "Selamat pagi" in m["text"]]
    return str(digest)


async def test_the_digest_shows_a_blocked_household_until_it_returns(
    mother: Chat, store: Store, translations: Translations,
    bot_app: tuple[SapaApplication, FakeBotApi],
) -> None:  # fmt: skip
    application, api = bot_app
    async with store.write() as repo:
        staff = await repo.staff.get_by_code("PD-MKJ-1")
        assert staff is not None
        await repo.people.add(COMPANION_CHAT, Role.COMPANION, NOW, staff_id=staff.id)
        person = await repo.people.by_telegram_id(mother.user_id)
        assert person is not None
        await repo.notifications.queue(
            Recipient(person_id=person.id), "complaint.status",
            {"ticket": "KLH-1", "status": "closed"}, due_at=NOW, dedup_key="blocked-1", now=NOW,
        )  # fmt: skip
    api.blocked_chats.add(mother.user_id)  # she blocked the bot: Telegram answers 403
    dispatcher = make_dispatcher(store, application.bot, translations, ManualClock())
    assert (await dispatcher.run_once()).blocked == 1

    companion = Chat(application, api, COMPANION_CHAT, seen=len(api.calls))
    digest = await morning_digest(store, companion, translations, date(2026, 12, 2))
    assert "• Tidak bisa dihubungi bot: 1" in digest
    keyboard = companion.bot_messages()[-1]["reply_markup"]["inline_keyboard"]
    [button] = [key["callback_data"] for row in keyboard for key in row
                if key["callback_data"].endswith(":unreachable")]  # fmt: skip
    *_digest, listed = await companion.press_data(button, {"message_id": 1, "text": ""})
    assert (
        listed == "<b>Rumah tangga yang tidak bisa dihubungi bot</b>\nRTS-2026-0001 Ujang Sukmana"
    )

    api.blocked_chats.clear()  # she unblocks the bot and says /start
    await mother.send("/start")
    digest = await morning_digest(store, companion, translations, date(2026, 12, 3))
    assert "• Tidak bisa dihubungi bot: 0" in digest
    assert "<b>Rumah tangga yang tidak bisa dihubungi bot</b>" not in digest
