"""The Application factory: builds the python-telegram-bot Application and wires our services."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar, cast

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, CallbackContext, ContextTypes, Defaults, ExtBot
from telegram.request import BaseRequest

from bot.domain.clock import Clock, utc_now
from bot.runtime.health import Heartbeat
from bot.runtime.updates import ConversationKeeper, UsersInOrder
from bot.settings import SUPPORTED_LANGUAGES, Settings
from bot.texts.i18n import Translations
from handlers import routes
from handlers.common import Visitor
from handlers.menu import bot_commands
from jobs.schedule import schedule_jobs
from storage.store import Store, load_repositories

log = logging.getLogger(__name__)

_Result = TypeVar("_Result")


def rendering_process() -> Executor:
    """One worker process, started at the first chart (spawned: no copy of our event loop)."""
    return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))


@dataclass
class Services:
    """What handlers and jobs need, created once per process."""

    settings: Settings
    store: Store
    translations: Translations
    clock: Clock = utc_now
    heartbeat: Heartbeat = field(default_factory=Heartbeat)
    # CPU-heavy rendering (charts, workbooks) runs in a process of its own: a coordinator's
    # recap must not hold up the event loop, and with it every mother writing at that moment.
    # (A thread is not enough: matplotlib holds the GIL for hundreds of milliseconds.)
    renderer: Executor = field(default_factory=rendering_process)

    async def render(self, work: Callable[[], _Result]) -> _Result:
        """Run `work()` (picklable: a module function with its arguments) in the rendering
        process; the event loop serves others meanwhile."""
        return await asyncio.get_running_loop().run_in_executor(self.renderer, work)


class SapaContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context with our services as properties (`context.services.store`), and who
    is writing (`visitor`), loaded once per update by `handlers.common.visit`: PTB makes one
    context per update and hands it to every handler group."""

    def __init__(
        self, application: Any, chat_id: int | None = None, user_id: int | None = None
    ) -> None:
        super().__init__(application, chat_id, user_id)
        self.visitor: Visitor | None = None

    @classmethod
    def from_update(cls, update: object, application: Any) -> SapaContext:
        context = super().from_update(update, application)
        keeper: ConversationKeeper | None = application.bot_data.get("conversations")
        if keeper is not None and isinstance(update, Update):
            context.visitor = keeper.visitor_of(update)  # read with the user's flow
        return context

    @property
    def services(self) -> Services:
        return cast(Services, self.application.bot_data["services"])


SapaApplication = Application[
    ExtBot[None], SapaContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]


def build_application(
    services: Services,
    *,
    request: BaseRequest | None = None,
    token: str | None = None,
    jobs: bool = False,
) -> SapaApplication:
    """The bot, its handlers and services; `request` replaces the HTTP edge in tests.

    `jobs` schedules the planner and the outbox dispatcher (a running bot wants them; tests and
    the console drive them by hand or not at all).
    """
    settings = services.settings
    load_repositories()
    if token is None:
        assert settings.telegram_bot_token is not None
        token = settings.telegram_bot_token.get_secret_value()
    builder = (
        Application.builder()
        .token(token)
        .base_url(settings.bot_api_url)
        .base_file_url(settings.bot_api_url.replace("/bot", "/file/bot"))
        .context_types(ContextTypes(context=SapaContext))
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.zone))
        .concurrent_updates(UsersInOrder(settings.concurrent_updates))
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application = cast(SapaApplication, builder.post_init(announce_commands).build())
    application.bot_data["services"] = services
    conversation = routes.register(application)
    keeper = ConversationKeeper(
        application, conversation, services, timedelta(seconds=settings.flow_timeout_seconds)
    )
    cast(UsersInOrder, application.update_processor).keeper = keeper
    application.bot_data["conversations"] = keeper
    job_queue = application.job_queue
    assert job_queue is not None, "python-telegram-bot[job-queue] is a dependency"
    job_queue.run_repeating(
        end_abandoned_flows,
        interval=min(60.0, max(1.0, settings.flow_timeout_seconds / 4)),
        name="abandoned flows",
        job_kwargs={"max_instances": 1, "coalesce": True},
    )
    if jobs:
        schedule_jobs(application)
    return application


async def end_abandoned_flows(context: SapaContext) -> None:
    keeper: ConversationKeeper = context.application.bot_data["conversations"]
    ended = await keeper.end_abandoned_flows()
    if ended:
        log.info("abandoned_flows_ended count=%s", ended)


async def announce_commands(application: SapaApplication) -> None:
    """Show the command menu in Telegram in each language (and the default one for the rest)."""
    translations: Translations = application.bot_data["services"].translations
    languages: list[str | None] = [None, *SUPPORTED_LANGUAGES]
    for language in languages:
        t = translations.for_language(language)
        try:
            await application.bot.set_my_commands(bot_commands(t), language_code=language)
        except TelegramError as error:
            log.warning("set_commands_failed language=%s error=%s", language, type(error).__name__)
