"""What every handler needs: who the user is (and in which language), replies, and the handlers
every user meets: help, language, unknown input, old buttons, errors."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from html import escape
from typing import TYPE_CHECKING

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, TelegramError
from telegram.ext import ConversationHandler

from bot.domain.buttons import Language, decode, encode
from bot.domain.greetings import is_greeting
from bot.domain.models import Household, Person, Role
from bot.services.assisted import assisted_household, may_assist
from bot.services.linking import looks_like_program_number
from bot.settings import SUPPORTED_LANGUAGES
from bot.texts.i18n import Translator
from bot.texts.message_parts import split_text
from handlers.flow import FOR_HOUSEHOLD, Flow, current_flow, end_flow
from handlers.menu import LANGUAGE_NAMES, menu_keyboard

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext

log = logging.getLogger(__name__)

CAPTION_LIMIT = 1024  # Telegram's limit for a photo's or file's caption

Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove
END = ConversationHandler.END


@dataclass(frozen=True)
class Visitor:
    """The user behind an update: their person record and household, if any, and their language."""

    user_id: int
    person: Person | None
    household: Household | None
    t: Translator

    @property
    def is_household(self) -> bool:
        return self.person is not None and self.person.role is Role.HOUSEHOLD


async def visit(update: Update, context: SapaContext, *, fresh: bool = False) -> Visitor:
    """Who is writing: read once per update and kept on the context (in a private chat the update
    processor has read it already, with the user's flow, in one transaction); `fresh` reads
    again, after this update changed the person (linked, chose a language)."""
    services = context.services
    assert update.effective_user is not None
    user_id = update.effective_user.id
    known = context.visitor
    if known is not None and known.user_id == user_id and not fresh:
        return known
    async with services.store.read() as repo:
        person, household = await repo.people.with_household(user_id)
    t = services.translations.for_language(person.language if person else None)
    context.visitor = Visitor(user_id, person, household, t)
    return context.visitor


async def translator_for(update: Update, context: SapaContext) -> Translator:
    """The user's language: their stored choice, else the deployment's default."""
    return (await visit(update, context)).t


async def reply(update: Update, text: str, markup: Markup | None = None) -> Message:
    """Answer in the user's chat (HTML; escape anything the user or the database wrote).

    A text longer than Telegram takes (4096 characters) goes in several messages, cut at line
    ends (`split_text`); the buttons come with the last one, which is returned."""
    assert update.effective_chat is not None
    parts = split_text(text)
    for part in parts[:-1]:
        await update.effective_chat.send_message(part)
    return await update.effective_chat.send_message(parts[-1], reply_markup=markup)


def picture_of(update: Update) -> str | None:
    """The file id of the picture in this message: a photo (its largest size), or an image sent
    "as a file" (a document)."""
    message = update.effective_message
    if message is None:
        return None
    if message.photo:
        return message.photo[-1].file_id
    if message.document is not None:
        return message.document.file_id
    return None


async def send_with_picture(
    update: Update, file_id: str, text: str, markup: Markup | None, t: Translator
) -> None:
    """`text` with the picture a household sent: as a photo, or as a file when it was sent "as a
    file" (Telegram refuses a document's id as a photo). A text too long for a caption goes
    after the picture. A picture that cannot be shown at all is named as such, and the text
    still goes out, so one bad item never stops a list."""
    assert update.effective_chat is not None
    chat = update.effective_chat
    caption, rest = (text, None) if len(text) <= CAPTION_LIMIT else (None, text)
    for send in (chat.send_photo, chat.send_document):
        with contextlib.suppress(BadRequest):
            await send(file_id, caption=caption, reply_markup=None if rest else markup)
            break
    else:
        log.info("picture_not_shown")
        await reply(update, text + "\n" + t("(The proof photo cannot be shown.)"), markup)
        return
    if rest is not None:
        await reply(update, rest, markup)


async def too_long(update: Update, t: Translator, limit: int) -> None:
    """A typed text over `limit` characters: ask for a shorter one (what it was is not lost,
    it is still in the user's chat to copy and shorten)."""
    await reply(
        update,
        t(
            "Your message is too long. Please shorten it to at most {limit} characters and send "
            "it again."
        ).format(limit=t.number(limit)),
    )


async def take_button(update: Update) -> str | None:
    """Acknowledge a button press and remove the buttons, so it cannot be pressed twice."""
    query = update.callback_query
    if query is None:
        return None
    await query.answer()
    # A message too old to edit, or without buttons left, has nothing to remove.
    with contextlib.suppress(BadRequest):
        await query.edit_message_reply_markup(reply_markup=None)
    return query.data


async def linked_household(update: Update, context: SapaContext) -> Visitor | None:
    """The visitor when they are linked to an active household; otherwise say why not."""
    visitor = await visit(update, context)
    t = visitor.t
    if visitor.household is None:
        if visitor.person is not None and not visitor.is_household:
            await reply(update, t("This command is for households in the programme."))
        else:
            await reply(
                update,
                t(
                    "This Telegram account is not linked to a household yet. "
                    "Send /start to link it with your programme number."
                ),
            )
        return None
    if not visitor.household.active:
        await reply(
            update,
            t(
                "Your household is no longer active in the programme, so this is not available. "
                "If you think this is a mistake, please contact your companion or the kecamatan "
                "office."
            ),
            ReplyKeyboardRemove(),
        )
        return None
    return visitor


def home_markup(visitor: Visitor) -> Markup | None:
    """The menu keyboard for linked households; nothing for others (staff reporting for a
    household included)."""
    return (
        menu_keyboard(visitor.t) if visitor.household is not None and visitor.is_household else None
    )


async def help_command(update: Update, context: SapaContext) -> int:
    end_flow(context.user_data or {})
    visitor = await visit(update, context)
    t = visitor.t
    if visitor.person is not None and visitor.person.role is not Role.HOUSEHOLD:
        text = "\n".join([t("What you can do here:"), *staff_help(visitor.person.role, t)])
    elif visitor.household is None:
        text = t(
            "Send /start to link this Telegram to your household with your programme number. "
            "Ask your companion (pendamping) if you need help."
        )
    else:
        text = "\n".join(
            [
                t("What I can do for your household:"),
                t("• /hadir: report a posyandu visit, with a photo of the KMS or buku KIA"),
                t("• /keluhan: send a complaint and get a ticket code"),
                t("• /status: see your complaints"),
                t("• /jadwal: next posyandu day and payout"),
                t("• /pengingat: turn the posyandu reminders off or on"),
                t("• /bahasa: choose the language"),
                t("• /batal: cancel what you are doing"),
                t("• /putus: unlink this Telegram from the household"),
                t("• /datasaya: see what the programme holds about your household"),
                t("• /hapusdata: ask to erase your household's Telegram link and chat data"),
            ]
        )
    await reply(update, text, home_markup(visitor))
    return END


def staff_help(role: Role, t: Translator) -> list[str]:
    """The commands of each staff role, one line each."""
    lines = {
        Role.COMPANION: [
            t("• /rumahtangga: your households, with filters"),
            t("• /verifikasi: attendance reports waiting for you"),
            t("• /keluhanmasuk: complaints waiting for you"),
            t("• /kodetautan RTS-…: a one-time link code for a household"),
            t("• /kelahiran RTS-… 30/11/2026 Name: record a birth"),
            t("• /kehamilan RTS-… 20/06/2027 Name: record a new pregnancy"),
            t("• /hadiruntuk RTS-…: report a posyandu visit for a household"),
            t("• /keluhanuntuk RTS-…: file a complaint for a household"),
            t("• /tindaklanjut: households to follow up, and what you did"),
            t("• /antrean [2026-T4]: your households' payout queue times, with a file to print"),
        ],
        Role.COORDINATOR: [
            t("• /rekap [2026-11]: the kecamatan's recap and chart"),
            t("• /ekspor [2026-11]: the recap as a spreadsheet"),
            t("• /ekspor 2026-T4: the verification list of a payout period"),
            t("• /keluhanmasuk: complaints waiting for you"),
            t("• /verifikasi: attendance reports of the kecamatan"),
            t("• /undang KODE: invite a companion or health worker"),
            t("• /sesi: move or cancel a posyandu session"),
            t("• /antrean [2026-T4]: the payout queue list for the post office (XLSX and PDF)"),
        ],
        Role.OPERATOR: [t("• /sesi: move or cancel a posyandu session")],
        Role.HEALTH_WORKER: [
            t("• /konfirmasi: confirm who came to your posyandu session"),
            t("• /kelahiran RTS-… 30/11/2026 Name: record a birth"),
            t("• /kehamilan RTS-… 20/06/2027 Name: record a new pregnancy"),
            t("• /hadiruntuk RTS-…: report a posyandu visit for a household"),
            t("• /keluhanuntuk RTS-…: file a complaint for a household"),
        ],
        Role.ADMIN: [
            t("• /rekap [2026-11]: the district's recap and chart"),
            t("• /ekspor [2026-11]: the recap as a spreadsheet"),
            t("• /ekspor 2026-T4: the verification list of a payout period"),
            t("• /keluhanmasuk: complaints that reached the district"),
            t("• /antrean [2026-T4] [KECAMATAN]: the payout queue lists (XLSX and PDF)"),
        ],
    }
    return [*lines.get(role, []), t("• /bahasa: choose the language")]


async def language_command(update: Update, context: SapaContext) -> int:
    end_flow(context.user_data or {})
    t = await translator_for(update, context)
    buttons = [
        [InlineKeyboardButton(name, callback_data=encode(Language(code)))]
        for code, name in LANGUAGE_NAMES.items()
    ]
    await reply(update, t("Choose your language:"), InlineKeyboardMarkup(buttons))
    return END


async def language_chosen(update: Update, context: SapaContext) -> int:
    assert update.callback_query is not None
    pressed = decode(update.callback_query.data)
    if not isinstance(pressed, Language) or pressed.code not in SUPPORTED_LANGUAGES:
        return await stale_button(update, context)
    language = pressed.code
    await take_button(update)
    services = context.services
    assert update.effective_user is not None
    async with services.store.write() as repo:
        person = await repo.people.by_telegram_id(update.effective_user.id)
        if person is None:
            person = await repo.people.add(
                update.effective_user.id, Role.HOUSEHOLD, services.clock(), language=language
            )
        await repo.people.set_language(person.id, language)
    visitor = await visit(update, context, fresh=True)
    await reply(update, visitor.t("From now on I will write in English."), home_markup(visitor))
    return END


async def cancel(update: Update, context: SapaContext) -> int:
    visitor = await visit(update, context)
    if end_flow(context.user_data or {}):
        text = visitor.t("Cancelled. Nothing was saved.")
    else:
        text = visitor.t("There is nothing to cancel.")
    await reply(update, text, home_markup(visitor))
    return END


async def note_update(_update: Update, context: SapaContext) -> None:
    services = context.services
    services.heartbeat.saw_update(services.clock())


async def stale_button(update: Update, context: SapaContext) -> int:
    """A button from an earlier message, or button data we never made."""
    await take_button(update)
    visitor = await visit(update, context)
    await reply(
        update,
        visitor.t("That button is no longer active. Please start again from the menu."),
        home_markup(visitor),
    )
    return END


async def unknown(update: Update, context: SapaContext) -> None:
    """Whatever no flow and no command took: a greeting is greeted, a voice note is asked to be
    typed, anything else is pointed to /bantuan."""
    visitor = await visit(update, context)
    t = visitor.t
    message = update.effective_message
    text = (message.text or "") if message is not None else ""
    if text and not text.startswith("/") and is_greeting(text):
        await greet(update, visitor)
    elif visitor.person is None and looks_like_program_number(text):
        # A programme number typed outside the linking flow (after a lockout, or a day later).
        await reply(
            update,
            t(
                "To link this Telegram to your household, send /start first, then type your "
                "programme number."
            ),
        )
    elif message is not None and (message.voice or message.audio or message.video_note):
        await reply(
            update,
            t(
                "I cannot listen to voice messages yet. Please type your message, or choose "
                "from the menu."
            ),
        )
    else:
        await reply(
            update, t("Sorry, I did not understand that. Send /bantuan to see what I can do.")
        )


async def greet(update: Update, visitor: Visitor) -> None:
    t = visitor.t
    if visitor.is_household:
        await reply(
            update, t("Hello! How can I help? Choose from the menu below."), menu_keyboard(t)
        )
    elif visitor.person is None:
        await reply(update, t("Hello! Send /start to link this Telegram to your household."))
    else:
        await reply(update, t("Hello! Send /bantuan to see what you can do here."))


async def on_error(update: object, context: SapaContext) -> None:
    # Never log the update itself: it contains what the user wrote.
    error = context.error
    log.error("handler_failed error=%s", type(error).__name__, exc_info=error)
    if isinstance(update, Update):
        await apologise(update, context)


async def apologise(update: Update, context: SapaContext) -> None:
    """Something failed on our side (often the database): stop the button's spinner and ask
    the user to try again, in their language if the database still answers."""
    if update.callback_query is not None:
        with contextlib.suppress(TelegramError):  # the spinner stops, whatever went wrong
            await update.callback_query.answer()
    if update.effective_chat is not None:
        t = await _translator_if_possible(update, context)
        await reply(
            update, t("Sorry, something went wrong on our side. Please try again in a moment.")
        )


async def _translator_if_possible(update: Update, context: SapaContext) -> Translator:
    """The user's language when the database answers quickly; else the deployment's default.
    The apology must not depend on the database: a database outage is often why we apologise."""
    try:
        return await asyncio.wait_for(translator_for(update, context), timeout=2)
    except Exception:
        log.warning("apology_without_language")
        return context.services.translations.for_language(None)


async def flow_and_visitor(
    update: Update, context: SapaContext, kind: str
) -> tuple[Flow, Visitor] | None:
    """The running flow of this kind and its linked household user, or the staff member who
    reports for a household in it (then the visitor carries that household, checked against her
    scope at every step); None ends the flow."""
    flow = current_flow(context.user_data or {}, kind)
    if flow is not None and FOR_HOUSEHOLD in flow.draft:
        visitor = await acting_for(update, context, int(flow.draft[FOR_HOUSEHOLD]))
    else:
        visitor = await linked_household(update, context)
    if flow is None or visitor is None:
        end_flow(context.user_data or {})
        return None
    return flow, visitor


async def acting_for(update: Update, context: SapaContext, household_id: int) -> Visitor | None:
    """The staff visitor, carrying the household she reports for while it is in her scope as
    the registry says now; otherwise a polite refusal (logged) and None."""
    visitor = await visit(update, context)
    person = visitor.person
    household = None
    if person is not None and may_assist(person):
        household = await assisted_household(context.services.store, person, household_id)
    if household is None:
        await refuse_household(update, visitor, household_id)
        return None
    return replace(visitor, household=household)


def for_household_line(visitor: Visitor, flow: Flow) -> list[str]:
    """In the summary of a report or complaint staff make for a household: which household."""
    if FOR_HOUSEHOLD not in flow.draft or visitor.household is None:
        return []
    household = visitor.household
    return [
        visitor.t("For household: {number} ({head})").format(
            number=escape(household.program_number), head=escape(household.head_name)
        )
    ]


async def refuse_household(update: Update, visitor: Visitor, household_id: int | None) -> None:
    """A household outside the staff member's scope, or a number nobody has: one answer for
    both (a number is never confirmed to exist), and a log line with ids only."""
    person = visitor.person
    if person is None or not may_assist(person):
        target = {} if household_id is None else {"household": household_id}
        await refuse(update, visitor.t, "report_for_household", person, **target)
        return
    log.warning(
        "authorization_refused action=report_for_household role=%s person=%s household=%s",
        person.role.value,
        person.id,
        household_id,
    )
    await reply(
        update,
        visitor.t(
            "This household is not in your list, or the programme number is not known. Please "
            "check the number: you can report only for the households you serve."
        ),
    )


async def foreign_button(update: Update, context: SapaContext) -> None:
    """A button press no step of the running flow expects (another flow's, or forged)."""
    await take_button(update)
    await wrong_button(update, context)


async def wrong_button(update: Update, context: SapaContext) -> None:
    """A button of another message (or forged data) during a flow: say so, keep the flow."""
    t = await translator_for(update, context)
    await reply(
        update,
        t(
            "That button is not part of what you are doing now. Please use the buttons of the last "
            "message, or send /batal to stop."
        ),
    )


async def cancelled(update: Update, context: SapaContext, visitor: Visitor) -> int:
    end_flow(context.user_data or {})
    await reply(update, visitor.t("Cancelled. Nothing was saved."), home_markup(visitor))
    return END


async def flow_and_visitor_of_staff(
    update: Update, context: SapaContext, kind: str
) -> tuple[Flow, Visitor] | None:
    """The running flow of this kind and its staff user; None ends the flow."""
    flow = current_flow(context.user_data or {}, kind)
    visitor = await visit(update, context)
    if flow is None or visitor.person is None or visitor.person.staff_id is None:
        end_flow(context.user_data or {})
        return None
    return flow, visitor


async def refuse(
    update: Update, t: Translator, action: str, person: Person | None, **target: int
) -> None:
    """An action outside the user's role or scope: a polite answer, and a log line with who
    asked and what for (ids only, never texts)."""
    user = update.effective_user.id if update.effective_user else None
    role = person.role.value if person is not None else "unregistered"
    person_id = person.id if person is not None else None
    ids = "".join(f" {name}={value}" for name, value in sorted(target.items()))
    log.warning(
        "authorization_refused action=%s role=%s person=%s telegram_user=%s%s",
        action,
        role,
        person_id,
        user,
        ids,
    )
    if update.callback_query is not None:  # the spinner stops on a refused button too
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()
    await reply(update, t("Sorry, you are not allowed to do that."))
