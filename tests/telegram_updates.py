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
