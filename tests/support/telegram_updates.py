"""Updates as Telegram sends them (JSON), turned into real `Update` objects."""

from __future__ import annotations

import itertools
from typing import Any

from telegram import Bot, Update

_ids = itertools.count(1)
DATE = 1_796_000_000  # 2026-11-29


def user(user_id: int, first_name: str = "Siti", language_code: str = "id") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name,
            "language_code": language_code}  # fmt: skip


def message_update(bot: Bot, user_id: int, **content: Any) -> Update:
    """A private-chat message from this user; `content` is the text, sticker, photo... part."""
    data = {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": DATE,
            "chat": {"id": user_id, "type": "private", "first_name": "Siti"},
            "from": user(user_id),
            **content,
        },
    }
    update = Update.de_json(data, bot)
    assert update is not None
    return update


def text_message(bot: Bot, user_id: int, text: str) -> Update:
    entities = []
    if text.startswith("/"):
        entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return message_update(bot, user_id, text=text, entities=entities)


def sticker_message(bot: Bot, user_id: int) -> Update:
    sticker = {"file_id": "CAAC", "file_unique_id": "AgAD", "type": "regular", "width": 512,
               "height": 512, "is_animated": False, "is_video": False}  # fmt: skip
    return message_update(bot, user_id, sticker=sticker)


def group_chat(chat_id: int = -100123, chat_type: str = "supergroup") -> dict[str, Any]:
    return {"id": chat_id, "type": chat_type, "title": "Pendamping Mekarjaya"}


def group_text(bot: Bot, user_id: int, text: str, chat: dict[str, Any] | None = None) -> Update:
    """A message this user writes in a group (a command when it starts with a slash)."""
    entities = []
    if text.startswith("/"):
        entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    data = {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": DATE,
            "chat": chat or group_chat(),
            "from": user(user_id),
            "text": text,
            "entities": entities,
        },
    }
    update = Update.de_json(data, bot)
    assert update is not None
    return update


def bot_membership(bot: Bot, chat: dict[str, Any], from_user_id: int, old: str, new: str) -> Update:
    """`my_chat_member`: the bot's status in `chat` changed from `old` to `new` (member, left,
    kicked, administrator), by the user `from_user_id`."""
    me = {"id": bot.id, "is_bot": True, "first_name": "Sapa RTS", "username": bot.username}

    def member(status: str) -> dict[str, Any]:
        found: dict[str, Any] = {"user": me, "status": status}
        if status == "kicked":
            found["until_date"] = 0
        if status == "administrator":
            found.update(can_be_edited=False, is_anonymous=False, can_manage_chat=True,
                         can_delete_messages=False, can_manage_video_chats=False,
                         can_restrict_members=False, can_promote_members=False,
                         can_change_info=False, can_invite_users=False,
                         can_post_stories=False, can_edit_stories=False,
                         can_delete_stories=False)  # fmt: skip
        return found

    data = {
        "update_id": next(_ids),
        "my_chat_member": {
            "chat": chat,
            "from": user(from_user_id),
            "date": DATE,
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        },
    }
    update = Update.de_json(data, bot)
    assert update is not None
    return update
