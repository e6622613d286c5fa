"""Complaints from the staff side (take over, reply, resolve, open one, the list of waiting ones,
with what the household sent: its photo, its voice note, its answers) and the household's answer
to "Is the problem solved?"."""

from __future__ import annotations

import contextlib
import logging
from html import escape
from typing import TYPE_CHECKING, Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest

from bot.domain.buttons import CompanionAction, ComplaintSolved, decode, encode
from bot.domain.models import AttachmentKind, Complaint, ComplaintStatus, Role
from bot.services.complaint_handling import (
    OPEN,
    ComplaintCard,
    HandlingOutcome,
    card_of,
    confirm_solved,
    mark_resolved,
    may_reply,
    reply_to_household,
    take_over,
    waiting_list,
)
from bot.services.complaints import MAX_TEXT_LENGTH, ComplaintPolicy, TextProblem, text_problem
from bot.texts.i18n import Translator
from bot.texts.labels import category_label, level_label, status_label
from handlers.common import (
    END,
    Visitor,
    linked_household,
    refuse,
    reply,
    send_with_picture,
    stale_button,
    take_button,
    too_long,
    visit,
)
from handlers.complaints import message_line, told_text, when
from handlers.flow import end_flow, start_flow
from handlers.menu import menu_keyboard
from handlers.steps import Step, StepResult, flow_step

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext

log = logging.getLogger(__name__)

FLOW = "rpl"
REPLY_TEXT = "rpl_text"
STAFF_ROLES_HANDLING = (Role.COMPANION, Role.COORDINATOR, Role.ADMIN)
LIST_LIMIT = 10
SHOWN_MESSAGES = 4  # the latest replies and answers on a complaint's card


def _policy(context: SapaContext) -> ComplaintPolicy:
    return ComplaintPolicy.from_settings(context.services.settings)


async def _refused(
    update: Update, visitor: Visitor, outcome: HandlingOutcome, complaint: Complaint | None = None
) -> int:
    t = visitor.t
    if outcome is HandlingOutcome.NOT_OPEN:
        await reply(update, t("This complaint is already resolved or closed."))
    elif outcome is HandlingOutcome.WENT_UP and complaint is not None:
        await reply(
            update,
            t(
                "Complaint {ticket} is now handled by the {level}. You can follow it in "
                "/keluhanmasuk, but no longer act on it."
            ).format(ticket=complaint.ticket_code, level=level_label(complaint.level, t)),
        )
    else:
        await refuse(update, t, "complaint", visitor.person)
    return END


async def staff_button(update: Update, context: SapaContext) -> str | int:
    assert update.callback_query is not None
    pressed = decode(update.callback_query.data)
    if not isinstance(pressed, CompanionAction):
        return await stale_button(update, context)
    await take_button(update)
    visitor = await visit(update, context)
    person = visitor.person
    if person is None or person.role not in STAFF_ROLES_HANDLING:
        return await _refused(update, visitor, HandlingOutcome.NOT_ALLOWED)
    complaint_id, action = pressed.complaint_id, pressed.action
    store, now, t = context.services.store, context.services.clock(), visitor.t
    if action == "view":
        outcome, card = await card_of(store, person, complaint_id)
        if outcome is not HandlingOutcome.DONE or card is None:
            return await _refused(update, visitor, outcome)
        take_label = t("Mark in progress") if person.role is Role.COMPANION else t("Take over")
        await _show_card(update, context, card, t, take_label)
        return END
    if action == "take":
        outcome, complaint = await take_over(store, person, complaint_id, now=now)
        if outcome is HandlingOutcome.DONE and complaint is not None:
            await reply(
                update,
                t("You are now handling complaint {ticket}.").format(ticket=complaint.ticket_code),
                _card_buttons(complaint.id, t, take_label=None),  # what is left to do
            )
            return END
        return await _refused(update, visitor, outcome, complaint)
    if action == "resolve":
        outcome, complaint = await mark_resolved(store, person, complaint_id, now=now)
        if outcome is HandlingOutcome.DONE and complaint is not None:
            await reply(
                update,
                t(
                    "Complaint {ticket} is marked resolved. The household will be "
                    "asked whether the problem is solved."
                ).format(ticket=complaint.ticket_code),
            )
            return END
        return await _refused(update, visitor, outcome, complaint)
    # reply: check now, then wait for the text
    outcome, complaint = await may_reply(store, person, complaint_id)
    if outcome is not HandlingOutcome.DONE or complaint is None:
        return await _refused(update, visitor, outcome, complaint)
    flow = start_flow(context.user_data if context.user_data is not None else {}, FLOW)
    flow.draft["complaint_id"] = complaint_id
    await reply(
        update,
        t(
            "Type your answer to the household for {ticket} (up to {limit} "
            "characters), or send /batal."
        ).format(ticket=complaint.ticket_code, limit=MAX_TEXT_LENGTH),
    )
    return REPLY_TEXT


@flow_step(FLOW, staff=True)
async def reply_text(update: Update, context: SapaContext, step: Step) -> StepResult:
    flow, visitor = step.flow, step.visitor
    assert update.effective_message is not None and visitor.person is not None
    text = (update.effective_message.text or "").strip()
    t = visitor.t
    problem = text_problem(text)
    if problem is TextProblem.NO_WORDS:
        await reply(update, t("Please describe the problem in words, so that we can help."))
        return REPLY_TEXT
    if problem is TextProblem.TOO_LONG:
        await too_long(update, t, MAX_TEXT_LENGTH)
        return REPLY_TEXT
    outcome, complaint = await reply_to_household(
        context.services.store,
        visitor.person,
        int(flow.draft["complaint_id"]),
        text,
        now=context.services.clock(),
    )
    end_flow(context.user_data or {})
    if outcome is not HandlingOutcome.DONE or complaint is None:
        return await _refused(update, visitor, outcome, complaint)
    await reply(
        update,
        t("Your answer was sent to the household and added to the history of {ticket}.").format(
            ticket=complaint.ticket_code
        ),
    )
    return END


async def household_confirms(update: Update, context: SapaContext) -> int:
    assert update.callback_query is not None
    pressed = decode(update.callback_query.data)
    if not isinstance(pressed, ComplaintSolved):
        return await stale_button(update, context)
    await take_button(update)  # its spinner stops whatever the answer
    visitor = await linked_household(update, context)
    if visitor is None or visitor.person is None or visitor.household is None:
        return END
    outcome, complaint = await confirm_solved(
        context.services.store,
        visitor.person,
        visitor.household,
        pressed.complaint_id,
        pressed.answer == "yes",
        now=context.services.clock(),
        policy=_policy(context),
    )
    t = visitor.t
    if outcome is HandlingOutcome.NOT_ALLOWED:
        return await stale_button(update, context)
    still_handled = complaint is not None and complaint.status is ComplaintStatus.OPEN
    if outcome is HandlingOutcome.NOT_OPEN and still_handled:
        await reply(
            update,
            t(
                "This complaint is still being handled. We will ask you again when it has been "
                "answered."
            ),
            menu_keyboard(t),
        )
    elif outcome is HandlingOutcome.NOT_OPEN:
        await reply(
            update, t("Thank you, this complaint has already been answered."), menu_keyboard(t)
        )
    elif pressed.answer == "yes":
        await reply(update, t("Thank you! The complaint is closed."), menu_keyboard(t))
    else:
        await reply(
            update,
            t(
                "We are sorry. The complaint is open again, and the kecamatan "
                "coordinator has been told."
            ),
            menu_keyboard(t),
        )
    return END


async def waiting_command(update: Update, context: SapaContext) -> int:
    """/keluhanmasuk: the complaints waiting on this staff member, each with its buttons; for a
    companion, then her households' complaints handled above her, read-only."""
    end_flow(context.user_data or {})
    visitor = await visit(update, context)
    person, t = visitor.person, visitor.t
    if person is None or person.role not in STAFF_ROLES_HANDLING or person.staff_id is None:
        return await _refused(update, visitor, HandlingOutcome.NOT_ALLOWED)
    waiting = await waiting_list(context.services.store, person)
    if waiting is None:
        return await _refused(update, visitor, HandlingOutcome.NOT_ALLOWED)
    if not waiting.mine:
        await reply(update, t("No complaints are waiting for you."))
    else:
        await reply(
            update, t("Complaints waiting for you: {count}").format(count=len(waiting.mine))
        )
    # The companion's own complaints: "take" only says she is on it; a coordinator takes over.
    take_label = t("Mark in progress") if person.role is Role.COMPANION else t("Take over")
    for card in waiting.mine[:LIST_LIMIT]:
        await _show_card(update, context, card, t, take_label)
    if waiting.went_up:
        await reply(
            update,
            t("Your households' complaints now handled above you: {count}").format(
                count=len(waiting.went_up)
            ),
        )
        for card in waiting.went_up[:LIST_LIMIT]:
            await _show_card(update, context, card, t, take_label)
    return END


async def _show_card(
    update: Update, context: SapaContext, card: ComplaintCard, t: Translator, take_label: str
) -> None:
    """One complaint: its card (with the household's photo), then what else the household sent
    (the voice note of the complaint, the photos and voice notes of its answers). A complaint
    only followed (gone up a level) has no buttons."""
    settings = context.services.settings
    complaint, zone, now = card.complaint, settings.zone, context.services.clock()
    deadline = t.long_date(complaint.deadline_at.astimezone(zone).date())
    late = t(" (OVERDUE)") if complaint.deadline_at <= now else ""
    lines = [
        f"<b>{complaint.ticket_code}</b> · {escape(card.program_number)} · "
        f"{category_label(complaint.category, t)}",
    ]
    if card.followed_only:
        lines.append(t("Now handled by the {level}.").format(level=level_label(complaint.level, t)))
    if complaint.assisted_role is not None:
        lines.append(_filed_for(complaint.assisted_role, card.filed_by_staff, t))
    lines += [
        t("Status: {status}").format(status=status_label(complaint.status, t)),
        t("Deadline: {date}").format(date=deadline) + late,
        f"<i>{escape(told_text(complaint.text, t))}</i>",
    ]
    shown = card.messages[-SHOWN_MESSAGES:]
    lines += [message_line(event, t, zone, t("Household")) for event in shown]
    text = "\n".join(lines)
    buttons = None
    if not card.followed_only and complaint.status in OPEN:
        open_now = complaint.status is ComplaintStatus.OPEN
        buttons = _card_buttons(complaint.id, t, take_label if open_now else None)
    if complaint.photo_file_id:  # the household's photo, with the card
        await send_with_picture(update, complaint.photo_file_id, text, buttons, t)
    else:
        await reply(update, text, buttons)
    if complaint.voice_file_id:
        caption = t("Voice note of complaint {ticket}").format(ticket=complaint.ticket_code)
        await _send_file(update, AttachmentKind.VOICE, complaint.voice_file_id, caption, t)
    for event in shown:
        if event.file_id is not None and event.file_kind is not None:
            caption = t("The household's answer on {ticket}, {when}").format(
                ticket=complaint.ticket_code, when=when(event.at, t, zone)
            )
            await _send_file(update, event.file_kind, event.file_id, caption, t)


def _filed_for(role: Role, name: str | None, t: Translator) -> str:
    """Who filed the complaint for the household, when staff did (/keluhanuntuk)."""
    shown = escape(name or "?")
    if role is Role.HEALTH_WORKER:
        return t("Filed for the household by health worker {name}").format(name=shown)
    return t("Filed for the household by companion {name}").format(name=shown)


async def _send_file(
    update: Update, kind: AttachmentKind, file_id: str, caption: str, t: Translator
) -> None:
    """A photo, image file or voice note the household sent, by its file id; one that cannot be
    shown any more is named as such (the list goes on)."""
    assert update.effective_chat is not None
    chat = update.effective_chat
    with contextlib.suppress(BadRequest):
        if kind is AttachmentKind.VOICE:
            await chat.send_voice(file_id, caption=caption)
        elif kind is AttachmentKind.PHOTO:
            await chat.send_photo(file_id, caption=caption)
        else:
            await chat.send_document(file_id, caption=caption)
        return
    log.info("attachment_not_shown kind=%s", kind.value)
    await reply(update, caption + "\n" + t("(It cannot be shown any more.)"))


def _card_buttons(complaint_id: int, t: Translator, take_label: str | None) -> InlineKeyboardMarkup:
    """A complaint card's buttons; "take" only while nobody has taken it."""
    rows = [
        [
            InlineKeyboardButton(
                t("Reply to the household"), callback_data=_card(complaint_id, "reply")
            )
        ],
        [InlineKeyboardButton(t("Mark resolved"), callback_data=_card(complaint_id, "resolve"))],
    ]
    if take_label is not None:
        rows.insert(
            0, [InlineKeyboardButton(take_label, callback_data=_card(complaint_id, "take"))]
        )
    return InlineKeyboardMarkup(rows)


def _card(complaint_id: int, action: Literal["take", "reply", "resolve", "view"]) -> str:
    return encode(CompanionAction(complaint_id, action))
