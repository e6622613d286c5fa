"""The household menu (a reply keyboard) and the bot's command list, in each language."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from telegram import BotCommand, KeyboardButton, ReplyKeyboardMarkup
from telegram.ext import filters

from bot.settings import SUPPORTED_LANGUAGES
from bot.texts.i18n import N_, Translations, Translator


class MenuAction(StrEnum):
    REPORT = "report"
    COMPLAIN = "complain"
    SCHEDULE = "schedule"
    STATUS = "status"
    LANGUAGE = "language"
    HELP = "help"


MENU_LABELS = {
    MenuAction.REPORT: N_("Report posyandu visit"),
    MenuAction.COMPLAIN: N_("Complaint"),
    MenuAction.SCHEDULE: N_("My schedule"),
    MenuAction.STATUS: N_("Complaint status"),
    MenuAction.LANGUAGE: N_("Language"),
    MenuAction.HELP: N_("Help"),
}

# The commands shown in Telegram's command menu, with their descriptions.
COMMANDS: list[tuple[str, str]] = [
    ("start", N_("Start, or link your household")),
    ("hadir", N_("Report a posyandu visit")),
    ("keluhan", N_("Send a complaint")),
    ("jadwal", N_("Next posyandu day and payout")),
    ("pengingat", N_("Turn posyandu reminders off or on")),
    ("status", N_("Status of your complaints")),
    ("bahasa", N_("Choose the language")),
    ("bantuan", N_("Help")),
    ("batal", N_("Cancel what you are doing")),
    ("putus", N_("Unlink this Telegram from the household")),
    ("datasaya", N_("What the programme holds about your household")),
    ("hapusdata", N_("Ask to erase your household's chat data")),
]

LANGUAGE_NAMES = {"id": "Bahasa Indonesia", "en": "English", "su": "Basa Sunda"}


@lru_cache(maxsize=16)
def menu_keyboard(t: Translator) -> ReplyKeyboardMarkup:
    """The menu in `t`'s language. Built once per language (a Telegram object cannot be changed
    once made): building it was a tenth of a `/start`."""
    label = {action: t(msgid) for action, msgid in MENU_LABELS.items()}
    rows = [
        [label[MenuAction.REPORT], label[MenuAction.COMPLAIN]],
        [label[MenuAction.SCHEDULE], label[MenuAction.STATUS]],
        [label[MenuAction.LANGUAGE], label[MenuAction.HELP]],
    ]
    return ReplyKeyboardMarkup(
        [[KeyboardButton(text) for text in row] for row in rows],
        resize_keyboard=True,
        is_persistent=True,
    )


def menu_filter(action: MenuAction, translations: Translations) -> filters.BaseFilter:
    """Matches the button's label in any language (the user may have just switched)."""
    labels = {translations.for_language(lang)(MENU_LABELS[action]) for lang in SUPPORTED_LANGUAGES}
    return filters.Text(sorted(labels))


def bot_commands(t: Translator) -> list[BotCommand]:
    return [BotCommand(command, t(description)) for command, description in COMMANDS]
