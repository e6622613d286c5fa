"""Complaints: category, description (typed, or a voice note), optional photo, confirm, ticket
code; and their status, with the messages exchanged about each."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update

from bot.domain.models import ComplaintCategory, ComplaintEvent, EscalationLevel
from bot.services.assisted import complaint_for_household
from bot.services.complaint_handling import MESSAGES
from bot.services.complaints import (
    MAX_TEXT_LENGTH,
    VOICE_NOTE_TEXT,
    ComplaintPolicy,
    TextProblem,
    file_complaint,
    text_problem,
)
from bot.texts.i18n import Translator
from bot.texts.labels import CATEGORY_LABELS, attachment_label, category_label, status_label
from handlers.common import (
    END,
    Visitor,
    for_household_line,
    linked_household,
    picture_of,
    refuse_household,
    reply,
    too_long,
    wrong_button,
)
from handlers.flow import FOR_HOUSEHOLD, button, end_flow, start_flow
from handlers.menu import menu_keyboard
from handlers.steps import Step, StepResult, flow_step

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext

FLOW = "klh"
CATEGORY, TEXT, PHOTO, CONFIRM = "klh_category", "klh_text", "klh_photo", "klh_confirm"
SHOWN_MESSAGES = 3  # the latest messages about each complaint in /status


async def begin(
    update: Update, context: SapaContext, *, acting: Visitor | None = None
) -> str | int:
    """Start a complaint; `acting`: staff filing it for the household she carries."""
    visitor = acting or await linked_household(update, context)
    if visitor is None or visitor.household is None:
        return END
    t = visitor.t
    flow = start_flow(context.user_data if context.user_data is not None else {}, FLOW)
    if acting is not None:
        flow.draft[FOR_HOUSEHOLD] = visitor.household.id
    rows = [
        [button(t(label), flow, "category", category.value)]
        for category, label in CATEGORY_LABELS.items()
    ]
    await reply(
        update,
        t("What is your complaint about?"),
        InlineKeyboardMarkup([*rows, [button(t("Cancel"), flow, "cancel")]]),
    )
    return CATEGORY


@flow_step(FLOW, takes={"category"})
async def category_chosen(update: Update, context: SapaContext, step: Step) -> StepResult:
    flow, visitor, pressed = step.flow, step.visitor, step.pressed
    assert pressed is not None
    t = visitor.t
    categories = {c.value: c for c in ComplaintCategory}
    if pressed.argument not in categories:
        await wrong_button(update, context)
        return None
    category = categories[pressed.argument]
    flow.draft["category"] = category.value
    lines = [
        t(
            "Please describe the problem in your own words: what happened, when and where "
            "(up to {limit} characters)."
        ).format(limit=f"{MAX_TEXT_LENGTH:,}".replace(",", ".")),
        t("If writing is hard for you, you can send a voice note instead."),
    ]
    if category is ComplaintCategory.COMPANION:
        lines.append(
            t(
                "A complaint about your companion goes to the kecamatan coordinator, not to the "
                "companion."
            )
        )
    await reply(update, "\n\n".join(lines))
    return TEXT


@flow_step(FLOW)
async def text_given(update: Update, context: SapaContext, step: Step) -> StepResult:
    flow, visitor = step.flow, step.visitor
    t = visitor.t
    message = update.effective_message
    assert message is not None
    if message.voice is not None:  # the complaint told in a voice note (its caption, if words)
        caption = (message.caption or "").strip()
        flow.draft["voice_file_id"] = message.voice.file_id
        flow.draft["text"] = caption if text_problem(caption) is None else VOICE_NOTE_TEXT
    else:
        text = (message.text or "").strip()
        problem = text_problem(text)
        if problem is TextProblem.NO_WORDS:
            await reply(update, t("Please describe the problem in words, so that we can help."))
            return TEXT
        if problem is TextProblem.TOO_LONG:
            await too_long(update, t, MAX_TEXT_LENGTH)
            return TEXT
        flow.draft["text"] = text
        flow.draft["voice_file_id"] = None
    await reply(
        update,
        t("If a photo helps to explain, send it now. Otherwise press Skip."),
        InlineKeyboardMarkup(
            [[button(t("Skip"), flow, "skip")], [button(t("Cancel"), flow, "cancel")]]
        ),
    )
    return PHOTO


@flow_step(FLOW, takes={"skip"})
async def photo_given(update: Update, context: SapaContext, step: Step) -> StepResult:
    flow, visitor = step.flow, step.visitor
    t = visitor.t
    if step.pressed is not None:
        flow.draft["photo_file_id"] = None
    else:
        flow.draft["photo_file_id"] = picture_of(update)  # a photo, or an image sent as a file
    category = ComplaintCategory(flow.draft["category"])
    photo = t("yes") if flow.draft.get("photo_file_id") else t("no")
    lines = [
        t("Please check your complaint:"),
        *for_household_line(visitor, flow),
        t("Category: {category}").format(category=category_label(category, t)),
        t("Photo: {answer}").format(answer=photo),
    ]
    if flow.draft.get("voice_file_id"):
        lines.append(t("Voice note: {answer}").format(answer=t("yes")))
    summary = "\n".join([*lines, "", f"<i>{escape(told_text(flow.draft['text'], t))}</i>"])
    await reply(
        update,
        summary,
        InlineKeyboardMarkup(
            [[button(t("📨 Send"), flow, "send")], [button(t("Cancel"), flow, "cancel")]]
        ),
    )
    return CONFIRM


@flow_step(FLOW, takes={"send"})
async def confirm_pressed(update: Update, context: SapaContext, step: Step) -> StepResult:
    flow, visitor = step.flow, step.visitor
    assert visitor.person is not None and visitor.household is not None
    t = visitor.t
    services = context.services
    settings = services.settings
    policy = ComplaintPolicy.from_settings(settings)
    if FOR_HOUSEHOLD in flow.draft:
        return await _file_for_household(update, context, step, policy)
    complaint = await file_complaint(
        services.store,
        visitor.person,
        visitor.household,
        ComplaintCategory(flow.draft["category"]),
        flow.draft["text"],
        flow.draft.get("photo_file_id"),
        now=services.clock(),
        policy=policy,
        voice_file_id=flow.draft.get("voice_file_id"),
    )
    end_flow(context.user_data or {})
    owner = (
        t("Your companion")
        if complaint.level is EscalationLevel.COMPANION
        else t("The kecamatan coordinator")
    )
    deadline = t.long_date(complaint.deadline_at.astimezone(settings.zone).date())
    await reply(
        update,
        t(
            "Your complaint is recorded with ticket code <b>{ticket}</b>. {owner} will handle it "
            "by {deadline}. You can follow it with “Complaint status”."
        ).format(ticket=complaint.ticket_code, owner=owner, deadline=deadline),
        menu_keyboard(t),
    )
    return END


async def _file_for_household(
    update: Update, context: SapaContext, step: Step, policy: ComplaintPolicy
) -> int:
    """Staff filing the complaint for a household (/keluhanuntuk): the same complaint, owner
    and deadline as the household's own, with her as who filed it."""
    flow, visitor = step.flow, step.visitor
    assert visitor.person is not None and visitor.household is not None
    t, services = visitor.t, context.services
    number = escape(visitor.household.program_number)
    complaint = await complaint_for_household(
        services.store,
        visitor.person,
        visitor.household.id,
        ComplaintCategory(flow.draft["category"]),
        flow.draft["text"],
        flow.draft.get("photo_file_id"),
        now=services.clock(),
        policy=policy,
        voice_file_id=flow.draft.get("voice_file_id"),
    )
    end_flow(context.user_data or {})
    if complaint is None:
        await refuse_household(update, visitor, visitor.household.id)
        return END
    owner = (
        t("The household's companion")
        if complaint.level is EscalationLevel.COMPANION
        else t("The kecamatan coordinator")
    )
    deadline = t.long_date(complaint.deadline_at.astimezone(services.settings.zone).date())
    await reply(
        update,
        t(
            "The complaint of household {number} is recorded with ticket code <b>{ticket}</b>. "
            "{owner} will handle it by {deadline}. The household is told if it uses Telegram."
        ).format(number=number, ticket=complaint.ticket_code, owner=owner, deadline=deadline),
    )
    return END


async def status_command(update: Update, context: SapaContext) -> int:
    end_flow(context.user_data or {})
    visitor = await linked_household(update, context)
    if visitor is None or visitor.household is None:
        return END
    t = visitor.t
    zone = context.services.settings.zone
    async with context.services.store.read() as repo:
        complaints = await repo.complaints.for_household(visitor.household.id)
        messages = await repo.complaints.timeline([c.id for c in complaints], MESSAGES)
    if not complaints:
        await reply(
            update,
            t("Your household has no complaints. To send one, choose “Complaint” in the menu."),
            menu_keyboard(t),
        )
        return END
    blocks = [t("Your household's complaints, latest first:")]
    for complaint in complaints:
        changed = complaint.updated_at.astimezone(zone)
        blocks.append(
            "\n".join(
                [
                    f"<b>{complaint.ticket_code}</b> · {category_label(complaint.category, t)}",
                    t("Status: {status}").format(status=status_label(complaint.status, t)),
                    t("Last change: {date}, {time} WIB").format(
                        date=t.long_date(changed.date()), time=f"{changed:%H.%M}"
                    ),
                    *(
                        message_line(event, t, zone, t("You"))
                        for event in messages.get(complaint.id, [])[-SHOWN_MESSAGES:]
                    ),
                ]
            )
        )
    await reply(update, "\n\n".join(blocks), menu_keyboard(t))
    return END


def told_text(text: str, t: Translator) -> str:
    """A complaint's text as its reader sees it: a complaint told in a voice note only says so in
    the reader's language."""
    return t("(voice message)") if text == VOICE_NOTE_TEXT else text


def message_line(event: ComplaintEvent, t: Translator, zone: ZoneInfo, household: str) -> str:
    """`↪ Sel 1 Des 10.00 · Petugas: <i>…</i> [foto]`: a staff reply, or the household's answer
    (signed `household`: "You" for the household itself)."""
    who = household if event.kind == "answer" else t("Staff")
    parts = [f"<i>{escape(event.note)}</i>"] if event.note else []
    if event.file_kind is not None:
        parts.append(f"[{attachment_label(event.file_kind, t)}]")
    return f"↪ {when(event.at, t, zone)} · {who}: {' '.join(parts)}"


def when(at: datetime, t: Translator, zone: ZoneInfo) -> str:
    """`Sel 1 Des 10.00`: a moment in a list, in local time."""
    local = at.astimezone(zone)
    return f"{t.short_date(local.date())} {local:%H.%M}"
