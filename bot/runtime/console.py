"""`sapa console`: chat with the bot in the terminal, without Telegram and without a network.

The same `Application` and handlers run against the local database. Only the Bot API edge is
replaced: `ConsoleBotApi` answers the bot's calls locally and prints what it sends, numbering the
buttons, and the loop turns what you type into the `Update` objects Telegram would send.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import itertools
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.runtime.app import SapaApplication

BOT_USER = {"id": 1, "is_bot": True, "first_name": "Sapa RTS", "username": "sapa_console_bot"}
CONSOLE_TOKEN = "1:console-local-token-never-sent-anywhere"
PHOTO_COMMAND, STICKER_COMMAND, QUIT_COMMANDS = ":foto", ":stiker", (":keluar", ":quit")

_TAG = re.compile(r"</?(b|i|u|s|code|pre|a)(\s[^>]*)?>")


def console_user_id(identity: str) -> int:
    """A stable Telegram-like user id for a console identity (`household:RTS-00001`)."""
    digest = hashlib.sha256(identity.encode()).digest()
    return 900_000_000 + int.from_bytes(digest[:4], "big") % 99_999_999


def plain(text: str) -> str:
    """The bot's HTML as terminal text."""
    return html.unescape(_TAG.sub("", text))


@dataclass
class Button:
    label: str
    callback_data: str | None  # None: a menu (reply keyboard) button, which sends its label
    message_id: int


@dataclass
class ConsoleBotApi(BaseRequest):
    """Answers the Bot API locally and prints the bot's messages with numbered buttons."""

    out: TextIO
    files_dir: Path = Path("sapa-console-files")  # where photos and documents are saved
    buttons: list[Button] = field(default_factory=list)
    menu: list[str] = field(default_factory=list)
    texts: dict[int, str] = field(default_factory=dict)
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        result: Any = True
        if api_method == "getMe":
            result = BOT_USER
        elif api_method in ("sendMessage", "sendPhoto", "sendDocument"):
            self._save_files(api_method, params, request_data)
            result = self._show(params)
        elif api_method == "editMessageReplyMarkup":
            # A button that edits its own keyboard gets the new buttons; one that removes them
            # leaves none to press.
            self._edited(int(str(params.get("message_id", 0))), params.get("reply_markup"))
        elif api_method == "editMessageText":
            # A button that shows its message anew (a page of /konfirmasi): the new text, then
            # its buttons.
            message_id = int(str(params.get("message_id", 0)))
            text = str(params.get("text") or "")
            self.texts[message_id] = text
            self.out.write("\n" + "\n".join(f"🤖 {line}" for line in plain(text).splitlines()))
            self.out.write("\n")
            self._edited(message_id, params.get("reply_markup"))
            result = {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": int(str(params.get("chat_id", 0))), "type": "private"},
                "from": BOT_USER,
                "text": text,
            }
        elif api_method == "answerCallbackQuery" and params.get("text"):
            self.out.write(f"  ({params['text']})\n")
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def _save_files(
        self, method: str, params: dict[str, Any], request_data: RequestData | None
    ) -> None:
        """Uploaded files (a chart, a spreadsheet) are written to `files_dir`; a photo that is a
        Telegram file id (a proof photo) is only named."""
        if request_data is not None and request_data.contains_files:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            for name, part in (request_data.multipart_data or {}).items():
                filename, content = (part[0], part[1]) if isinstance(part, tuple) else (name, part)
                path = self.files_dir / Path(str(filename)).name
                path.write_bytes(content if isinstance(content, bytes) else content.read())
                self.out.write(f"\n📎 {path}\n")
        elif method == "sendPhoto":
            self.out.write(f"\n📷 {params.get('photo')}\n")

    def _show(self, params: dict[str, Any]) -> dict[str, Any]:
        message_id = next(self._message_ids)
        text = str(params.get("text") or params.get("caption") or "")
        self.texts[message_id] = text
        self.out.write("\n" + "\n".join(f"🤖 {line}" for line in plain(text).splitlines()) + "\n")
        markup = _as_dict(params.get("reply_markup"))
        menu_sent = "keyboard" in markup
        if "inline_keyboard" in markup:
            self.buttons = [
                Button(key["text"], key.get("callback_data"), message_id)
                for row in markup["inline_keyboard"]
                for key in row
            ]
        elif "keyboard" in markup:
            self.buttons = []
            self.menu = [key["text"] for row in markup["keyboard"] for key in row]
        elif markup.get("remove_keyboard"):
            self.buttons, self.menu = [], []
        self._print_choices(show_menu=menu_sent)
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": int(params.get("chat_id", 0)), "type": "private"},
            "from": BOT_USER,
            "text": text,
        }

    def _edited(self, message_id: int, reply_markup: Any) -> None:
        """A message's buttons replaced (or removed)."""
        self.buttons = [b for b in self.buttons if b.message_id != message_id]
        markup = _as_dict(reply_markup)
        if markup.get("inline_keyboard"):
            self.buttons = [
                Button(key["text"], key.get("callback_data"), message_id)
                for row in markup["inline_keyboard"]
                for key in row
            ]
            self._print_choices(show_menu=False)

    def choices(self) -> list[Button]:
        """What a number typed now refers to: the latest buttons, then the menu."""
        return [*self.buttons, *(Button(label, None, 0) for label in self.menu)]

    def _print_choices(self, *, show_menu: bool) -> None:
        """Buttons of this message numbered from 1; the menu's numbers follow them."""
        numbered = list(enumerate(self.choices(), 1))
        inline = [f"[{n}] {b.label}" for n, b in numbered if b.callback_data is not None]
        menu = [f"[{n}] {b.label}" for n, b in numbered if b.callback_data is None]
        if inline:
            self.out.write("   " + "   ".join(inline) + "\n")
        if menu and (show_menu or inline):
            self.out.write("   menu: " + "   ".join(menu) + "\n")


def _as_dict(markup: Any) -> dict[str, Any]:
    if markup is None:
        return {}
    if isinstance(markup, str):
        return dict(json.loads(markup))
    return dict(markup)


class ConsoleChat:
    """Turns typed lines into Telegram updates for one console user."""

    def __init__(self, application: SapaApplication, api: ConsoleBotApi, user_id: int) -> None:
        self.application = application
        self.api = api
        self.user = {"id": user_id, "is_bot": False, "first_name": "Konsol"}
        self._ids = itertools.count(1)

    async def handle(self, line: str) -> None:
        line = line.strip()
        choices = self.api.choices()
        if line.isdigit() and 1 <= int(line) <= len(choices):
            chosen = choices[int(line) - 1]
            if chosen.callback_data is not None:
                self.api.out.write(f"   ↳ [{chosen.label}]\n")
                await self._process(self._button(chosen))
                return
            line = chosen.label
            self.api.out.write(f"   ↳ {line}\n")
        if line == PHOTO_COMMAND:
            photo = [
                {
                    "file_id": f"console-photo-{time.time_ns()}",
                    "file_unique_id": "c",
                    "width": 800,
                    "height": 600,
                }
            ]
            await self._process(self._message(photo=photo))
        elif line == STICKER_COMMAND:
            sticker = {
                "file_id": "console-sticker",
                "file_unique_id": "s",
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
            }
            await self._process(self._message(sticker=sticker))
        elif line:
            entities = []
            if line.startswith("/"):
                entities = [{"type": "bot_command", "offset": 0, "length": len(line.split()[0])}]
            await self._process(self._message(text=line, entities=entities))

    def _message(self, **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": {"id": self.user["id"], "type": "private", "first_name": "Konsol"},
            "from": self.user,
            **content,
        }

    def _button(self, chosen: Button) -> dict[str, Any]:
        return {
            "id": str(next(self._ids)),
            "from": self.user,
            "chat_instance": "console",
            "data": chosen.callback_data,
            "message": {
                "message_id": chosen.message_id,
                "date": int(time.time()),
                "chat": {"id": self.user["id"], "type": "private"},
                "from": BOT_USER,
                "text": self.api.texts.get(chosen.message_id, ""),
            },
        }

    async def _process(self, payload: dict[str, Any]) -> None:
        kind = "callback_query" if "chat_instance" in payload else "message"
        update = Update.de_json({"update_id": next(self._ids), kind: payload}, self.application.bot)
        assert update is not None
        # As in a running bot: through the update processor, which keeps the flow in the database.
        application = self.application
        await application.update_processor.process_update(
            update, application.process_update(update)
        )


async def read_lines(prompt: str) -> str | None:
    """One typed line, or None at the end of input (Ctrl-D)."""
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None


async def chat_loop(
    chat: ConsoleChat, after_each: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Read lines until the end of input; `after_each` runs after every line (the outbox)."""
    if after_each is not None:
        await after_each()
    while True:
        line = await read_lines("👤 ")
        if line is None or line.strip() in QUIT_COMMANDS:
            return
        await chat.handle(line)
        if after_each is not None:
            await after_each()
