"""The bot's HTTP side: the webhook Telegram posts updates to, and `GET /healthz`.

Why starlette and uvicorn rather than PTB's own webhook server: PTB's server (tornado) serves
the webhook path and nothing else, so `/healthz` would need a second server on a second port.
A small ASGI app serves both on one port, and it is plain code a newcomer can read; PTB keeps
doing what it is good at (turning JSON into `Update`s and running the handlers).

The webhook checks Telegram's secret token header on every request (403 without it), parses
the update and puts it on the Application's update queue; the handlers run as in polling mode.
The body is read as it arrives and no further than MAX_UPDATE_BYTES (413 past it, whatever
Content-Length says or without one); JSON that is not an update, or nested too deeply to parse,
gets 400.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.runtime.health import check_health

if TYPE_CHECKING:
    from bot.runtime.app import SapaApplication, Services

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# An update is a few kilobytes; anything much larger is not from Telegram.
MAX_UPDATE_BYTES = 1_000_000


def build_web_app(
    application: SapaApplication,
    services: Services,
    *,
    webhook_path: str | None = None,
    secret: str | None = None,
) -> Starlette:
    """`/healthz`, and the webhook at `webhook_path` when given (then `secret` is required)."""

    async def healthz(_request: Request) -> Response:
        report = await check_health(services.store, services.heartbeat, services.clock())
        return JSONResponse(report.as_json(), status_code=report.status_code)

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if webhook_path is not None:
        if not secret:
            raise ValueError("a webhook needs a secret token")
        routes.append(Route(webhook_path, _webhook_endpoint(application, secret), methods=["POST"]))
    return Starlette(routes=routes)


def _webhook_endpoint(
    application: SapaApplication, secret: str
) -> Callable[[Request], Awaitable[Response]]:
    expected = secret.encode()

    async def receive_update(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            log.warning("webhook_refused reason=secret_token client=%s", _client(request))
            return JSONResponse({"ok": False, "error": "forbidden"}, status_code=403)
        body = await _body_up_to(request, MAX_UPDATE_BYTES)
        if body is None:
            log.warning("webhook_refused reason=too_large")
            return JSONResponse({"ok": False, "error": "too large"}, status_code=413)
        try:
            update = Update.de_json(_json_object(body), application.bot)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            log.warning("webhook_refused reason=malformed_update")
            return JSONResponse({"ok": False, "error": "malformed update"}, status_code=400)
        await application.update_queue.put(update)
        return Response(status_code=200)

    return receive_update


async def _body_up_to(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to be longer than `limit` bytes.

    Read chunk by chunk as it arrives, so a client that sends (or announces) more than the
    limit is answered without the rest being read or held in memory; Content-Length is only
    believed when it already says too much.
    """
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async with contextlib.aclosing(request.stream()) as stream:
        async for chunk in stream:
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
    return b"".join(chunks)


def _json_object(body: bytes) -> dict[str, object]:
    data = json.loads(body)
    if not isinstance(data, dict) or "update_id" not in data:
        raise ValueError("not an update")
    return data


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"
