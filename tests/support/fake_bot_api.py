"""The network edge, faked: a PTB request object that answers Bot API calls without a network.

It records every call (method and parameters) so tests can assert what the user would have seen,
and answers with the JSON shapes the real Bot API uses. `fail_next(method, status, description)`
makes the next call of a method fail the way Telegram fails (403 blocked, 429 with retry_after).
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 700000001, "is_bot": True, "first_name": "Sapa RTS", "username": "sapa_rts_bot",
            "can_join_groups": False, "can_read_all_group_messages": False,
            "supports_inline_queries": False}  # fmt: skip


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    result: Any = None
    files: dict[str, bytes] = field(default_factory=dict)  # uploads: field name -> content
    file_names: dict[str, str] = field(default_factory=dict)  # uploads: field name -> file name


@dataclass
class FakeBotApi(BaseRequest):
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, tuple[int, str, dict[str, Any]]] = field(default_factory=dict)
    timeouts: set[str] = field(default_factory=set)
    blocked_chats: set[int] = field(default_factory=set)  # users who blocked the bot: 403
    after_call: Callable[[Call], None] | None = None  # runs once a call is answered
    # awaited before a call is recorded and answered, as the network's latency would be
    before_call: Callable[[Call], Awaitable[None]] | None = None
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass

    def fail_next(self, method: str, status: int, description: str, **parameters: Any) -> None:
        self.failures[method] = (status, description, parameters)

    def timeout_next(self, method: str) -> None:
        """The next call of this method times out (Telegram may or may not have acted on it)."""
        self.timeouts.add(method)

    def sent(self, method: str = "sendMessage") -> list[dict[str, Any]]:
        return [call.params for call in self.calls if call.method == method]

    def texts(self) -> list[str]:
        return [str(params["text"]) for params in self.sent()]

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
        call = Call(api_method, dict(params))
        if self.before_call is not None:
            await self.before_call(call)
        if request_data is not None and request_data.contains_files:
            for name, part in (request_data.multipart_data or {}).items():
                call.files[name] = part[1] if isinstance(part, tuple) else part
                if isinstance(part, tuple) and part[0]:
                    call.file_names[name] = str(part[0])
        self.calls.append(call)
        try:
            return self._answer(call)
        finally:
            if self.after_call is not None:
                self.after_call(call)

    def _answer(self, call: Call) -> tuple[int, bytes]:
        api_method, params = call.method, call.params
        if api_method in self.timeouts:
            self.timeouts.discard(api_method)
            raise TimedOut("Timed out")
        if api_method == "sendMessage" and int(params.get("chat_id", 0)) in self.blocked_chats:
            body = {"ok": False, "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user"}  # fmt: skip
            return 403, json.dumps(body).encode()
        refused = _refused_as_telegram_would(api_method, params)
        if refused is not None:
            body = {"ok": False, "error_code": 400, "description": f"Bad Request: {refused}"}
            return 400, json.dumps(body).encode()
        if api_method in self.failures:
            status, description, extra = self.failures.pop(api_method)
            body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
            if extra:
                body["parameters"] = extra
            return status, json.dumps(body).encode()
        call.result = self._result(api_method, params)
        return 200, json.dumps({"ok": True, "result": call.result}).encode()

    def _result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getMe":
            return BOT_USER
        if method in ("sendMessage", "sendPhoto", "sendDocument", "sendVoice", "editMessageText"):
            chat_id = int(params.get("chat_id", 0))
            message: dict[str, Any] = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": BOT_USER,
            }
            if "text" in params:
                message["text"] = params["text"]
            return message
        return True


def _refused_as_telegram_would(method: str, params: dict[str, Any]) -> str | None:
    """Telegram's limits on what the bot sends, so no test passes with a message it refuses:
    4096 characters of text, 1024 of caption, 64 bytes of button data; and a file sent "as a
    file" (a document: its ids start with BQAC, a photo's with AgAC) is not a photo."""
    if method == "sendPhoto" and str(params.get("photo", "")).startswith("BQAC"):
        return "type of file mismatch"
    if len(str(params.get("text", ""))) > 4096:
        return "message is too long"
    if len(str(params.get("caption", ""))) > 1024:
        return "message caption is too long"
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    elif hasattr(markup, "to_dict"):
        markup = markup.to_dict()
    if isinstance(markup, dict):
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if len(str(button.get("callback_data", "")).encode()) > 64:
                    return "BUTTON_DATA_INVALID"
    return None
