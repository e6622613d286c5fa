"""The household answers a staff reply to its complaint ("Reply" on the reply it received): a text,
a photo (or an image sent as a file) or a voice note, for those who write with difficulty. The
answer joins the complaint's history and whoever holds the complaint is told. On a resolved
complaint the household is then asked whether the problem is solved: "not yet" reopens it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.domain.buttons import ComplaintAnswer, ComplaintSolved, decode, encode
from bot.domain.models import AttachmentKind, ComplaintStatus
from bot.services.complaint_handling import HandlingOutcome, answer_complaint, answerable
from bot.services.complaints import MAX_TEXT_LENGTH, TextProblem, text_problem
from handlers.common import END, linked_household, reply, stale_button, too_long
from handlers.flow import button, end_flow, start_flow
from handlers.menu import menu_keyboard
from handlers.steps import Step, StepResult, flow_step

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext
    from bot.texts.i18n import Translator

FLOW = "kbl"
ANSWER = "kbl_answer"


async def begin(update: Update, context: SapaContext) -> str | int:
    """ "Reply" under a staff answer: check the complaint is the household's and not closed,
    then wait for the answer."""
    query = update.callback_query
    assert query is not None
    pressed = decode(query.data)
    if not isinstance(pressed, ComplaintAnswer):
        return await stale_button(update, context)
    visitor = await linked_household(update, context)
    if visitor is None or visitor.person is None or visitor.household is None:
        await query.answer()
        return END
    t = visitor.t
    outcome, complaint = await answerable(
        context.services.store, visitor.person, visitor.household, pressed.complaint_id
    )
    if outcome is HandlingOutcome.NOT_ALLOWED or complaint is None:
        return await stale_button(update, context)  # answers the press itself
    # The press is answered once; the button stays: the household may answer again later.
    await query.answer()
    if outcome is HandlingOutcome.NOT_OPEN:
        await _closed(update, t)
        return END
    flow = start_flow(context.user_data if context.user_data is not None else {}, FLOW)
    flow.draft["complaint_id"] = complaint.id
    await reply(
        update,
        t(
            "Write your answer about complaint {ticket}. You can also send a photo, or a voice "
            "note if writing is hard for you."
        ).format(ticket=complaint.ticket_code),
        InlineKeyboardMarkup([[button(t("Cancel"), flow, "cancel")]]),
    )
    return ANSWER


@flow_step(FLOW, takes=())
async def answer_given(update: Update, context: SapaContext, step: Step) -> StepResult:
    flow, visitor = step.flow, step.visitor
    assert visitor.person is not None and visitor.household is not None
    t = visitor.t
    message = update.effective_message
    assert message is not None
    attachment: tuple[AttachmentKind, str] | None = None
    if message.voice is not None:
        attachment = (AttachmentKind.VOICE, message.voice.file_id)
    elif message.photo:
        attachment = (AttachmentKind.PHOTO, message.photo[-1].file_id)
    elif message.document is not None:  # an image sent "as a file"
        attachment = (AttachmentKind.DOCUMENT, message.document.file_id)
    text = (message.text or message.caption or "").strip()
    problem = text_problem(text)
    if attachment is None and problem is TextProblem.NO_WORDS:
        await reply(
            update, t("Please write a few words, or send a photo or a voice note, or /batal.")
        )
        return ANSWER
    if problem is TextProblem.TOO_LONG:
        await too_long(update, t, MAX_TEXT_LENGTH)
        return ANSWER
    if problem is TextProblem.NO_WORDS:
        text = ""  # a photo or voice note with an empty (or emoji-only) caption
    outcome, complaint = await answer_complaint(
        context.services.store,
        visitor.person,
        visitor.household,
        int(flow.draft["complaint_id"]),
        text,
        attachment,
        now=context.services.clock(),
    )
    end_flow(context.user_data or {})
    if outcome is HandlingOutcome.NOT_ALLOWED or complaint is None:
        return await stale_button(update, context)
    if outcome is HandlingOutcome.NOT_OPEN:
        await _closed(update, t)
        return END
    if complaint.status is ComplaintStatus.RESOLVED:
        yes, no = ComplaintSolved(complaint.id, "yes"), ComplaintSolved(complaint.id, "no")
        ask = [
            [InlineKeyboardButton(t("Yes, it is solved"), callback_data=encode(yes))],
            [InlineKeyboardButton(t("No, not yet"), callback_data=encode(no))],
        ]
        await reply(
            update,
            t(
                "Thank you, your answer was added to complaint {ticket} and passed on. This "
                "complaint was marked resolved: is the problem solved?"
            ).format(ticket=complaint.ticket_code),
            InlineKeyboardMarkup(ask),
        )
        return END
    await reply(
        update,
        t(
            "Thank you, your answer was added to complaint {ticket} and passed on to the staff "
            "handling it."
        ).format(ticket=complaint.ticket_code),
        menu_keyboard(t),
    )
    return END


async def _closed(update: Update, t: Translator) -> None:
    await reply(
        update,
        t(
            "This complaint is closed. If the problem has come back, please send a new "
            "complaint with “Complaint”."
        ),
        menu_keyboard(t),
    )
