"""A fake Telegram Bot API over real HTTP (aiohttp), for end-to-end tests of the running bot.

It answers what the bot uses with the JSON shapes the real Bot API uses (`getMe`, long-poll
`getUpdates` with `offset`, `sendMessage`, `sendPhoto`, `sendDocument`, `editMessageText`,
`editMessageReplyMarkup`, `answerCallbackQuery`, `setMyCommands`, `setWebhook`,
`deleteWebhook`), and gives the test a side door: inject a user's message or button press, read
what the bot sent, make the next call of a method fail (400, 403, 429 with retry_after).

Like Telegram, once `setWebhook` was called it stops answering `getUpdates` and POSTs each new
update to the webhook URL instead, with the secret token header the bot asked for.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, web

BOT = {"id": 700000002, "is_bot": True, "first_name": "Sapa RTS", "username": "sapa_e2e_bot",
       "can_join_groups": False, "can_read_all_group_messages": False,
       "supports_inline_queries": False}  # fmt: skip


@dataclass
class Sent:
    method: str
    params: dict[str, Any]
    message_id: int


@dataclass
class FakeBotServer:
    token: str
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # the last call's, by method
    failures: dict[str, tuple[int, str, dict[str, Any]]] = field(default_factory=dict)
    blocked_chats: set[int] = field(default_factory=set)  # users who blocked the bot: 403
    # Chats whose messages are accepted (recorded) but answered only when the server stops: the
    # bot is left waiting, as when it dies between Telegram's accepting and its own marking.
    held_chats: set[int] = field(default_factory=set)
    _release_held: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _new_update: asyncio.Event = field(default_factory=asyncio.Event)
    _new_message: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: web.AppRunner | None = None
    _closing: bool = False
    port: int = 0
    webhook: dict[str, Any] | None = None
    webhook_answers: list[int] = field(default_factory=list)
    # A load balancer in front of several replicas (nginx round robin): updates go to these
    # URLs in turn instead of the one webhook URL; `delivered_to` records where each went.
    round_robin: list[str] = field(default_factory=list)
    delivered_to: list[str] = field(default_factory=list)
    _deliveries: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self, port: int = 0) -> None:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def stop(self) -> None:
        self._closing = True
        self._new_update.set()  # ends the long polls still waiting, so the server stops at once
        self._release_held.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # The test's side door -------------------------------------------------------------------

    def user_text(self, user_id: int, text: str) -> None:
        entities = []
        if text.startswith("/"):
            entities = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self._push({"message": {
            "message_id": next(self._ids), "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "Siti"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Siti"},
            "text": text, "entities": entities,
        }})  # fmt: skip

    def user_presses(self, user_id: int, label: str) -> None:
        """Press the inline button with this label on the newest message that has it."""
        for sent in reversed(self.sent):
            markup = sent.params.get("reply_markup") or {}
            for row in markup.get("inline_keyboard", []):
                for key in row:
                    if key["text"] == label and int(sent.params["chat_id"]) == user_id:
                        self._push({"callback_query": {
                            "id": str(next(self._ids)), "chat_instance": "e2e",
                            "from": {"id": user_id, "is_bot": False, "first_name": "Siti"},
                            "data": key["callback_data"],
                            "message": {"message_id": sent.message_id, "date": int(time.time()),
                                        "chat": {"id": user_id, "type": "private"}, "from": BOT,
                                        "text": sent.params.get("text", "")},
                        }})  # fmt: skip
                        return
        raise AssertionError(f"no button {label!r} for {user_id}")

    def texts_to(self, chat_id: int) -> list[str]:
        return [str(s.params.get("text", s.params.get("caption", ""))) for s in self.sent
                if int(s.params.get("chat_id", 0)) == chat_id]  # fmt: skip

    async def wait_for(
        self, chat_id: int, fragment: str, timeout: float = 20, *, after: int = 0
    ) -> str:
        """The first message to this chat containing `fragment` (among those from the `after`th
        on), waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        while True:
            for text in self.texts_to(chat_id)[after:]:
                if fragment in text:
                    return text
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{fragment!r} never arrived; got {self.texts_to(chat_id)}")
            self._new_message.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_message.wait(), remaining)

    async def wait_call(self, method: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while method not in self.calls:
            if time.monotonic() > deadline:
                raise AssertionError(f"{method} was never called; calls: {self.calls}")
            await asyncio.sleep(0.05)

    async def post_update(self, update: dict[str, Any], secret: str | None) -> int:
        """POST an update to the webhook as Telegram does (with this secret header, if any)."""
        assert self.webhook is not None, "no webhook was set"
        headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
        url = self.webhook["url"]
        if self.round_robin:
            url = self.round_robin[len(self.delivered_to) % len(self.round_robin)]
            self.delivered_to.append(url)
        async with (
            ClientSession() as session,
            session.post(url, json=update, headers=headers) as response,
        ):
            return response.status

    def _push(self, content: dict[str, Any]) -> None:
        update = {"update_id": next(self._ids), **content}
        if self.webhook is None:
            self.updates.append(update)
            self._new_update.set()
            return
        self._deliver_soon(update)

    def _deliver_soon(self, update: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(update))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, update: dict[str, Any]) -> None:
        assert self.webhook is not None
        status = await self.post_update(update, self.webhook.get("secret_token"))
        self.webhook_answers.append(status)

    # The Bot API ------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        params = await self._params(request)
        self.calls.append(method)
        self.params[method] = params
        if method in self.failures:
            status, description, extra = self.failures.pop(method)
            return self._error(status, description, extra)
        if method == "getUpdates" and self.webhook is not None:
            return self._error(409, "Conflict: can't use getUpdates method while webhook is active")
        if method == "getUpdates":
            return self._ok(await self._get_updates(params))
        if method == "getMe":
            return self._ok(BOT)
        if method == "setWebhook":
            self.webhook = params
            waiting, self.updates = self.updates, []
            for update in waiting:  # what came in before is delivered now, as Telegram does
                self._deliver_soon(update)
            return self._ok(True)
        if method == "deleteWebhook":
            self.webhook = None
            return self._ok(True)
        if int(params.get("chat_id") or 0) in self.blocked_chats:
            return self._error(403, "Forbidden: bot was blocked by the user")
        if method in ("sendMessage", "sendPhoto", "sendDocument", "editMessageText"):
            message_id = int(params.get("message_id") or next(self._ids))
            self.sent.append(Sent(method, params, message_id))
            self._new_message.set()
            chat = {"id": int(params.get("chat_id", 0)), "type": "private"}
            message = {"message_id": message_id, "date": int(time.time()), "chat": chat,
                       "from": BOT}  # fmt: skip
            if "text" in params:
                message["text"] = params["text"]
            if int(params.get("chat_id") or 0) in self.held_chats:
                await self._release_held.wait()
            return self._ok(message)
        return self._ok(True)

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates and not self._closing:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), float(params.get("timeout") or 0))
        return [u for u in self.updates if u["update_id"] >= offset]

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            return dict(await request.json())
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            if isinstance(value, str):
                try:
                    params[key] = json.loads(value) if value[:1] in "[{" else value
                except ValueError:
                    params[key] = value
        return params

    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(status: int, description: str, extra: dict[str, Any] | None = None) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if extra:
            body["parameters"] = extra
        return web.json_response(body, status=status)
