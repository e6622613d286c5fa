"""Answers to "Did you go to the posyandu yesterday?": report the visit, or say why not."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from telegram import InlineKeyboardMarkup, Update

from bot.domain.buttons import MissedSession, decode
from bot.domain.models import AbsenceReason
from bot.services.attendance import REPORT_WINDOW_DAYS, record_absence
from bot.texts.labels import ABSENCE_LABELS
from handlers import attendance
from handlers.common import (
    END,
    linked_household,
    reply,
    stale_button,
    take_button,
    wrong_button,
)
from handlers.flow import button, end_flow, start_flow
from handlers.menu import menu_keyboard
from handlers.steps import Step, StepResult, flow_step

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext

FLOW = "abs"
REASON = "abs_reason"


async def answered(update: Update, context: SapaContext) -> str | int:
    """A button of the missed-session question (the outbox sent it; its data is re-checked)."""
    assert update.callback_query is not None
    pressed = decode(update.callback_query.data)
    if not isinstance(pressed, MissedSession):  # forged: not ours, or a day that does not exist
        return await stale_button(update, context)
    visitor = await linked_household(update, context)
    if visitor is None or visitor.household is None:
        return END
    posyandu_id, day, action = pressed.posyandu_id, pressed.day, pressed.answer
    services = context.services
    today = services.clock().astimezone(services.settings.zone).date()
    async with services.store.read() as repo:
        posyandu = await repo.geography.posyandu_by_id(posyandu_id)
    if (
        posyandu is None
        or posyandu.kecamatan_id != visitor.household.kecamatan_id
        or not today - timedelta(days=REPORT_WINDOW_DAYS) <= day < today
    ):
        return await stale_button(update, context)
    await take_button(update)
    if action == "report":
        return await attendance.begin(update, context, session=(posyandu_id, day))
    t = visitor.t
    flow = start_flow(context.user_data if context.user_data is not None else {}, FLOW)
    flow.draft.update({"posyandu_id": posyandu_id, "date": day.isoformat()})
    rows = [
        [button(t(label), flow, "reason", reason.value)] for reason, label in ABSENCE_LABELS.items()
    ]
    await reply(
        update,
        t("What kept you from going? (This helps the programme.)"),
        InlineKeyboardMarkup([*rows, [button(t("Cancel"), flow, "cancel")]]),
    )
    return REASON


@flow_step(FLOW, takes={"reason"})
async def reason_chosen(update: Update, context: SapaContext, step: Step) -> StepResult:
    flow, visitor, pressed = step.flow, step.visitor, step.pressed
    assert visitor.person is not None and visitor.household is not None and pressed is not None
    reasons = {reason.value: reason for reason in AbsenceReason}
    if pressed.argument not in reasons:
        await wrong_button(update, context)
        return None
    services = context.services
    await record_absence(
        services.store,
        visitor.person,
        visitor.household,
        int(flow.draft["posyandu_id"]),
        date.fromisoformat(flow.draft["date"]),
        reasons[pressed.argument],
        now=services.clock(),
    )
    end_flow(context.user_data or {})
    t = visitor.t
    await reply(
        update,
        t(
            "Thank you for telling us. Your companion will see it. The next posyandu day is in "
            "“My schedule”."
        ),
        menu_keyboard(t),
    )
    return END
