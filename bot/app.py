"""The Application factory: builds the python-telegram-bot Application and wires our services."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from telegram.constants import ParseMode
from telegram.ext import Application, CallbackContext, ContextTypes, Defaults, ExtBot
from telegram.request import BaseRequest

from bot.clock import Clock, utc_now
from bot.i18n import Translations
from bot.settings import Settings
from storage.store import Store


@dataclass
class Services:
    """What handlers and jobs need, created once per process."""

    settings: Settings
    store: Store
    translations: Translations
    clock: Clock = utc_now


class SapaContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """The callback context with our services as properties (`context.services.store`)."""

    @property
    def services(self) -> Services:
        return cast(Services, self.application.bot_data["services"])


SapaApplication = Application[
    ExtBot[None], SapaContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]


def build_application(
    services: Services, *, request: BaseRequest | None = None, token: str | None = None
) -> SapaApplication:
    """The bot, its handlers and services; `request` replaces the HTTP edge in tests."""
    from handlers import routes

    settings = services.settings
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
    )
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    application = cast(SapaApplication, builder.build())
    application.bot_data["services"] = services
    routes.register(application)
    return application
