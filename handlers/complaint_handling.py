"""Complaints from the staff side (take over, reply, resolve, the list of waiting ones) and the
household's answer to "Is the problem solved?"."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Literal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.domain.buttons import CompanionAction, ComplaintSolved, decode, encode
from bot.domain.models import ComplaintStatus, EscalationLevel, Role
from bot.services.complaint_handling import (
    HandlingOutcome,
    confirm_solved,
    mark_resolved,
    may_handle,
    reply_to_household,
    take_over,
)
from bot.services.complaints import MAX_TEXT_LENGTH, ComplaintPolicy, TextProblem, text_problem
from bot.texts.i18n import Translator
from bot.texts.labels import category_label, status_label
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
from handlers.flow import end_flow, start_flow
from handlers.menu import menu_keyboard
from handlers.steps import Step, StepResult, flow_step

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext

FLOW = "rpl"
REPLY_TEXT = "rpl_text"
STAFF_ROLES_HANDLING = (Role.COMPANION, Role.COORDINATOR, Role.ADMIN)
LIST_LIMIT = 10


def _policy(context: SapaContext) -> ComplaintPolicy:
    return ComplaintPolicy.from_settings(context.services.settings)


async def _refused(update: Update, visitor: Visitor, outcome: HandlingOutcome) -> int:
    t = visitor.t
    if outcome is HandlingOutcome.NOT_OPEN:
        await reply(update, t("This complaint is already resolved or closed."))
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
    if action == "take":
        outcome, complaint = await take_over(store, person, complaint_id, now=now)
        if outcome is HandlingOutcome.DONE and complaint is not None:
            await reply(
                update,
                t("You are now handling complaint {ticket}.").format(ticket=complaint.ticket_code),
                _card_buttons(complaint.id, t, take_label=None),  # what is left to do
            )
            return END
        return await _refused(update, visitor, outcome)
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
        return await _refused(update, visitor, outcome)
    # reply: check now, then wait for the text
    async with store.read() as repo:
        complaint = await repo.complaints.get(complaint_id)
        allowed = complaint is not None and await may_handle(repo, person, complaint)
    if not allowed or complaint is None:
        return await _refused(update, visitor, HandlingOutcome.NOT_ALLOWED)
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
        return await _refused(update, visitor, outcome)
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
    visitor = await linked_household(update, context)
    if visitor is None or visitor.person is None or visitor.household is None:
        return END
    await take_button(update)
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
    """/keluhanmasuk: the complaints waiting on this staff member, each with its buttons."""
    end_flow(context.user_data or {})
    visitor = await visit(update, context)
    person, t = visitor.person, visitor.t
    if person is None or person.role not in STAFF_ROLES_HANDLING or person.staff_id is None:
        return await _refused(update, visitor, HandlingOutcome.NOT_ALLOWED)
    zone = context.services.settings.zone
    async with context.services.store.read() as repo:
        staff = await repo.staff.get(person.staff_id)
        if staff is None:
            return await _refused(update, visitor, HandlingOutcome.NOT_ALLOWED)
        if person.role is Role.COMPANION:
            households = [h.id for h in await repo.planning.caseload(staff.id)]
            levels = [EscalationLevel.COMPANION]
        elif person.role is Role.COORDINATOR and staff.kecamatan_id is not None:
            households = list(await repo.planning.active_households(staff.kecamatan_id))
            levels = [EscalationLevel.COMPANION, EscalationLevel.COORDINATOR]
        else:
            households = await repo.planning.all_household_ids()
            levels = [EscalationLevel.DISTRICT]
        waiting = await repo.complaints.waiting_for(households, levels) if households else []
        numbers = await repo.planning.program_numbers(list({c.household_id for c in waiting}))
    now = context.services.clock()
    if not waiting:
        await reply(update, t("No complaints are waiting for you."))
        return END
    await reply(update, t("Complaints waiting for you: {count}").format(count=len(waiting)))
    # The companion's own complaints: "take" only says she is on it; a coordinator takes over.
    take_label = t("Mark in progress") if person.role is Role.COMPANION else t("Take over")
    for complaint in waiting[:LIST_LIMIT]:
        deadline = t.long_date(complaint.deadline_at.astimezone(zone).date())
        number = escape(numbers.get(complaint.household_id, ""))
        category = category_label(complaint.category, t)
        late = t(" (OVERDUE)") if complaint.deadline_at <= now else ""
        text = "\n".join(
            [
                f"<b>{complaint.ticket_code}</b> · {number} · {category}",
                t("Status: {status}").format(status=status_label(complaint.status, t)),
                t("Deadline: {date}").format(date=deadline) + late,
                f"<i>{escape(complaint.text)}</i>",
            ]
        )
        buttons = _card_buttons(
            complaint.id, t, take_label if complaint.status is ComplaintStatus.OPEN else None
        )
        if complaint.photo_file_id:  # the household's photo, with the card
            await send_with_picture(update, complaint.photo_file_id, text, buttons, t)
        else:
            await reply(update, text, buttons)
    return END


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


def _card(complaint_id: int, action: Literal["take", "reply", "resolve"]) -> str:
    return encode(CompanionAction(complaint_id, action))
