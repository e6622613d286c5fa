"""/tindaklanjut: the companion's follow-ups (households that missed their posyandu or cannot be
reached), each closed with what she did; "other" asks for a short note."""

from __future__ import annotations

from datetime import date
from html import escape
from typing import TYPE_CHECKING

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.domain.buttons import FollowUpAction, decode, encode
from bot.domain.follow_ups import FollowUpKind, FollowUpLine, FollowUpOutcome
from bot.domain.models import Role
from bot.services.follow_ups import (
    MAX_NOTE,
    CloseResult,
    close_follow_up,
    follow_up_in_scope,
    open_follow_ups,
)
from bot.texts.i18n import N_, Translator
from bot.texts.labels import absence_label
from handlers.common import END, refuse, reply, stale_button, take_button, too_long, visit
from handlers.flow import end_flow, start_flow
from handlers.steps import Step, StepResult, flow_step

if TYPE_CHECKING:
    from bot.runtime.app import SapaContext

FLOW = "tln"
NOTE = "tln_note"
HOLDERS = (Role.COMPANION, Role.COORDINATOR)

OUTCOME_LABELS = {
    FollowUpOutcome.HOME_VISIT: N_("🏠 Visited at home"),
    FollowUpOutcome.PHONED: N_("📞 Phoned"),
    FollowUpOutcome.REFERRED: N_("🏥 Referred to the bidan or puskesmas"),
    FollowUpOutcome.MOVED_AWAY: N_("🚚 Moved away"),
    FollowUpOutcome.EXCUSED: N_("✅ Reason accepted (excused)"),
    FollowUpOutcome.OTHER: N_("✏️ Other (write a note)"),
}


def _about(line: FollowUpLine, t: Translator) -> str:
    """ "RTS-2026-0003 Encep M. · 30/11: tidak datang (Terlalu jauh)"."""
    who = f"{line.program_number} {line.head_name}"
    if line.kind is FollowUpKind.UNREACHABLE:
        what = t("cannot be reached by the bot since {date}").format(
            date=t.short_date(line.about_date)
        )
    elif line.reason is not None:
        what = t("missed the posyandu on {date}: {reason}").format(
            date=t.short_date(line.about_date), reason=absence_label(line.reason, t)
        )
    else:
        what = t("missed the posyandu on {date}, no answer").format(
            date=t.short_date(line.about_date)
        )
    return f"{who} · {what}"


def _button_label(line: FollowUpLine, t: Translator, today: date) -> str:
    """ "⚠️ RTS-2026-0003 · Sen 30 Nov · Terlalu jauh": short enough for a phone's button."""
    if line.kind is FollowUpKind.UNREACHABLE:
        what = t("cannot be reached")
    elif line.reason is not None:
        what = absence_label(line.reason, t)
    else:
        what = t("no answer")
    mark = "⚠️ " if line.overdue(today) else ""
    return f"{mark}{line.program_number} · {t.short_date(line.about_date)} · {what}"


async def list_command(update: Update, context: SapaContext) -> int:
    """/tindaklanjut: the open follow-ups, earliest due first, one button each."""
    end_flow(context.user_data or {})
    visitor = await visit(update, context)
    t, person = visitor.t, visitor.person
    if person is None or person.role not in HOLDERS:
        await refuse(update, t, "follow_ups", person)
        return END
    services = context.services
    lines = await open_follow_ups(services.store, person) or []
    if not lines:
        await reply(update, t("No follow-ups are open. Thank you!"))
        return END
    today = services.clock().astimezone(services.settings.zone).date()
    overdue = sum(1 for line in lines if line.overdue(today))
    rows = [
        [
            InlineKeyboardButton(
                _button_label(line, t, today), callback_data=encode(FollowUpAction(line.id, "open"))
            )
        ]
        for line in lines
    ]
    await reply(
        update,
        t(
            "Follow-ups open: {count} ({overdue} overdue). Choose one to record what you did."
        ).format(count=len(lines), overdue=overdue),
        InlineKeyboardMarkup(rows),
    )
    return END


async def action_pressed(update: Update, context: SapaContext) -> str | int:
    assert update.callback_query is not None
    pressed = decode(update.callback_query.data)
    if not isinstance(pressed, FollowUpAction):
        return await stale_button(update, context)
    await take_button(update)
    visitor = await visit(update, context)
    t, person = visitor.t, visitor.person
    if person is None or person.role not in HOLDERS:
        await refuse(update, t, "follow_ups", person)
        return END
    services = context.services
    line = await follow_up_in_scope(services.store, person, pressed.follow_up_id)
    if line is None:
        await refuse(update, t, "follow_ups", person, follow_up=pressed.follow_up_id)
        return END
    if line.outcome is not None:  # a button of an older list: closed since (by her or another)
        await reply(update, t("This follow-up was already closed."))
        return END
    if pressed.action == "open":
        rows = [
            [
                InlineKeyboardButton(
                    t(label), callback_data=encode(FollowUpAction(line.id, outcome.value))
                )
            ]
            for outcome, label in OUTCOME_LABELS.items()
        ]
        due = t("to do by {date}").format(date=t.short_date(line.due_on))
        await reply(
            update,
            f"{escape(_about(line, t))}\n{due}\n" + t("What did you do?"),
            InlineKeyboardMarkup(rows),
        )
        return END
    outcome = FollowUpOutcome(pressed.action)
    if outcome is FollowUpOutcome.OTHER:
        flow = start_flow(context.user_data if context.user_data is not None else {}, FLOW)
        flow.draft["follow_up_id"] = line.id
        await reply(update, t("Please write a short note on what you did (one message)."))
        return NOTE
    return await _close(update, context, line, outcome, None)


@flow_step(FLOW, staff=True)
async def note_given(update: Update, context: SapaContext, step: Step) -> StepResult:
    visitor, flow = step.visitor, step.flow
    assert update.effective_message is not None
    text = update.effective_message.text or ""
    if len(text) > MAX_NOTE:
        await too_long(update, visitor.t, MAX_NOTE)
        return NOTE
    person = visitor.person
    assert person is not None
    line = await follow_up_in_scope(context.services.store, person, int(flow.draft["follow_up_id"]))
    end_flow(context.user_data or {})
    if line is None:
        await refuse(update, visitor.t, "follow_ups", person)
        return END
    return await _close(update, context, line, FollowUpOutcome.OTHER, text)


async def _close(
    update: Update,
    context: SapaContext,
    line: FollowUpLine,
    outcome: FollowUpOutcome,
    note: str | None,
) -> int:
    visitor = await visit(update, context)
    t, person = visitor.t, visitor.person
    assert person is not None
    services = context.services
    result = await close_follow_up(
        services.store, person, line.id, outcome, note, now=services.clock()
    )
    if result is CloseResult.NOT_ALLOWED:
        await refuse(update, t, "follow_ups", person, follow_up=line.id)
    elif result is CloseResult.ALREADY_CLOSED:
        await reply(update, t("This follow-up was already closed."))
    elif result is CloseResult.NOTE_NEEDED:
        await reply(update, t("Please write a short note on what you did (one message)."))
    else:
        await reply(
            update,
            t("Recorded for {number}: {outcome}. Send /tindaklanjut for the rest.").format(
                number=escape(line.program_number), outcome=t(OUTCOME_LABELS[outcome])
            ),
        )
    return END
