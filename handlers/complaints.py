"""Complaints: category, description, optional photo, confirm, ticket code; and their status."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from telegram import InlineKeyboardMarkup, Update

from bot.domain.models import ComplaintCategory, EscalationLevel
from bot.services.complaints import (
    MAX_TEXT_LENGTH,
    ComplaintPolicy,
    TextProblem,
    file_complaint,
    text_problem,
)
from bot.texts.labels import CATEGORY_LABELS, category_label, status_label
from handlers.common import (
    END,
    linked_household,
    picture_of,
    reply,
    too_long,
    wrong_button,
)
from handlers.flow import button, end_flow, start_flow
from handlers.menu import menu_keyboard
from handlers.steps import Step, StepResult, flow_step

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext

FLOW = "klh"
CATEGORY, TEXT, PHOTO, CONFIRM = "klh_category", "klh_text", "klh_photo", "klh_confirm"


async def begin(update: Update, context: SapaContext) -> str | int:
    visitor = await linked_household(update, context)
    if visitor is None:
        return END
    t = visitor.t
    flow = start_flow(context.user_data if context.user_data is not None else {}, FLOW)
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
    assert update.effective_message is not None
    text = (update.effective_message.text or "").strip()
    problem = text_problem(text)
    if problem is TextProblem.NO_WORDS:
        await reply(update, t("Please describe the problem in words, so that we can help."))
        return TEXT
    if problem is TextProblem.TOO_LONG:
        await too_long(update, t, MAX_TEXT_LENGTH)
        return TEXT
    flow.draft["text"] = text
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
    summary = "\n".join(
        [
            t("Please check your complaint:"),
            t("Category: {category}").format(category=category_label(category, t)),
            t("Photo: {answer}").format(answer=photo),
            "",
            f"<i>{escape(flow.draft['text'])}</i>",
        ]
    )
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
    complaint = await file_complaint(
        services.store,
        visitor.person,
        visitor.household,
        ComplaintCategory(flow.draft["category"]),
        flow.draft["text"],
        flow.draft.get("photo_file_id"),
        now=services.clock(),
        policy=policy,
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


async def status_command(update: Update, context: SapaContext) -> int:
    end_flow(context.user_data or {})
    visitor = await linked_household(update, context)
    if visitor is None or visitor.household is None:
        return END
    t = visitor.t
    zone = context.services.settings.zone
    async with context.services.store.read() as repo:
        complaints = await repo.complaints.for_household(visitor.household.id)
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
                ]
            )
        )
    await reply(update, "\n\n".join(blocks), menu_keyboard(t))
    return END
