"""Private chats only: in a group the bot says one line with a button to the private chat, never
shows or accepts personal data, never makes a link code or an invite; added to a group it says
that line once and leaves; a household that blocks the bot is unreachable at once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.services.enrolment import INVITE_PREFIX, issue_invite
from bot.services.linking import DEEP_LINK_PREFIX
from storage.schema import invite, link_code, person
from storage.store import Store
from tests.conftest import NOW
from tests.support.chat import Chat
from tests.support.helpers import count
from tests.support.scenes import enrolled
from tests.support.telegram_updates import bot_membership, group_chat, group_text

LINE = "Sapa RTS hanya melayani lewat chat pribadi. Silakan buka chat pribadi dengan bot."
GROUP = group_chat(-100777, "supergroup")


async def in_group(chat: Chat, text: str, room: dict[str, Any] = GROUP) -> list[dict[str, Any]]:
    """What the bot sent anywhere after `chat`'s user wrote `text` in the group."""
    before = len(chat.api.calls)
    await chat.application.process_update(
        group_text(chat.application.bot, chat.user_id, text, room)
    )
    return [{"method": c.method, **c.params} for c in chat.api.calls[before:]]


async def test_link_code_and_invite_commands_in_a_group_make_nothing(
    mother: Chat, store: Store
) -> None:
    euis = await enrolled(store, mother, "PD-MKJ-1", 7101)
    asep = await enrolled(store, mother, "KO-MKJ", 7102)
    codes, invites = await count(store, link_code), await count(store, invite)

    [answer] = await in_group(euis, "/kodetautan@sapa_rts_bot RTS-2026-0001")
    assert answer["method"] == "sendMessage" and int(answer["chat_id"]) == GROUP["id"]
    assert answer["text"] == LINE
    button = answer["reply_markup"]["inline_keyboard"][0][0]
    assert button == {"text": "Buka chat pribadi", "url": "https://t.me/sapa_rts_bot"}

    [answer] = await in_group(asep, "/undang@sapa_rts_bot PD-MKJ-2")
    assert answer["text"] == LINE
    assert (await count(store, link_code), await count(store, invite)) == (codes, invites)


async def test_household_and_staff_commands_in_a_group_show_no_data(
    mother: Chat, store: Store
) -> None:
    euis = await enrolled(store, mother, "PD-MKJ-1", 7201)
    asep = await enrolled(store, mother, "KO-MKJ", 7202)
    agus = await enrolled(store, mother, "TPJK-1", 7203)
    for chat, command in [
        (mother, "/jadwal"), (mother, "/status"), (mother, "/hadir"), (mother, "/putus"),
        (euis, "/rumahtangga"), (euis, "/verifikasi"), (euis, "/keluhanmasuk"),
        (asep, "/rekap"), (agus, "/ekspor"), (agus, "/start"),
    ]:  # fmt: skip
        sent = await in_group(chat, command)
        assert [(s["method"], s["text"]) for s in sent] == [("sendMessage", LINE)], command
    # Still linked and served in the private chat.
    assert "RTS-2026-0001" in (await mother.send("/start"))[0]


async def test_linking_in_a_group_is_not_possible(chat: Chat, store: Store) -> None:
    assert await in_group(chat, "/start") != []
    assert await in_group(chat, "RTS-2026-0001") == []  # plain talk in the group: silence
    assert await in_group(chat, "850001") == []
    made = await issue_invite(store, "PD-MKJ-2", now=NOW, actor="test")
    [said] = await in_group(chat, f"/start {INVITE_PREFIX}{made.token}")
    assert said["text"] == LINE
    [said] = await in_group(chat, f"/start {DEEP_LINK_PREFIX}ABCDEFGH")
    assert said["text"] == LINE
    async with store.engine.connect() as connection:
        found = (await connection.execute(select(person.c.household_id, person.c.staff_id))).all()
    assert found == []  # nobody linked, nobody enrolled
    # The invite is still unused: the right person can open it in a private chat.
    assert "Hasan Nugraha" in (await chat.send(f"/start {INVITE_PREFIX}{made.token}"))[0]


async def test_a_mention_gets_the_line_and_other_talk_is_ignored(chat: Chat) -> None:
    [said] = await in_group(chat, "@sapa_rts_bot jadwal posyandu kapan?")
    assert said["text"] == LINE
    assert await in_group(chat, "Selamat pagi ibu-ibu") == []


async def test_a_button_pressed_in_a_group_is_answered_not_acted_on(mother: Chat) -> None:
    from telegram import Update

    before = len(mother.api.calls)
    query = {
        "id": "9001", "from": {"id": mother.user_id, "is_bot": False, "first_name": "Siti"},
        "chat_instance": "43", "data": "lang:en",
        "message": {"message_id": 5, "date": 1_796_000_000, "chat": GROUP,
                    "from": {"id": 700000001, "is_bot": True, "first_name": "Sapa RTS"}},
    }  # fmt: skip
    update = Update.de_json({"update_id": 99001, "callback_query": query}, mother.application.bot)
    assert update is not None
    await mother.application.process_update(update)
    calls = mother.api.calls[before:]
    assert [c.method for c in calls] == ["answerCallbackQuery"]
    assert calls[0].params["text"] == LINE
    # The language did not change.
    assert (await mother.send("/bantuan"))[0].startswith(
        "Yang bisa kami bantu untuk rumah tangga Ibu/Bapak:"
    )


async def test_channel_posts_are_ignored_quietly(chat: Chat) -> None:
    from telegram import Update

    before = len(chat.api.calls)
    post = {"message_id": 3, "date": 1_796_000_000, "text": "/rekap",
            "chat": {"id": -100555, "type": "channel", "title": "Info"},
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}]}  # fmt: skip
    update = Update.de_json({"update_id": 99002, "channel_post": post}, chat.application.bot)
    assert update is not None
    await chat.application.process_update(update)
    assert chat.api.calls[before:] == []


async def test_added_to_a_group_the_bot_says_the_line_once_and_leaves(chat: Chat) -> None:
    bot = chat.application.bot
    room = group_chat(-100888, "group")
    before = len(chat.api.calls)
    await chat.application.process_update(bot_membership(bot, room, chat.user_id, "left", "member"))
    calls = chat.api.calls[before:]
    assert [c.method for c in calls] == ["sendMessage", "leaveChat"]
    assert calls[0].params["text"] == LINE and int(calls[1].params["chat_id"]) == room["id"]
    # Leaving is reported back to the bot; it says nothing more.
    before = len(chat.api.calls)
    await chat.application.process_update(bot_membership(bot, room, chat.user_id, "member", "left"))
    assert chat.api.calls[before:] == []


async def test_blocking_and_unblocking_in_private_marks_the_household_at_once(
    mother: Chat, store: Store
) -> None:
    bot = mother.application.bot
    private = {"id": mother.user_id, "type": "private", "first_name": "Siti"}

    async def reachable() -> bool:
        async with store.engine.connect() as connection:
            query = select(person.c.reachable).where(person.c.telegram_user_id == mother.user_id)
            return bool((await connection.execute(query)).scalar_one())

    before = len(mother.api.calls)
    await mother.application.process_update(
        bot_membership(bot, private, mother.user_id, "member", "kicked")
    )
    assert not await reachable()
    await mother.application.process_update(
        bot_membership(bot, private, mother.user_id, "kicked", "member")
    )
    assert await reachable()
    assert mother.api.calls[before:] == []  # nothing is said to a chat that just blocked us


async def test_a_command_in_a_group_leaves_the_private_flow_going(mother: Chat) -> None:
    await mother.send("Lapor hadir posyandu")
    await mother.press("Aditya Sukmana (balita)")
    await in_group(mother, "/jadwal")
    [ask_photo] = await mother.press("Kemarin")
    assert ask_photo.startswith("Apakah ada foto kartu KMS")
