"""A user chatting with the bot in tests: send text, photos and stickers, press buttons by label.

Every update goes through the real PTB `Application`; what the bot answers is read back from the
recording fake Bot API (`FakeBotApi`), exactly as it would have been sent to Telegram.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from telegram import Update

from bot.runtime.app import SapaApplication
from tests.support.fake_bot_api import BOT_USER, FakeBotApi
from tests.support.telegram_updates import DATE, message_update, sticker_message, text_message, user

_ids = itertools.count(500_000)


@dataclass
class Chat:
    application: SapaApplication
    api: FakeBotApi
    user_id: int
    seen: int = 0  # how many Bot API calls were already read by `replies()`
    sent_messages: list[dict[str, Any]] = field(default_factory=list)

    async def send(self, text: str) -> list[str]:
        """Type a message (or a /command); returns the texts the bot answered with."""
        return await self._process(text_message(self.application.bot, self.user_id, text))

    async def send_photo(self, file_id: str = "AgACAgUAAxkBAAIBproof") -> list[str]:
        photo = [
            {"file_id": f"{file_id}-small", "file_unique_id": "s1", "width": 90, "height": 67},
            {"file_id": file_id, "file_unique_id": "s2", "width": 1280, "height": 960},
        ]
        return await self._process(message_update(self.application.bot, self.user_id, photo=photo))

    async def send_sticker(self) -> list[str]:
        return await self._process(sticker_message(self.application.bot, self.user_id))

    async def send_content(self, **content: Any) -> list[str]:
        """Any other message content: a voice note, a location..."""
        return await self._process(message_update(self.application.bot, self.user_id, **content))

    async def press(self, label: str) -> list[str]:
        """Press the inline button with this label (searching the newest messages first)."""
        for message in reversed(self.bot_messages()):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for key in row:
                    if key["text"] == label:
                        return await self.press_data(key["callback_data"], message)
        raise AssertionError(f"no button {label!r} in {self.buttons()}")

    async def press_data(self, data: str, message: dict[str, Any] | None = None) -> list[str]:
        """Send a button press with any data (a forged one, or one from an old message)."""
        message = message or self.bot_messages()[-1]
        query = {
            "id": str(next(_ids)),
            "from": user(self.user_id),
            "chat_instance": "42",
            "data": data,
            "message": {
                "message_id": message["message_id"],
                "date": DATE,
                "chat": {"id": self.user_id, "type": "private"},
                "from": BOT_USER,
                "text": message.get("text", ""),
            },
        }
        update = Update.de_json({"update_id": next(_ids), "callback_query": query},
                                self.application.bot)  # fmt: skip
        assert update is not None
        return await self._process(update)

    def bot_messages(self) -> list[dict[str, Any]]:
        """Messages the bot sent to this user (texts, and photos and files with their caption
        as `text`), with their message_id and reply_markup."""
        found = []
        for call in self.api.calls:
            if (
                call.method in ("sendMessage", "sendPhoto", "sendDocument")
                and call.result
                and int(call.params["chat_id"]) == self.user_id
            ):
                markup = call.params.get("reply_markup")
                text = call.params.get("text", call.params.get("caption", ""))
                found.append({**call.params, "text": text, "message_id": call.result["message_id"],
                              "reply_markup": markup if isinstance(markup, dict) else
                              _as_dict(markup)})  # fmt: skip
        return found

    def shown_messages(self) -> list[dict[str, Any]]:
        """`bot_messages()` as they look now: with the texts and buttons of later edits
        (`editMessageText`, `editMessageReplyMarkup`; removed buttons are None)."""
        edits: dict[int, dict[str, Any]] = {}
        for call in self.api.calls:
            if (
                call.method in ("editMessageText", "editMessageReplyMarkup")
                and int(call.params.get("chat_id", 0)) == self.user_id
            ):
                edit = edits.setdefault(int(call.params["message_id"]), {})
                if call.method == "editMessageText":
                    edit["text"] = call.params["text"]
                edit["reply_markup"] = _as_dict(call.params.get("reply_markup"))
        return [{**m, **edits.get(m["message_id"], {})} for m in self.bot_messages()]

    def screen(self) -> tuple[str, list[str]]:
        """The newest message with buttons as it looks now: its text and its buttons' labels."""
        for message in reversed(self.shown_messages()):
            markup = message.get("reply_markup") or {}
            labels = [key["text"] for row in markup.get("inline_keyboard", []) for key in row]
            if labels:
                return str(message["text"]), labels
        raise AssertionError("no message with buttons")

    async def tap(self, label: str) -> list[str]:
        """Press the button with this label as the messages look now (after edits)."""
        for message in reversed(self.shown_messages()):
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for key in row:
                    if key["text"] == label:
                        return await self.press_data(key["callback_data"], message)
        raise AssertionError(f"no button {label!r} in {self.screen()}")

    def buttons(self) -> list[str]:
        """Labels of the inline buttons on the bot's latest message."""
        markup = self.bot_messages()[-1].get("reply_markup") or {}
        return [key["text"] for row in markup.get("inline_keyboard", []) for key in row]

    def keyboard(self) -> list[str]:
        """Labels of the reply keyboard (the menu) on the bot's latest message."""
        markup = self.bot_messages()[-1].get("reply_markup") or {}
        return [key["text"] for row in markup.get("keyboard", []) for key in row]

    async def _process(self, update: Update) -> list[str]:
        # As PTB's update fetcher does: through our update processor, which keeps each user's
        # flow in the database between updates.
        application = self.application
        await application.update_processor.process_update(
            update, application.process_update(update)
        )
        new = self.api.calls[self.seen :]
        self.seen = len(self.api.calls)
        return [
            str(call.params["text"])
            for call in new
            if call.method == "sendMessage" and int(call.params["chat_id"]) == self.user_id
        ]


def _as_dict(markup: Any) -> dict[str, Any] | None:
    if markup is None:
        return None
    if isinstance(markup, str):
        import json

        return dict(json.loads(markup))
    if isinstance(markup, dict):
        return markup
    return dict(markup.to_dict())
