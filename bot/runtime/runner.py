"""Running the bot as a service: start, serve (long polling or a webhook), stop cleanly.

    start    getMe until Telegram answers (retrying with backoff while it cannot be reached,
             after `retry_after` seconds when it answers 429; a refused token stops at once),
             announce the commands, start the handlers and jobs;
    serve    long polling, or set the webhook and serve it (with /healthz) over HTTP;
    stop     on SIGTERM or Ctrl-C: stop taking updates, finish the ones already taken (in
             polling mode the unconfirmed ones are fetched again by the next start), let the
             running job finish, close the connections.

The caller (`sapa run`) owns the signal handlers and the `stop` event, so this module can be
driven by tests as well. On SQLite, `sapa run` first takes the database's lock (`lock_database`):
one bot per database file, since two would each send the whole outbox and answer every update.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import secrets
import socket
import warnings
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import uvicorn
from telegram import Update
from telegram.error import InvalidToken, NetworkError, RetryAfter

from bot.runtime.heap import settle_heap
from bot.runtime.web import build_web_app

if TYPE_CHECKING:
    from bot.runtime.app import SapaApplication, Services
    from bot.settings import Settings

log = logging.getLogger(__name__)

# What the handlers handle: messages, button presses, and changes of the bot's own membership
# (my_chat_member: added to a group, it leaves; blocked or unblocked by a household).
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]
DEFAULT_WEBHOOK_PORT = 8080
FIRST_RETRY_SECONDS = 1.0
LONGEST_RETRY_SECONDS = 60.0


@dataclass(frozen=True)
class Webhook:
    url: str
    secret: str
    generated_secret: bool = False

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @classmethod
    def from_settings(cls, settings: Settings, url: str) -> Webhook:
        if settings.webhook_secret is not None:
            return cls(url, settings.webhook_secret.get_secret_value())
        return cls(url, secrets.token_urlsafe(32), generated_secret=True)


@dataclass(frozen=True)
class Listener:
    """Where the HTTP server (webhook and /healthz) listens."""

    host: str
    port: int

    def bind(self) -> socket.socket:
        """Bind now, so a port in use is reported before Telegram is contacted."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            return socket.create_server((self.host, self.port), family=family)
        except OSError as error:
            raise CannotListen(self, error.strerror or str(error)) from error


class CannotListen(Exception):
    def __init__(self, listener: Listener, reason: str) -> None:
        super().__init__(f"{listener.host}:{listener.port}: {reason}")
        self.listener = listener
        self.reason = reason


class AlreadyRunning(Exception):
    """Another process holds this SQLite database's lock: a bot is already running on it."""

    def __init__(self, database: Path) -> None:
        super().__init__(str(database))
        self.database = database


class DatabaseLock:
    """The lock `lock_database` took; the OS releases it when the process ends, however."""

    def __init__(self, path: Path, descriptor: int) -> None:
        self.path = path
        self._descriptor: int | None = descriptor

    def release(self) -> None:
        if self._descriptor is not None:
            os.close(self._descriptor)  # closing the file releases the flock
            self._descriptor = None


def lock_file(database: Path) -> Path:
    """The lock file beside the database: `sapa.db.lock` for `sapa.db` (by its real path, so a
    symlink or another working directory still finds the same lock)."""
    real = database.resolve()
    return real.with_name(real.name + ".lock")


def lock_database(database: Path) -> DatabaseLock:
    """Take the SQLite database's lock for this process, or raise AlreadyRunning at once.

    An exclusive flock on `lock_file(database)` (created 0600; it stays when the bot stops,
    which is harmless). The OS drops the lock when the process ends, even by kill -9, so there
    is never a stale lock to clean up. Only `sapa run` takes it: imports, backups and the
    console work beside a running bot. OSError (say, the folder does not exist) propagates.
    """
    path = lock_file(database)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        raise AlreadyRunning(database) from None
    except OSError:
        os.close(descriptor)
        raise
    with contextlib.suppress(OSError):  # who holds it, for `cat sapa.db.lock`; only a help
        os.ftruncate(descriptor, 0)
        os.write(descriptor, f"{os.getpid()}\n".encode())
    return DatabaseLock(path, descriptor)


async def serve(
    application: SapaApplication,
    services: Services,
    stop: asyncio.Event,
    *,
    webhook: Webhook | None = None,
    listener: Listener | None = None,
) -> None:
    """Run until `stop` is set. Raises InvalidToken when Telegram refuses the token."""
    sock = listener.bind() if listener is not None else None
    mode = "webhook" if webhook is not None else "polling"
    if not await _until_reachable(application.initialize, "get_me", stop):
        return
    server: _Server | None = None
    server_task: asyncio.Task[None] | None = None
    try:
        if application.post_init is not None:
            await application.post_init(application)
        await application.start()
        await services.store.warm_quick_reads()
        settle_heap()  # what start-up loaded lives as long as we do: out of the collector's way
        if webhook is not None:
            if webhook.generated_secret:
                log.info("webhook_secret_generated note=set_SAPA_WEBHOOK_SECRET_for_replicas")
            await _until_reachable(lambda: _set_webhook(application, webhook), "set_webhook", stop)
        else:
            updater = application.updater
            assert updater is not None
            await updater.start_polling(allowed_updates=ALLOWED_UPDATES, bootstrap_retries=-1)
        if sock is not None:
            server = _Server(_server_config(application, services, webhook))
            server_task = asyncio.create_task(server.serve(sockets=[sock]), name="http")
            server_task.add_done_callback(lambda _task: stop.set())
            while not server.started and not server_task.done():
                await asyncio.sleep(0.01)
        log.info(
            "bot_started mode=%s http=%s",
            mode,
            f"{listener.host}:{listener.port}" if listener else "-",
        )
        await stop.wait()
    finally:
        log.info("bot_stopping mode=%s", mode)
        if server is not None and server_task is not None:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await server_task
        if application.updater is not None and application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        if sock is not None:
            sock.close()
        log.info("bot_stopped mode=%s", mode)


async def _set_webhook(application: SapaApplication, webhook: Webhook) -> None:
    await application.bot.set_webhook(
        url=webhook.url, secret_token=webhook.secret, allowed_updates=ALLOWED_UPDATES
    )


async def _until_reachable(
    action: Callable[[], Awaitable[object]], name: str, stop: asyncio.Event
) -> bool:
    """Do `action`, retrying with backoff while the Bot API cannot be reached, and after the
    wait Telegram asks for when it answers 429 Too Many Requests.

    Returns False when `stop` was set while waiting. A refused token (InvalidToken) is not
    retried: no amount of waiting fixes it.
    """
    for attempt, backoff in enumerate(_backoff(), start=1):
        delay = backoff
        try:
            await action()
            return True
        except InvalidToken:
            raise
        except RetryAfter as error:
            with warnings.catch_warnings():  # PTB 22 announces a type change; both are handled
                warnings.simplefilter("ignore")
                delay = _seconds(error.retry_after)
            log.warning(
                "bot_api_rate_limited call=%s attempt=%d retry_in_seconds=%.0f",
                name,
                attempt,
                delay,
            )
        except NetworkError as error:  # also TimedOut, and 5xx answers of a proxy in between
            log.warning(
                "bot_api_unreachable call=%s attempt=%d retry_in_seconds=%.0f error=%s",
                name,
                attempt,
                delay,
                type(error).__name__,
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        if stop.is_set():
            return False
    raise AssertionError("unreachable")  # _backoff never ends


def _seconds(value: int | float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def _backoff() -> Iterator[float]:
    delay = FIRST_RETRY_SECONDS
    while True:
        yield delay
        delay = min(delay * 2, LONGEST_RETRY_SECONDS)


def _server_config(
    application: SapaApplication, services: Services, webhook: Webhook | None
) -> uvicorn.Config:
    app = build_web_app(
        application,
        services,
        webhook_path=webhook.path if webhook else None,
        secret=webhook.secret if webhook else None,
    )
    # Our logging stays as it is (log_config=None); no access log (paths and clients only
    # add noise, and /healthz is polled).
    return uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `sapa run` stops the bot and the server together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
