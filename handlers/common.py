"""Handlers every user meets: /start, /bantuan, unknown input, and the error handler."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.i18n import Translator

if TYPE_CHECKING:
    from bot.app import SapaApplication, SapaContext

log = logging.getLogger(__name__)


async def translator_for(update: Update, context: SapaContext) -> Translator:
    """The user's language: their stored choice, else the deployment's default."""
    services = context.services
    language = None
    if update.effective_user is not None:
        async with services.store.read() as repo:
            person = await repo.people.by_telegram_id(update.effective_user.id)
        language = person.language if person else None
    return services.translations.for_language(language)


async def start(update: Update, context: SapaContext) -> None:
    t = await translator_for(update, context)
    assert update.effective_message is not None
    text = "\n\n".join(
        [
            t("Welcome to <b>Sapa RTS</b>, the Jamsosratu programme's assistant."),
            t(
                "This bot is run by the Jamsosratu programme team of the district. It helps your "
                "household report posyandu visits, send complaints and see payout dates."
            ),
            t(
                "We keep your household's programme data, your Telegram ID and what you send us, "
                "only to run the programme, as the Personal Data Protection Law (UU PDP) requires."
            ),
        ]
    )
    await update.effective_message.reply_text(text, parse_mode=ParseMode.HTML)


async def help_command(update: Update, context: SapaContext) -> None:
    t = await translator_for(update, context)
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        t("Send /start to begin. Ask your companion (pendamping) if you need help.")
    )


async def unknown(update: Update, context: SapaContext) -> None:
    t = await translator_for(update, context)
    assert update.effective_message is not None
    await update.effective_message.reply_text(
        t("Sorry, I did not understand that. Send /bantuan to see what I can do.")
    )


async def on_error(update: object, context: SapaContext) -> None:
    # Never log the update itself: it contains what the user wrote.
    error = context.error
    log.error("handler_failed error=%s", type(error).__name__, exc_info=error)
    if isinstance(update, Update) and update.effective_message is not None:
        t = await translator_for(update, context)
        await update.effective_message.reply_text(
            t("Sorry, something went wrong on our side. Please try again in a moment.")
        )


def register(application: SapaApplication) -> None:
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler(["bantuan", "help"], help_command))
    application.add_handler(MessageHandler(filters.ALL, unknown))
    application.add_error_handler(on_error)
