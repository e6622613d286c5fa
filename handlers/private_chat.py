"""Private chats only, active accounts only: the gate every update passes first, and what the
bot does when its own membership in a chat changes.

Household and staff features exist in private chats only. In a group, supergroup or channel the
bot answers a command or a mention with one line and a button to the private chat, and nothing
else: no personal data is shown, no input is read, no link code or invite is made. When it is
added to such a chat it says that line once and leaves. In a private chat, a user who blocks the
bot becomes unreachable at once (and reachable again when they unblock it).

A staff account whose record was deactivated in the registry is refused everything at once; a
household account whose household left the programme keeps only /start, /putus, /bahasa and
/bantuan (which say so, unlink, or change the language).
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING

from telegram import (
    Chat,
    ChatMember,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import MessageEntityType
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop

from bot.domain.models import Role
from bot.services.reachability import set_reachable
from handlers.common import apologise, visit

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext

log = logging.getLogger(__name__)

_PRESENT = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.RESTRICTED, ChatMember.OWNER)


def private_only_line(context: SapaContext) -> tuple[str, InlineKeyboardMarkup | None]:
    """The one line said outside private chats (in the deployment's default language, since a
    group has no language of its own), with a button that opens the private chat."""
    t = context.services.translations.for_language(None)
    text = t("Sapa RTS only serves you in a private chat. Please open a private chat with the bot.")
    username = _username(context)
    if not username:
        return text, None
    button = InlineKeyboardButton(t("Open private chat"), url=f"https://t.me/{username}")
    return text, InlineKeyboardMarkup([[button]])


async def gate(update: Update, context: SapaContext) -> None:
    """Let updates from private chats through; stop every other one here.

    Runs before every other handler. Updates of kinds we do not serve (channel posts, inline
    queries, buttons on inline messages) are dropped quietly; a command or a mention of the bot
    in a group gets the one line; a button pressed in a group is answered, never acted on.
    """
    chat = update.effective_chat
    if chat is not None and chat.type == Chat.PRIVATE and update.effective_user is not None:
        await _active_accounts_only(update, context)
        return
    query = update.callback_query
    if query is not None:
        text, _markup = private_only_line(context)
        with contextlib.suppress(TelegramError):
            await query.answer(text if chat is not None else None, show_alert=chat is not None)
    elif chat is not None and update.message is not None and _addressed_to_bot(update, context):
        text, markup = private_only_line(context)
        with contextlib.suppress(TelegramError):
            await chat.send_message(text, reply_markup=markup)
    log.info(
        "update_outside_private_chat chat_type=%s kind=%s",
        chat.type if chat is not None else "none",
        _kind(update),
    )
    raise ApplicationHandlerStop


_INACTIVE_HOUSEHOLD_MAY = {"start", "putus", "bahasa", "bantuan", "help"}


async def _active_accounts_only(update: Update, context: SapaContext) -> None:
    """Refuse an account the registry has deactivated, whatever it asks, before anything runs."""
    assert update.effective_user is not None
    try:
        person = (await visit(update, context)).person  # kept for the handlers after this one
    except Exception as error:
        log.error("account_check_failed error=%s", type(error).__name__)
        await apologise(update, context)
        raise ApplicationHandlerStop from None
    if person is None or person.active:
        return
    if person.role is Role.HOUSEHOLD and _inactive_household_may(update):
        return
    t = context.services.translations.for_language(person.language)
    if person.role is Role.HOUSEHOLD:
        text = t(
            "Your household is no longer active in the programme, so this is not available. "
            "If you think this is a mistake, please contact your companion or the kecamatan "
            "office."
        )
    else:
        text = t(
            "This staff account is no longer active in Sapa RTS. If you think this is a "
            "mistake, please contact the district team."
        )
    log.info("inactive_account_refused role=%s person=%s", person.role.value, person.id)
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()
    assert update.effective_chat is not None
    await update.effective_chat.send_message(text)
    raise ApplicationHandlerStop


def _inactive_household_may(update: Update) -> bool:
    message = update.message
    if update.callback_query is not None:
        return (update.callback_query.data or "").startswith("lang:")
    if message is None or not message.text or not message.text.startswith("/"):
        return False
    command = message.text[1:].split(maxsplit=1)[0].split("@", 1)[0].casefold()
    return command in _INACTIVE_HOUSEHOLD_MAY


async def membership_changed(update: Update, context: SapaContext) -> None:
    """`my_chat_member`: the bot was added to a chat, removed, blocked or unblocked."""
    change = update.my_chat_member
    assert change is not None
    chat = change.chat
    if chat.type == Chat.PRIVATE:
        await _blocked_or_unblocked(change, context)
    elif _was_added(change):
        log.info("added_to_chat chat_type=%s action=leave", chat.type)
        text, markup = private_only_line(context)
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(chat.id, text, reply_markup=markup)
        with contextlib.suppress(TelegramError):
            await context.bot.leave_chat(chat.id)
    raise ApplicationHandlerStop


async def _blocked_or_unblocked(change: ChatMemberUpdated, context: SapaContext) -> None:
    blocked = change.new_chat_member.status in (ChatMember.BANNED, ChatMember.LEFT)
    services = context.services
    known = await set_reachable(services.store, change.from_user.id, not blocked)
    log.info("private_chat_%s known_person=%s", "blocked" if blocked else "unblocked", known)


def _was_added(change: ChatMemberUpdated) -> bool:
    return (
        change.new_chat_member.status in _PRESENT and change.old_chat_member.status not in _PRESENT
    )


def _addressed_to_bot(update: Update, context: SapaContext) -> bool:
    """A command, a mention of the bot, or a reply to one of its messages."""
    message = update.message
    assert message is not None
    replied_to = message.reply_to_message
    author = replied_to.from_user if replied_to is not None else None
    if author is not None and author.id == context.bot.id:
        return True
    kinds = {entity.type for entity in message.entities or ()}
    if MessageEntityType.BOT_COMMAND in kinds:
        return True
    username = _username(context)
    return bool(username and f"@{username}".casefold() in (message.text or "").casefold())


def _username(context: SapaContext) -> str | None:
    try:
        return context.bot.username
    except RuntimeError:  # the bot was not initialised (getMe never answered)
        return None


def _kind(update: Update) -> str:
    for kind in ("message", "edited_message", "channel_post", "callback_query", "inline_query"):
        if getattr(update, kind, None) is not None:
            return kind
    return "other"
