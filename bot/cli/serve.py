"""`sapa run`: the bot itself, by long polling or a webhook, one per SQLite file."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING

from bot.cli.common import EXIT_CONFIG, EXIT_OK

if TYPE_CHECKING:
    from bot.cli.common import Commands
    from bot.runtime.runner import Listener, Webhook
    from bot.settings import Settings
    from bot.texts.i18n import Translator

log = logging.getLogger("sapa")


def add_parsers(commands: Commands) -> None:
    run_parser = commands.add_parser(
        "run", help="start the bot (long polling, or a webhook with --webhook)"
    )
    run_parser.add_argument(
        "--webhook",
        metavar="URL",
        help="serve a webhook: the public https:// address Telegram posts updates to "
        "(default: SAPA_WEBHOOK_URL; without either, the bot polls)",
    )
    run_parser.add_argument(
        "--host", help="address the HTTP server listens on (default: SAPA_LISTEN_HOST, 127.0.0.1)"
    )
    run_parser.add_argument(
        "--port",
        type=int,
        help="port of the HTTP server, webhook and /healthz (default: SAPA_LISTEN_PORT; "
        "8080 with a webhook; when polling, /healthz is served only if a port is given)",
    )
    run_parser.set_defaults(handler=run)


def run(settings: Settings, t: Translator, args: argparse.Namespace) -> int:
    """`sapa run`: long polling, or a webhook with `--webhook URL`; stops on SIGTERM or Ctrl-C."""
    import asyncio

    from telegram.error import InvalidToken

    from bot.runtime.runner import (
        DEFAULT_WEBHOOK_PORT,
        AlreadyRunning,
        CannotListen,
        DatabaseLock,
        Listener,
        Webhook,
        lock_database,
    )
    from storage.store import DatabaseUnreachable

    if settings.telegram_bot_token is None:
        print(missing_token_message(t), file=sys.stderr)
        return EXIT_CONFIG
    if settings.token_problem is not None:
        print(settings.token_problem, file=sys.stderr)
        return EXIT_CONFIG
    webhook_url = args.webhook or settings.webhook_url
    webhook = Webhook.from_settings(settings, webhook_url) if webhook_url else None
    host = args.host or settings.listen_host
    port = args.port or settings.listen_port
    if webhook is not None and port is None:
        port = DEFAULT_WEBHOOK_PORT
    listener = Listener(host, port) if port is not None else None
    # One bot per SQLite file: a second would send the whole outbox again and answer every
    # update twice. PostgreSQL replicas share the work safely and take no such lock.
    database = settings.sqlite_path
    lock: DatabaseLock | None = None
    try:
        if database is not None and str(database) != ":memory:":
            lock = lock_database(database)
    except AlreadyRunning as error:
        print(
            t(
                "Another Sapa RTS is already running on this database ({path}); stop it first."
            ).format(path=error.database),
            file=sys.stderr,
        )
        return EXIT_CONFIG
    except OSError as error:  # the folder does not exist, say: the database cannot be opened
        raise DatabaseUnreachable(error.strerror or str(error)) from error
    try:
        return asyncio.run(_serve(settings, webhook, listener))
    except InvalidToken:
        print(
            t(
                "Telegram refused the token in TELEGRAM_BOT_TOKEN; copy it again from @BotFather "
                "(or check SAPA_BOT_API_URL if you use your own Bot API server)."
            ),
            file=sys.stderr,
        )
        return EXIT_CONFIG
    except CannotListen as error:
        print(
            t(
                "Cannot listen on {host}:{port} ({reason}); set SAPA_LISTEN_PORT to a free port."
            ).format(host=error.listener.host, port=error.listener.port, reason=error.reason),
            file=sys.stderr,
        )
        return EXIT_CONFIG
    finally:
        if lock is not None:
            lock.release()


async def _serve(settings: Settings, webhook: Webhook | None, listener: Listener | None) -> int:
    import asyncio
    import signal

    from bot.runtime.app import Services, build_application
    from bot.runtime.nik_key import resolve_nik_key
    from bot.runtime.runner import serve
    from bot.texts.i18n import Translations
    from storage.store import Store

    store = await Store.open(settings.database_url)
    try:
        settings = await resolve_nik_key(settings, store)  # inside the database lock
    except BaseException:
        await store.close()
        raise
    services = Services(
        settings=settings, store=store, translations=Translations(settings.default_language)
    )
    application = build_application(services, jobs=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    log.info("bot_starting database=%s", settings.database_url.split("://")[0])
    try:
        await serve(application, services, stop, webhook=webhook, listener=listener)
    finally:
        await store.close()
    return EXIT_OK


def missing_token_message(t: Translator) -> str:
    return t(
        "TELEGRAM_BOT_TOKEN is not set. Get a token from @BotFather in Telegram, then put it in "
        "a file named .env in this folder (copy .env.example and fill in TELEGRAM_BOT_TOKEN=...). "
        "Without a token you can still try `sapa demo` and `sapa console`."
    )
